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

import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any, Literal

from linli import simulation
from linli.callbacks import Fen, Id32, Id64, NotificationFields, read_fields, require_storable
from linli.errors import Conflict, InvalidInput, NotFound
from linli.money import yuan
from linli.payments import service
from linli.payments.providers import (
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    REFUND_SUCCEEDED_STATUS,
    CallbackSignatureInvalid,
    Notification,
)

if TYPE_CHECKING:
    from linli.config import Settings
    from linli.context import AppContext
    from linli.payments.models import Payment, Refund

TIMESTAMP_HEADER = "X-Linli-Sim-Timestamp"
NONCE_HEADER = "X-Linli-Sim-Nonce"
SIGNATURE_HEADER = "X-Linli-Sim-Signature"


MALFORMED = "支付通知格式无效"


class SimulatorNotificationFields(NotificationFields):
    id: Id64
    event_type: Literal["payment.succeeded", "payment.failed"]
    out_trade_no: Id32
    transaction_id: Id64 | None = None
    amount_fen: Fen | None = None


class SimulatorProvider(simulation.NotifyingSimulator):
    kind = "payment"
    refused = CallbackSignatureInvalid
    handler = staticmethod(service.handle_notification)

    def __init__(self, *, secret_key: str, public_base_url: str) -> None:
        # A key of its own, so that a simulator signature is never valid as any other keyed hash.
        super().__init__(
            secret_key=secret_key, key_label=b"linli/payments/simulator/v1",
            headers=(TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER),
        )
        self.public_base_url = public_base_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> SimulatorProvider:
        return cls(secret_key=settings.secret_key, public_base_url=settings.public_base_url)

    # --- the provider interface -----------------------------------------------------------------

    async def prepay(
        self, *, payment: Payment, description: str, payer_openid: str | None, expires_at: datetime | None = None
    ) -> dict[str, Any]:
        return {"pay_url": f"{self.public_base_url}/pay/sim/{payment.out_trade_no}", "description": description}

    def parse_notification(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        self.verify(headers=headers, body=body, now=now)
        try:
            data = json.loads(body)
        except ValueError:
            raise InvalidInput(MALFORMED, code="callback_malformed", details={"fields": ["(body)"]}) from None
        require_storable(data, message=MALFORMED)
        fields = read_fields(SimulatorNotificationFields, data, message=MALFORMED)
        return Notification(
            notification_id=fields.id, event_type=fields.event_type, out_trade_no=fields.out_trade_no,
            transaction_id=fields.transaction_id, amount_fen=fields.amount_fen, payload=data,
        )

    async def refund(self, *, refund: Refund, payment: Payment) -> str:
        return REFUND_SUCCEEDED_STATUS

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


def simulator_of(ctx: AppContext) -> SimulatorProvider:
    return simulation.simulator_in(ctx.payments, SimulatorProvider, disabled_message="支付模拟器未启用")


async def complete(
    *, ctx: AppContext, out_trade_no: str, outcome: str, delay_ms: int = 0, duplicates: int = 0
) -> simulation.Completion:
    """The payer finished on the pay page: notify success or failure, 1 + `duplicates` times, after `delay_ms`."""
    provider = simulator_of(ctx)
    if outcome not in ("success", "fail"):
        raise InvalidInput("outcome 须为 success 或 fail", code="invalid_request")
    simulation.check_delivery(delay_ms=delay_ms, duplicates=duplicates)
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
    return await provider.send(ctx, body, outcome=outcome, delay_ms=delay_ms, duplicates=duplicates, now=now)


STATUS_TEXT = {"pending": "待支付", "succeeded": "已支付", "failed": "支付失败"}
# What the payer is told on the pay page, from the server's outcome of the (first) notification.
OUTCOME_TEXT = {
    "paid": "支付成功",
    "paid_late": "支付成功：付款晚于订单时限，名额仍在，订单已为您恢复",
    "refunding_late_payment": "支付超时，名额已售罄，款项将原路退回",
    "refunding_double_payment": "订单已由另一笔支付完成，本次款项将原路退回",
    "amount_mismatch": "支付金额与订单不符，款项将原路退回",
    "failed": "支付失败",
    "duplicate": "该支付已处理",
    "already_succeeded": "该支付已处理",
}


def outcome_message(done: simulation.Completion) -> str:
    """The sentence the pay page shows for what the server did (never "支付成功" for money it gives back)."""
    if done.scheduled:
        return "已提交，支付结果稍后送达"
    first = done.outcomes[0] if done.outcomes else ""
    if first.startswith("error:"):
        return f"支付未被受理（{first.removeprefix('error:')}）"
    return OUTCOME_TEXT.get(first, "支付结果未知，请查看订单")


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
    <p><a href="/orders/{payment.order_id}">查看订单</a></p>
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
    ? data.message
    : ((data.error && data.error.message) || "请求失败");
}}
document.getElementById("pay").addEventListener("click", function () {{ finish("success"); }});
document.getElementById("fail").addEventListener("click", function () {{ finish("fail"); }});
</script>
</body>
</html>
"""
