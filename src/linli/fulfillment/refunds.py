"""Refunds fulfillment makes: brand staff refund a paid order in full while its parcel is still in the
warehouse (waiting or packed); once it is on its way, after-sales takes over. The unclaimed return and the
staff refund share `refund_in_full` (payments.request_refund + orders.mark_refunded).

Lock order: parcel, then payment, then order (the unclaimed return, the staff refund), the same as payments
(payment → order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.db import insert_unique
from linli.errors import Conflict, InvalidInput, NotFound
from linli.fulfillment.models import PARCEL_PACKED, PARCEL_WAITING, Parcel, StaffRefund
from linli.fulfillment.service import (
    PARCEL_CANCELLED_EVENT,
    PARCEL_STATUS_NAMES,
    cancel_for_refund,
    create_parcel,
    find_parcel,
)
from linli.orders import service as orders
from linli.orders.models import Order
from linli.outbox.service import emit
from linli.payments import service as payments
from linli.payments.models import Refund

# --- the full refund (the staff refund, the unclaimed return) --------------------------------------


async def refund_in_full(
    session: AsyncSession, *, order: Order, reason: str, order_reason: str, key_prefix: str, now: datetime
) -> Refund | None:
    """Gives back what is left of the payment that paid the order and marks the order refunded.

    `orders.mark_refunded` puts the units back on sale and emits `order.refunded` (the ledger claws the
    commission back, the parcel handler cancels an open parcel). The refund key is
    `{key_prefix}:payment:{payment_id}`, so a replay names the same refund. None when nothing is left to give.
    A second payment of the same order is not the order's money: payments refunds it on its own
    (`payment-unapplied:{id}`).
    """
    refund = None
    payment = await payments.order_payment(session=session, order_id=order.id)
    if payment is not None:
        left = payment.amount_fen - await payments.refunded_fen(session=session, payment_id=payment.id)
        if left > 0:
            refund = await payments.request_refund(
                session=session, payment=payment, amount_fen=left, reason=reason,
                idempotency_key=f"{key_prefix}:payment:{payment.id}", now=now,
            )
    if order.status == "paid":
        await orders.mark_refunded(session=session, order_id=order.id, now=now, reason=order_reason)
    return refund


# --- staff refund before the parcel leaves --------------------------------------------------------

# Still in the warehouse: nothing was handed to the driver, so the brand can simply keep the goods.
REFUNDABLE_BEFORE_DISPATCH = (PARCEL_WAITING, PARCEL_PACKED)
MAX_REASON_CHARS = 200


@dataclass(frozen=True)
class StaffRefundResult:
    record: StaffRefund
    order: Order
    parcel: Parcel
    refund: Refund
    created: bool


async def _staff_refund_replay(
    session: AsyncSession, *, brand_id: int, key: str, order_id: int, reason: str
) -> StaffRefund | None:
    """The refund this key already made (same order and reason), a 409 (anything else), or None."""
    row = await session.scalar(
        select(StaffRefund).where(StaffRefund.brand_id == brand_id, StaffRefund.idempotency_key == key)
    )
    if row is not None and (row.order_id != order_id or row.reason != reason):
        raise Conflict("该幂等键已用于另一笔退款", code="idempotency_key_reused")
    return row


async def _staff_refund_result(session: AsyncSession, record: StaffRefund, *, created: bool) -> StaffRefundResult:
    parcel = await find_parcel(session=session, order_id=record.order_id)
    assert parcel is not None
    return StaffRefundResult(
        record=record, order=await orders.get_order(session=session, order_id=record.order_id), parcel=parcel,
        refund=await payments.get_refund(session=session, refund_id=record.refund_id), created=created,
    )


async def _lock_parcel_of(session: AsyncSession, *, order: Order, now: datetime) -> Parcel | None:
    """The order's parcel, locked; made now if the worker has not made it yet (None if the order is not paid)."""
    if await find_parcel(session=session, order_id=order.id) is None:
        await create_parcel(session=session, order_id=order.id, now=now)
    return await session.scalar(
        select(Parcel).where(Parcel.order_id == order.id).with_for_update().execution_options(populate_existing=True)
    )


async def refund_before_dispatch(
    *,
    session: AsyncSession,
    brand_id: int,
    order_id: int,
    reason: str,
    idempotency_key: str,
    actor_user_id: int,
    now: datetime,
) -> StaffRefundResult:
    """Brand staff refund a paid order in full while its parcel is waiting or packed.

    The same key for the same order and reason returns the first result (`created` False); the key for
    anything else is a 409 `idempotency_key_reused`; a refunded order is a 409 `order_already_refunded`; a
    parcel on its way or collected is a 409 `parcel_dispatched` (after-sales takes over). A refusal writes
    nothing. The parcel is cancelled here (not only by the `order.refunded` handler) so it leaves the pick
    list at once; `parcel.cancelled` tells the member.
    """
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 64:
        raise InvalidInput("幂等键长度须为 8 到 64 个字符", code="idempotency_key_invalid")
    text = reason.strip()
    if not 1 <= len(text) <= MAX_REASON_CHARS:
        raise InvalidInput(f"请填写退款原因（{MAX_REASON_CHARS} 字以内）", code="refund_reason_invalid")
    order = await orders.get_order(session=session, order_id=order_id)
    if order.brand_id != brand_id:
        raise NotFound("订单不存在", code="order_not_found")
    replay = await _staff_refund_replay(session, brand_id=brand_id, key=key, order_id=order.id, reason=text)
    if replay is not None:
        return await _staff_refund_result(session, replay, created=False)

    parcel = await _lock_parcel_of(session, order=order, now=now)
    # A concurrent refund of this order may have committed while we waited for the parcel.
    replay = await _staff_refund_replay(session, brand_id=brand_id, key=key, order_id=order.id, reason=text)
    if replay is not None:
        return await _staff_refund_result(session, replay, created=False)
    await session.refresh(order)  # as it is now; mark_refunded locks it after the payment (the lock order)
    if order.status == "refunded":
        raise Conflict("该订单已退款，不能重复退款", code="order_already_refunded",
                       details={"closed_at": order.closed_at.isoformat() if order.closed_at else None})
    if order.status != "paid" or parcel is None:
        raise Conflict("订单未支付，不能退款", code="order_not_refundable", details={"status": order.status})
    if parcel.status not in REFUNDABLE_BEFORE_DISPATCH:
        raise Conflict(
            f"包裹{PARCEL_STATUS_NAMES[parcel.status]}，已离开仓库，请通过售后处理", code="parcel_dispatched",
            details={"status": parcel.status},
        )
    stopped_at = parcel.status
    refund = await refund_in_full(
        session, order=order, reason=f"商家退款：{text}", order_reason="staff_refund",
        key_prefix=f"order-refund:{order.id}", now=now,
    )
    if refund is None:
        raise Conflict("该订单没有可退的支付", code="order_payment_missing")
    await cancel_for_refund(session=session, order_id=order.id, now=now)
    record = StaffRefund(
        brand_id=brand_id, order_id=order.id, parcel_id=parcel.id, refund_id=refund.id, amount_fen=refund.amount_fen,
        reason=text, parcel_status=stopped_at, idempotency_key=key, refunded_by_user_id=actor_user_id, created_at=now,
    )
    if not await insert_unique(session, record):
        # The key was used a moment ago for another order of the brand; the refund above is rolled back too.
        raise Conflict("该幂等键已用于另一笔退款", code="idempotency_key_reused")
    emit(
        session, topic=PARCEL_CANCELLED_EVENT,
        payload={"parcel_id": parcel.id, "order_id": order.id, "member_id": parcel.member_id, "brand_id": brand_id,
                 "reason": text},
        now=now,
    )
    return StaffRefundResult(record=record, order=order, parcel=parcel, refund=refund, created=True)
