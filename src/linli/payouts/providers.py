"""The payout provider interface, its answers and notifications, and the providers built from settings.

A provider transfers a withdrawal's net amount to the leader (`transfer`), says where a transfer stands
(`query`) and verifies its own signed notifications (`parse_notification`; a forgery raises
`CallbackSignatureInvalid` and nothing is written). Every call names the transfer by the withdrawal's
stable out_batch_no / out_detail_no, so asking again (a retry, a second worker) never pays twice: the
provider answers with the transfer it already has. The domain rules live in `linli.payouts.service`.
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

# What a provider reports about one transfer.
PAID = "paid"
FAILED = "failed"
PENDING = "pending"  # accepted, still transferring: a notification or a later query settles it
RETURNED = "returned"  # paid, then the money came back (only in notifications / queries)
NOT_FOUND = "not_found"  # the provider never received it (a query only): submitting again is safe
RESULTS = (PAID, FAILED, PENDING, RETURNED, NOT_FOUND)


class CallbackSignatureInvalid(callbacks.CallbackSignatureInvalid):
    default_message = "打款通知签名无效"
    stale_message = "打款通知已过期"


class PayoutProviderUnavailable(callbacks.ProviderUnavailable):
    default_code = "payout_provider_unavailable"
    default_message = "打款服务暂时不可用，请稍后再试"


class PayoutProviderUnknown(InvalidInput):
    default_code = "payout_provider_unknown"
    default_message = "不支持的打款方式"


@dataclass(frozen=True)
class Payee:
    """Who receives the money: WeChat needs the leader's openid (and the real name from 2,000 元 up)."""

    leader_id: int
    real_name: str
    openid: str | None


@dataclass(frozen=True)
class TransferRequest:
    out_batch_no: str
    out_detail_no: str
    amount_fen: int  # the net amount
    remark: str
    payee: Payee


@dataclass(frozen=True)
class TransferResult:
    status: str  # one of RESULTS
    reference: str | None = None  # the provider's id of the transfer
    provider_state: str | None = None  # the provider's own word (PROCESSING, FAIL, …), kept for staff
    reason: str | None = None  # why it failed, in Chinese where the provider gives one


@dataclass(frozen=True)
class PayoutNotification:
    notification_id: str
    out_batch_no: str
    result: TransferResult
    payload: dict[str, Any] = field(default_factory=dict)


class PayoutProvider(Protocol):
    name: str

    async def transfer(self, request: TransferRequest) -> TransferResult:
        """Asks for the transfer (the same numbers again return the same transfer); raises on a transient failure."""
        ...

    async def query(self, *, out_batch_no: str, out_detail_no: str) -> TransferResult:
        """Where the transfer stands; NOT_FOUND if the provider never received it."""
        ...

    def parse_notification(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> PayoutNotification:
        """Verifies one notification (signature and freshness); raises CallbackSignatureInvalid."""
        ...


def build_payout_providers(settings: Settings) -> dict[str, PayoutProvider]:
    """The payout providers of this deployment: the simulator unless disabled, WeChat Pay when configured."""
    providers: dict[str, PayoutProvider] = {}
    if settings.payment_simulator_enabled:
        from linli.payouts.simulator import SimulatorPayoutProvider

        providers["simulator"] = SimulatorPayoutProvider.from_settings(settings)
    if settings.wechatpay_mchid:
        from linli.payouts.wechat import WeChatTransferProvider

        providers["wechatpay"] = WeChatTransferProvider.from_settings(settings)
    if settings.payout_default_provider not in providers:
        raise ValueError(
            f"LINLI_PAYOUT_DEFAULT_PROVIDER={settings.payout_default_provider!r} is not configured "
            f"(available: {', '.join(providers) or 'none'})"
        )
    return providers


def provider_for(providers: Mapping[str, PayoutProvider], name: str) -> PayoutProvider:
    provider = providers.get(name)
    if provider is None:
        raise PayoutProviderUnknown(details={"provider": name, "available": sorted(providers)})
    return provider
