"""The local payment simulator: the default provider, and it behaves like a real one.

- `prepay` returns a pay page link (`/pay/sim/{out_trade_no}`) where the payer presses 支付 or 模拟失败.
- Completing a payment builds notifications signed with HMAC-SHA256 under a key derived from
  `LINLI_SECRET_KEY` (headers X-Linli-Sim-Timestamp, X-Linli-Sim-Nonce and X-Linli-Sim-Signature over
  "timestamp\\nnonce\\nbody") and delivers them to the same code the callback endpoint runs, in a fresh
  transaction, optionally after a delay and with duplicates, exactly like a provider retrying.
- Notifications older than 5 minutes are refused (replay protection); a forged or tampered one is
  refused and changes nothing.
- Refunds complete immediately.

The signed notifications are also returned to the caller, so that a client or a test can replay or
tamper with them against `POST /api/v1/payments/simulator/notify`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from linli.errors import Conflict, DomainError, InvalidInput, NotFound
from linli.payments.providers import (
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    REFUND_SUCCEEDED_STATUS,
    CallbackSignatureInvalid,
    Notification,
    check_freshness,
    lower_headers,
)

if TYPE_CHECKING:
    from linli.config import Settings
    from linli.context import AppContext
    from linli.payments.models import Payment, Refund

log = logging.getLogger("linli.payments.simulator")

TIMESTAMP_HEADER = "X-Linli-Sim-Timestamp"
NONCE_HEADER = "X-Linli-Sim-Nonce"
SIGNATURE_HEADER = "X-Linli-Sim-Signature"
NOTIFY_PATH = "/api/v1/payments/simulator/notify"
MAX_DELAY_MS = 60_000
MAX_DUPLICATES = 5


@dataclass(frozen=True)
class SignedNotification:
    headers: dict[str, str]
    body: bytes

    def as_json(self) -> dict[str, Any]:
        return {"headers": dict(self.headers), "body": self.body.decode()}


class SimulatorProvider:
    name = "simulator"

    def __init__(self, *, secret_key: str, public_base_url: str) -> None:
        if not secret_key:
            raise ValueError("the payment simulator needs a secret key")
        # A key of its own, so that a simulator signature is never valid as any other keyed hash.
        self._key = hmac.new(secret_key.encode(), b"linli/payments/simulator/v1", hashlib.sha256).digest()
        self.public_base_url = public_base_url.rstrip("/")
        self._deliveries: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> SimulatorProvider:
        return cls(secret_key=settings.secret_key, public_base_url=settings.public_base_url)

    # --- the provider interface -----------------------------------------------------------------

    async def prepay(
        self, *, payment: Payment, description: str, payer_openid: str | None, expires_at: datetime | None = None
    ) -> dict[str, Any]:
        return {"pay_url": f"{self.public_base_url}/pay/sim/{payment.out_trade_no}", "description": description}

    def parse_notification(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        h = lower_headers(headers)
        timestamp = h.get(TIMESTAMP_HEADER.lower(), "")
        nonce = h.get(NONCE_HEADER.lower(), "")
        signature = h.get(SIGNATURE_HEADER.lower(), "")
        if not timestamp or not nonce or not signature or len(nonce) > 64:
            raise CallbackSignatureInvalid(details={"reason": "headers_missing"})
        if not hmac.compare_digest(self.sign(timestamp=timestamp, nonce=nonce, body=body), signature.lower()):
            raise CallbackSignatureInvalid(details={"reason": "signature_mismatch"})
        check_freshness(timestamp, now)
        try:
            data = json.loads(body)
            event_type = data["event_type"]
            notification_id = data["id"]
            out_trade_no = data["out_trade_no"]
            amount = data.get("amount_fen")
            transaction_id = data.get("transaction_id")
            valid = (
                event_type in (PAYMENT_SUCCEEDED, PAYMENT_FAILED)
                and isinstance(notification_id, str) and 0 < len(notification_id) <= 64
                and isinstance(out_trade_no, str) and 0 < len(out_trade_no) <= 32
                and (amount is None or (isinstance(amount, int) and not isinstance(amount, bool)))
                and (transaction_id is None or isinstance(transaction_id, str))
            )
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise InvalidInput("支付通知格式无效", code="callback_malformed")
        return Notification(
            notification_id=notification_id, event_type=event_type, out_trade_no=out_trade_no,
            transaction_id=transaction_id, amount_fen=amount, payload=data,
        )

    async def refund(self, *, refund: Refund, payment: Payment) -> str:
        return REFUND_SUCCEEDED_STATUS

    # --- signing --------------------------------------------------------------------------------

    def sign(self, *, timestamp: str, nonce: str, body: bytes) -> str:
        message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def signed(self, body: bytes, *, now: datetime) -> SignedNotification:
        timestamp = str(int(now.timestamp()))
        nonce = secrets.token_hex(16)
        return SignedNotification(
            headers={
                TIMESTAMP_HEADER: timestamp,
                NONCE_HEADER: nonce,
                SIGNATURE_HEADER: self.sign(timestamp=timestamp, nonce=nonce, body=body),
                "Content-Type": "application/json",
            },
            body=body,
        )

    def notification_body(
        self, *, event_type: str, out_trade_no: str, amount_fen: int, transaction_id: str | None, now: datetime
    ) -> bytes:
        data = {
            "id": "SIMN" + secrets.token_hex(14),
            "event_type": event_type,
            "out_trade_no": out_trade_no,
            "transaction_id": transaction_id,
            "amount_fen": amount_fen,
            "created_at": now.isoformat(),
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    # --- delayed deliveries -----------------------------------------------------------------------

    def schedule(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Runs a delivery in the background, keeping a reference until it is done."""
        task = asyncio.create_task(coro)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        return task

    @property
    def pending_deliveries(self) -> int:
        return len(self._deliveries)

    async def drain(self) -> None:
        """Waits for every scheduled delivery (tests, shutdown)."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)


def simulator_of(ctx: AppContext) -> SimulatorProvider:
    provider = ctx.payments.get("simulator")
    if not isinstance(provider, SimulatorProvider):
        raise NotFound("支付模拟器未启用", code="simulator_disabled")
    return provider


async def deliver(ctx: AppContext, provider: SimulatorProvider, notification: SignedNotification) -> str:
    """What the callback endpoint does, in a transaction of its own; a refusal is reported, not raised."""
    from linli.payments import service

    try:
        async with ctx.db.transaction() as session:
            return await service.handle_notification(
                session=session, provider=provider, headers=notification.headers, body=notification.body,
                now=ctx.clock.now(),
            )
    except DomainError as exc:
        return f"error:{exc.code}"


async def _deliver_later(
    ctx: AppContext, provider: SimulatorProvider, notifications: list[SignedNotification], delay_ms: int
) -> None:
    await asyncio.sleep(delay_ms / 1000)
    for notification in notifications:
        try:
            outcome = await deliver(ctx, provider, notification)
        except Exception:  # noqa: BLE001 - a provider retries too; log and go on with the next copy
            log.exception("simulated payment notification failed")
            continue
        log.info("simulated payment notification delivered: %s", outcome)


@dataclass(frozen=True)
class Completion:
    out_trade_no: str
    outcome: str
    scheduled: bool
    outcomes: list[str]
    notifications: list[SignedNotification]


async def complete(
    *, ctx: AppContext, out_trade_no: str, outcome: str, delay_ms: int = 0, duplicates: int = 0
) -> Completion:
    """The payer finished on the pay page: notify success or failure, 1 + `duplicates` times, after `delay_ms`."""
    from linli.payments import service

    provider = simulator_of(ctx)
    if outcome not in ("success", "fail"):
        raise InvalidInput("outcome 须为 success 或 fail", code="invalid_request")
    if not 0 <= delay_ms <= MAX_DELAY_MS or not 0 <= duplicates <= MAX_DUPLICATES:
        raise InvalidInput("延迟或重复次数超出范围", code="invalid_request")
    async with ctx.db.read() as session:
        payment = await service.get_payment_by_trade_no(session=session, out_trade_no=out_trade_no)
    if payment.provider != provider.name:
        raise NotFound("支付单不存在", code="payment_not_found")
    if payment.status != "pending":
        raise Conflict("该支付单已完成，不能再次支付", code="payment_not_pending", details={"status": payment.status})
    now = ctx.clock.now()
    body = provider.notification_body(
        event_type=PAYMENT_SUCCEEDED if outcome == "success" else PAYMENT_FAILED,
        out_trade_no=payment.out_trade_no,
        amount_fen=payment.amount_fen,
        transaction_id=("SIMT" + secrets.token_hex(14)) if outcome == "success" else None,
        now=now,
    )
    # A provider retrying re-signs the same notification (same id) with a fresh timestamp and nonce.
    notifications = [provider.signed(body, now=now) for _ in range(1 + duplicates)]
    if delay_ms > 0:
        provider.schedule(_deliver_later(ctx, provider, notifications, delay_ms))
        return Completion(out_trade_no, outcome, True, [], notifications)
    outcomes = [await deliver(ctx, provider, n) for n in notifications]
    return Completion(out_trade_no, outcome, False, outcomes, notifications)


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


STATUS_TEXT = {"pending": "待支付", "succeeded": "已支付", "failed": "支付失败"}


def pay_page(*, payment: Payment, description: str) -> str:
    """A small mobile page standing in for the provider's cashier."""
    trade_no = escape(payment.out_trade_no)
    status = STATUS_TEXT.get(payment.status, payment.status)
    disabled = "" if payment.status == "pending" else " disabled"
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>邻里 · 模拟支付</title>
<style>
body {{ font-family: -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0; background: #f5f5f5; }}
main {{ max-width: 420px; margin: 0 auto; padding: 24px 16px; }}
.card {{ background: #fff; border-radius: 12px; padding: 24px; text-align: center; }}
.amount {{ font-size: 36px; font-weight: 600; margin: 12px 0; }}
.muted {{ color: #888; font-size: 13px; }}
button {{ display: block; width: 100%; margin-top: 12px; padding: 14px; font-size: 17px;
         border: 0; border-radius: 8px; }}
#pay {{ background: #07c160; color: #fff; }}
#fail {{ background: #eee; color: #333; }}
button[disabled] {{ opacity: .5; }}
</style>
</head>
<body>
<main>
  <div class="card">
    <div class="muted">邻里模拟收银台（仅用于开发与演示，不会真实扣款）</div>
    <div>{escape(description)}</div>
    <div class="amount">¥{yuan(payment.amount_fen)}</div>
    <div class="muted">商户单号 {trade_no}</div>
    <div id="status">{escape(status)}</div>
    <button id="pay"{disabled}>支付</button>
    <button id="fail"{disabled}>模拟失败</button>
  </div>
</main>
<script>
async function finish(outcome) {{
  document.querySelectorAll("button").forEach(function (b) {{ b.disabled = true; }});
  const res = await fetch("/api/v1/payments/simulator/{trade_no}/complete", {{
    method: "POST", headers: {{"Content-Type": "application/json"}}, body: JSON.stringify({{outcome: outcome}})
  }});
  const data = await res.json();
  document.getElementById("status").textContent = res.ok
    ? (outcome === "success" ? "支付成功" : "支付失败")
    : ((data.error && data.error.message) || "请求失败");
}}
document.getElementById("pay").addEventListener("click", function () {{ finish("success"); }});
document.getElementById("fail").addEventListener("click", function () {{ finish("fail"); }});
</script>
</body>
</html>
"""
