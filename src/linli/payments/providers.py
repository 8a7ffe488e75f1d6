"""The payment provider interface, the verified notification it yields, and the providers built from settings.

A provider turns a pending payment into what the client needs to pay (`prepay`), verifies and
decodes the provider's signed notifications (`parse_notification`: a forgery raises
`CallbackSignatureInvalid` and nothing is written) and asks for money back (`refund`). The domain
rules live in `linli.payments.service`; providers only speak their provider's protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from linli import callbacks
from linli.errors import InvalidInput

if TYPE_CHECKING:
    from linli.config import Settings
    from linli.payments.models import Payment, Refund

PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
REFUND_SUCCEEDED = "refund.succeeded"
REFUND_FAILED = "refund.failed"
UNSUPPORTED = "unsupported"  # a genuine notification of a kind linli does not act on
EVENT_TYPES = (PAYMENT_SUCCEEDED, PAYMENT_FAILED, REFUND_SUCCEEDED, REFUND_FAILED, UNSUPPORTED)

# What `refund()` reports: done, accepted but finished later by a notification, or refused for good.
REFUND_SUCCEEDED_STATUS = "succeeded"
REFUND_PENDING_STATUS = "pending"
REFUND_FAILED_STATUS = "failed"


class CallbackSignatureInvalid(callbacks.CallbackSignatureInvalid):
    default_message = "支付通知签名无效"
    stale_message = "支付通知已过期"


class PaymentProviderUnavailable(callbacks.ProviderUnavailable):
    default_code = "payment_provider_unavailable"
    default_message = "支付服务暂时不可用，请稍后再试"


class PaymentProviderUnknown(InvalidInput):
    default_code = "payment_provider_unknown"
    default_message = "不支持的支付方式"


@dataclass(frozen=True)
class Notification:
    """A verified (and, for WeChat Pay, decrypted) provider notification."""

    notification_id: str
    event_type: str  # one of EVENT_TYPES
    out_trade_no: str
    out_refund_no: str | None = None
    transaction_id: str | None = None
    amount_fen: int | None = None  # paid (payment events) or refunded (refund events)
    payload: dict[str, Any] = field(default_factory=dict)  # what is recorded with the callback


class PaymentProvider(Protocol):
    name: str

    async def prepay(
        self, *, payment: Payment, description: str, payer_openid: str | None, expires_at: datetime | None = None
    ) -> dict[str, Any]:
        """What the client needs to pay this payment (a pay page link, or wx.requestPayment parameters)."""
        ...

    def parse_notification(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        """Verifies the signature (and freshness) of one notification; raises CallbackSignatureInvalid."""
        ...

    async def refund(self, *, refund: Refund, payment: Payment) -> str:
        """Asks for the money back; "succeeded", "pending" (a notification finishes it) or "failed".

        Raises on a transient failure so that the caller retries with the same out_refund_no.
        """
        ...


def build_providers(settings: Settings) -> dict[str, PaymentProvider]:
    """The providers this deployment offers: the simulator unless disabled, WeChat Pay when configured."""
    providers: dict[str, PaymentProvider] = {}
    if settings.payment_simulator_enabled:
        from linli.payments.simulator import SimulatorProvider

        providers["simulator"] = SimulatorProvider.from_settings(settings)
    if settings.wechatpay_mchid:
        from linli.payments.wechatpay import WeChatPayProvider

        providers["wechatpay"] = WeChatPayProvider.from_settings(settings)
    if settings.payment_default_provider not in providers:
        raise ValueError(
            f"LINLI_PAYMENT_DEFAULT_PROVIDER={settings.payment_default_provider!r} is not configured "
            f"(available: {', '.join(providers) or 'none'})"
        )
    return providers
