"""What a member is told about a payment their order could not keep: the order timeline and the inbox.

A payment that arrives after its order expired and found the units gone (or a second payment, or a wrong
amount) is refunded in full automatically, and the order stays as it was. The member is told:

- on the order timeline (`order_notices`; fulfillment's timeline shows them, see
  `fulfillment.payment_timeline`): while the refund is pending "…，正在原路退款 ¥136.00" at the moment the
  money arrived; once the provider confirmed it "…，已原路退款 ¥136.00" at that moment; if it failed
  "…，退款 ¥136.00 未成功，请联系客服";
- in the inbox (`tell_refund_result`, from `payment.refunded` / `payment.refund_failed`): only when the
  provider has answered, once per refund, so a failed refund is never announced as refunded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.money import yuan
from linli.notifications import service as notifications
from linli.orders import service as orders
from linli.orders.models import Order
from linli.payments import service
from linli.payments.providers import REFUND_FAILED_STATUS, REFUND_SUCCEEDED_STATUS

# Why the order could not keep the money: what the member reads, the message title's few words, the entry kind.
CAUSES = {
    "refunding_late_payment": ("支付超时，名额已售罄", "支付超时", "late_payment"),
    "refunding_double_payment": ("重复支付", "重复支付", "double_payment"),
    "amount_mismatch": ("支付金额与订单不符", "支付金额不符", "mismatched_payment"),
}


def refund_text(unapplied: service.UnappliedPayment) -> str:
    """"支付超时，名额已售罄，已原路退款 ¥136.00", as the refund stands now."""
    cause = CAUSES[unapplied.cause][0]
    amount = f"¥{yuan(unapplied.refund.amount_fen)}"
    if unapplied.refund.status == REFUND_SUCCEEDED_STATUS:
        return f"{cause}，已原路退款 {amount}"
    if unapplied.refund.status == REFUND_FAILED_STATUS:
        return f"{cause}，退款 {amount} 未成功，请联系客服"
    return f"{cause}，正在原路退款 {amount}"


@dataclass(frozen=True)
class OrderNotice:
    """One moment of an order's timeline: a payment the order could not keep and where its refund stands."""

    kind: str  # late_payment_refunding / _refunded / _refund_failed (likewise double_payment_…, mismatched_payment_…)
    at: datetime
    text: str


def _notice(unapplied: service.UnappliedPayment) -> OrderNotice:
    refund, prefix = unapplied.refund, CAUSES[unapplied.cause][2]
    arrived_at = unapplied.payment.succeeded_at or refund.created_at
    if refund.status == REFUND_SUCCEEDED_STATUS:
        kind, at = f"{prefix}_refunded", refund.completed_at or arrived_at
    elif refund.status == REFUND_FAILED_STATUS:
        kind, at = f"{prefix}_refund_failed", arrived_at
    else:
        kind, at = f"{prefix}_refunding", arrived_at
    return OrderNotice(kind=kind, at=at, text=refund_text(unapplied))


async def order_notices(*, session: AsyncSession, order_id: int) -> list[OrderNotice]:
    """One notice per payment the order could not keep (none for almost every order: one query)."""
    return [_notice(u) for u in await service.unapplied_payments(session=session, order_id=order_id)]


def _goods(order: Order) -> str:
    text = order.product_name if not order.sku_name else f"{order.product_name} {order.sku_name}"
    return f"{text} ×{order.quantity}"


async def tell_refund_result(*, session: AsyncSession, refund_id: int, now: datetime) -> None:
    """The member's inbox hears the provider's answer about an automatic refund (other refunds: nothing)."""
    refund = await service.get_refund(session=session, refund_id=refund_id)
    of_order = await service.unapplied_payments(session=session, order_id=refund.order_id)
    unapplied = next((u for u in of_order if u.refund.id == refund.id), None)
    if unapplied is None or refund.status not in (REFUND_SUCCEEDED_STATUS, REFUND_FAILED_STATUS):
        return
    order = await orders.get_order(session=session, order_id=refund.order_id)
    succeeded = refund.status == REFUND_SUCCEEDED_STATUS
    short = CAUSES[unapplied.cause][1]
    await notifications.notify(
        session=session, user_id=order.user_id, brand_id=order.brand_id, order_id=order.id,
        kind="payment_refunded" if succeeded else "payment_refund_failed",
        title=f"{short}，已原路退款" if succeeded else f"{short}，退款未成功",
        body=f"{refund_text(unapplied)}。订单：{_goods(order)}。",
        dedupe_key=f"refund:{refund.id}:{refund.status}", now=now,
    )
