"""WeChat Pay API v3 through the `wechatpayv3` SDK: JSAPI prepay, notification verification and decryption, refunds.

Construction makes no network call: use the platform public key mode (`LINLI_WECHATPAY_PUBLIC_KEY_PATH`
and `LINLI_WECHATPAY_PUBLIC_KEY_ID`, WeChat's recommendation for new merchants) or a certificate folder
that already holds the platform certificates (`LINLI_WECHATPAY_CERT_DIR`).

Notifications are refused unless they are signed by the configured platform key or a loaded platform
certificate (an unknown serial is refused before the SDK would go and download certificates), were
signed within the last 5 minutes, and decrypt (AEAD_AES_256_GCM with the APIv3 key) to a resource for
this merchant. The SDK is synchronous (requests), so its calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wechatpayv3 import WeChatPay, WeChatPayType

from linli.callbacks import (
    Fen,
    Id32,
    Id64,
    NotificationFields,
    Word,
    check_freshness,
    lower_headers,
    read_fields,
    require_storable,
)
from linli.errors import Conflict
from linli.payments.providers import (
    PAYMENT_SUCCEEDED,
    REFUND_FAILED,
    REFUND_FAILED_STATUS,
    REFUND_PENDING_STATUS,
    REFUND_SUCCEEDED,
    REFUND_SUCCEEDED_STATUS,
    UNSUPPORTED,
    CallbackSignatureInvalid,
    Notification,
    PaymentProviderUnavailable,
)

if TYPE_CHECKING:
    from linli.config import Settings
    from linli.payments.models import Payment, Refund

log = logging.getLogger("linli.payments.wechatpay")

CHINA = timezone(timedelta(hours=8))
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
NOTIFY_PATH = "/api/v1/payments/wechatpay/notify"
# Refund answers after which asking again later (same out_refund_no) can succeed.
RETRYABLE_REFUND_CODES = {"SYSTEM_ERROR", "FREQUENCY_LIMITED", "NOT_ENOUGH"}
REFUND_STATUS = {
    "SUCCESS": REFUND_SUCCEEDED_STATUS,
    "PROCESSING": REFUND_PENDING_STATUS,
    "CLOSED": REFUND_FAILED_STATUS,
    "ABNORMAL": REFUND_FAILED_STATUS,
}


MALFORMED = "支付通知内容不完整"
REFUND_EVENTS = ("REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED")


class Envelope(NotificationFields):
    id: Id64
    event_type: Word
    resource: dict[str, Any]  # decrypted


class MerchantFields(NotificationFields):
    """Whose notification it is (checked on every event, acted on or not)."""

    mchid: Id32 | None = None
    appid: Id32 | None = None


class TransactionAmount(NotificationFields):
    total: Fen


class TransactionFields(NotificationFields):
    """TRANSACTION.SUCCESS (a payment result)."""

    out_trade_no: Id32
    trade_state: Word
    transaction_id: Id64 | None = None
    amount: TransactionAmount


class RefundAmount(NotificationFields):
    refund: Fen
    total: Fen | None = None


class RefundFields(NotificationFields):
    """REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED (a refund result)."""

    out_trade_no: Id32
    out_refund_no: Id64
    refund_status: Word | None = None
    amount: RefundAmount


@dataclass(frozen=True)
class WeChatPayConfig:
    mchid: str
    appid: str
    cert_serial_no: str  # the merchant API certificate's serial number
    private_key: str = ""  # the merchant API private key (PEM)
    apiv3_key: str = ""
    notify_url: str = ""
    public_key: str | None = None  # platform public key (PEM) ...
    public_key_id: str | None = None  # ... and its id, "PUB_KEY_ID_…"
    cert_dir: str | None = None  # or a folder of platform certificates
    timeout_seconds: float = 10.0

    def __repr__(self) -> str:  # never print keys
        return f"WeChatPayConfig(mchid={self.mchid!r}, appid={self.appid!r}, notify_url={self.notify_url!r})"


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise ValueError(f"cannot read the WeChat Pay {what} at {path}: {exc}") from exc


class WeChatPayProvider:
    name = "wechatpay"

    def __init__(self, config: WeChatPayConfig) -> None:
        required = ("mchid", "appid", "cert_serial_no", "private_key", "apiv3_key")
        missing = [n for n in required if not getattr(config, n)]
        if missing:
            raise ValueError(f"WeChat Pay is missing: {', '.join(missing)}")
        if len(config.apiv3_key.encode()) != 32:
            raise ValueError("the WeChat Pay APIv3 key must be 32 bytes")
        if not config.notify_url.startswith("https://"):
            log.warning("WeChat Pay notify URL %s is not https; WeChat only notifies https URLs", config.notify_url)
        if not (config.public_key and config.public_key_id) and not config.cert_dir:
            raise ValueError(
                "WeChat Pay needs the platform public key and its id, or a folder of platform certificates"
            )
        if config.cert_dir and not (config.public_key and config.public_key_id):
            folder = Path(config.cert_dir)
            if not folder.is_dir() or not any(p.suffix.lower() == ".pem" for p in folder.iterdir()):
                # The SDK would download them at construction; linli keeps start-up offline.
                raise ValueError(f"no platform certificates (*.pem) in {config.cert_dir}")
        self.config = config
        timeout = config.timeout_seconds
        self._sdk = WeChatPay(
            wechatpay_type=WeChatPayType.JSAPI,
            mchid=config.mchid,
            private_key=config.private_key,
            cert_serial_no=config.cert_serial_no,
            appid=config.appid,
            apiv3_key=config.apiv3_key,
            notify_url=config.notify_url,
            cert_dir=config.cert_dir if not config.public_key else None,
            timeout=(min(5.0, timeout), timeout),
            public_key=config.public_key or None,
            public_key_id=config.public_key_id or None,
            logger=None,  # the SDK's debug log would print request signatures and decrypted notifications
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatPayProvider:
        if not settings.wechatpay_private_key_path:
            raise ValueError("LINLI_WECHATPAY_PRIVATE_KEY_PATH is required when LINLI_WECHATPAY_MCHID is set")
        public_key = None
        if settings.wechatpay_public_key_path:
            public_key = _read(settings.wechatpay_public_key_path, "platform public key")
        return cls(
            WeChatPayConfig(
                mchid=settings.wechatpay_mchid,
                appid=settings.wechatpay_appid or settings.wechat_appid,
                cert_serial_no=settings.wechatpay_cert_serial_no,
                private_key=_read(settings.wechatpay_private_key_path, "merchant private key"),
                apiv3_key=settings.wechatpay_apiv3_key,
                notify_url=settings.wechatpay_notify_url or f"{settings.public_base_url}{NOTIFY_PATH}",
                public_key=public_key,
                public_key_id=settings.wechatpay_public_key_id or None,
                cert_dir=settings.wechatpay_cert_dir or None,
                timeout_seconds=settings.wechatpay_timeout_seconds,
            )
        )

    # --- calling WeChat ---------------------------------------------------------------------------

    async def _call(self, what: str, fn: Callable[..., tuple[int, Any]], **kwargs: Any) -> tuple[int, dict[str, Any]]:
        """One SDK call in a thread; a network error or an unverifiable answer is "unavailable"."""
        try:
            status, message = await asyncio.to_thread(fn, **kwargs)
        except Exception as exc:  # noqa: BLE001 - requests errors, "failed to verify the signature", …
            log.warning("WeChat Pay %s failed: %s", what, exc)
            raise PaymentProviderUnavailable(details={"operation": what}) from exc
        try:
            data = json.loads(message) if message else {}
        except (TypeError, ValueError):
            data = {}
        return status, data if isinstance(data, dict) else {}

    async def prepay(
        self, *, payment: Payment, description: str, payer_openid: str | None, expires_at: datetime | None = None
    ) -> dict[str, Any]:
        """JSAPI prepay; returns the parameters of wx.requestPayment (signed with the merchant key)."""
        if not payer_openid:
            raise Conflict("请先使用微信登录后再用微信支付", code="wechat_login_required")
        kwargs: dict[str, Any] = {
            "description": description,
            "out_trade_no": payment.out_trade_no,
            "amount": {"total": payment.amount_fen, "currency": "CNY"},
            "payer": {"openid": payer_openid},
            "pay_type": WeChatPayType.JSAPI,
        }
        if expires_at is not None:
            # WeChat itself refuses payment after the order's expiry: fewer late payments to refund.
            kwargs["time_expire"] = expires_at.astimezone(CHINA).isoformat(timespec="seconds")
        status, data = await self._call("prepay", self._sdk.pay, **kwargs)
        prepay_id = data.get("prepay_id")
        if status != 200 or not isinstance(prepay_id, str) or not prepay_id:
            raise PaymentProviderUnavailable(
                details={
                    "operation": "prepay", "status": status, "code": data.get("code"), "message": data.get("message"),
                }
            )
        return self.request_payment_params(prepay_id)

    def request_payment_params(self, prepay_id: str) -> dict[str, str]:
        app_id = self.config.appid
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        return {
            "appId": app_id,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": self._sdk.sign([app_id, timestamp, nonce, package]),
        }

    async def refund(self, *, refund: Refund, payment: Payment) -> str:
        status, data = await self._call(
            "refund",
            self._sdk.refund,
            out_refund_no=refund.out_refund_no,
            amount={"refund": refund.amount_fen, "total": payment.amount_fen, "currency": "CNY"},
            transaction_id=payment.provider_transaction_id,
            out_trade_no=payment.out_trade_no,
            reason=refund.reason[:80],
        )
        if 200 <= status < 300:
            answer = REFUND_STATUS.get(str(data.get("status")))
            if answer is None:
                raise PaymentProviderUnavailable(
                    details={"operation": "refund", "status": status, "answer": data.get("status")}
                )
            return answer
        code = data.get("code")
        if status >= 500 or status == 429 or code in RETRYABLE_REFUND_CODES:
            # Asked again later with the same out_refund_no: WeChat refunds at most once per number.
            raise PaymentProviderUnavailable(details={"operation": "refund", "status": status, "code": code})
        log.error("WeChat Pay refused refund %s: %s %s", refund.out_refund_no, code, data.get("message"))
        return REFUND_FAILED_STATUS

    # --- notifications ----------------------------------------------------------------------------

    def _known_serial(self, serial: str) -> bool:
        if self.config.public_key_id and serial == self.config.public_key_id:
            return True
        try:
            number = int(serial, 16)
        except ValueError:
            return False
        # The SDK keeps the loaded platform certificates here; an unknown serial would make it download.
        return any(cert.serial_number == number for cert in self._sdk._core._certificates)  # noqa: SLF001

    def parse_notification(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        h = lower_headers(headers)
        if h.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise CallbackSignatureInvalid(details={"reason": "signature_type"})
        h["wechatpay-signature-type"] = SIGNATURE_TYPE
        if not h.get("wechatpay-signature") or not h.get("wechatpay-nonce"):
            raise CallbackSignatureInvalid(details={"reason": "headers_missing"})
        if not self._known_serial(h.get("wechatpay-serial", "")):
            raise CallbackSignatureInvalid(details={"reason": "unknown_serial"})
        check_freshness(h.get("wechatpay-timestamp", ""), now, refused=CallbackSignatureInvalid)
        try:
            text = body.decode("utf-8")
            result = self._sdk.callback(h, text)
        except Exception as exc:  # noqa: BLE001 - malformed JSON, undecodable signature, bad algorithm
            log.warning("WeChat Pay notification refused: %s", exc)
            raise CallbackSignatureInvalid(details={"reason": "unverifiable"}) from exc
        if not isinstance(result, dict):
            # A bad signature, or a good one whose resource does not decrypt with our APIv3 key.
            raise CallbackSignatureInvalid(details={"reason": "signature_or_decryption"})
        return self._notification(result)

    def _notification(self, result: dict[str, Any]) -> Notification:
        """The notification's meaning; it is genuine here, so a field of the wrong shape is malformed (422)."""
        require_storable(result, message=MALFORMED)
        envelope = read_fields(Envelope, result, message=MALFORMED)
        resource = envelope.resource
        merchant = read_fields(MerchantFields, resource, message=MALFORMED)
        if (merchant.mchid or self.config.mchid) != self.config.mchid:
            raise CallbackSignatureInvalid("支付通知不属于本商户", details={"reason": "merchant_mismatch"})
        if merchant.appid is not None and merchant.appid != self.config.appid:
            raise CallbackSignatureInvalid("支付通知不属于本应用", details={"reason": "app_mismatch"})
        event = envelope.event_type
        event_type, out_trade_no, out_refund_no, transaction_id, amount_fen = UNSUPPORTED, "", None, None, None
        if event == "TRANSACTION.SUCCESS":
            transaction = read_fields(TransactionFields, resource, message=MALFORMED)
            if transaction.trade_state == "SUCCESS":
                event_type, out_trade_no = PAYMENT_SUCCEEDED, transaction.out_trade_no
                transaction_id, amount_fen = transaction.transaction_id, transaction.amount.total
        elif event in REFUND_EVENTS:
            refund = read_fields(RefundFields, resource, message=MALFORMED)
            event_type = REFUND_SUCCEEDED if event == "REFUND.SUCCESS" else REFUND_FAILED
            out_trade_no, out_refund_no, amount_fen = refund.out_trade_no, refund.out_refund_no, refund.amount.refund
        return Notification(
            notification_id=envelope.id,
            event_type=event_type,
            out_trade_no=out_trade_no,
            out_refund_no=out_refund_no,
            transaction_id=transaction_id,
            amount_fen=amount_fen,
            payload={"id": envelope.id, "event_type": event, "create_time": result.get("create_time"),
                     "summary": result.get("summary"), "resource": resource},
        )
