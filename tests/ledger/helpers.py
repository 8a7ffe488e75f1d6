"""Helpers for ledger tests: buy (place + pay with a real payment row), refund, complete, settle, audit.

The stage (brand, 小李 of 云顶华府, 王姐 of 翠湖花园, a live session with a listing and 小李's community
offer) comes from tests/orders/setup.py.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from linli.context import AppContext
from linli.ledger import accrual, settlement
from linli.ledger import service as ledger
from linli.ledger.audit import AuditReport, run_audit
from linli.ledger.handlers import ORDER_COMPLETED, order_completed_payload
from linli.ledger.models import CommissionLine, LedgerTransaction
from linli.orders import service as orders
from linli.outbox.service import emit
from linli.payments import service as payments
from linli.payments.models import Payment
from linli.payments.providers import REFUND_SUCCEEDED_STATUS
from linli.worker import run_until_idle
from tests.factories import Actor
from tests.orders.setup import Stage


async def buy(ctx: AppContext, stage: Stage, buyer: Actor, *, quantity: int = 1, offer: bool = True, work: bool = True) -> int:
    """Places and pays an order (with a succeeded payment row, so it can be refunded); returns its id."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        placed = await orders.place_order(
            session=s, user_id=buyer.user_id, listing_id=None if offer else stage.listing_id,
            offer_id=stage.offer_id if offer else None, quantity=quantity, idempotency_key=uuid.uuid4().hex,
            pickup_community_id=None if offer else stage.community_id, payment_ttl=timedelta(minutes=10), now=now,
        )
        order = placed.order
        s.add(
            Payment(
                order_id=order.id, brand_id=order.brand_id, provider="simulator", out_trade_no=payments.new_out_trade_no(),
                amount_fen=order.total_fen, status="succeeded", provider_transaction_id=None, prepay={}, created_at=now,
                succeeded_at=now,
            )
        )
        applied = await orders.apply_payment(session=s, order_id=order.id, amount_fen=order.total_fen, now=now)
        assert applied.outcome == "paid"
        order_id = order.id
    if work:
        await run_until_idle(ctx)
    return order_id


async def refund(ctx: AppContext, order_id: int, amount_fen: int, *, key: str | None = None) -> int:
    """A succeeded refund of part of the order, clawed back as after-sales will do; returns the refund id."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        payment = await s.scalar(select(Payment).where(Payment.order_id == order_id, Payment.status == "succeeded"))
        assert payment is not None
        row = await payments.request_refund(
            session=s, payment=payment, amount_fen=amount_fen, reason="坏果包赔", idempotency_key=key or uuid.uuid4().hex,
            now=now,
        )
        await payments.settle_refund(session=s, refund=row, status=REFUND_SUCCEEDED_STATUS, now=now)
        await accrual.clawback_for_refund(session=s, order_id=order_id, refund_id=row.id, refunded_fen=amount_fen, now=now)
        refund_id = row.id
    await run_until_idle(ctx)
    return refund_id


async def refund_whole(ctx: AppContext, order_id: int) -> None:
    """The whole order refunded (orders.mark_refunded emits order.refunded; the worker claws back)."""
    async with ctx.db.transaction() as s:
        await orders.mark_refunded(session=s, order_id=order_id, now=ctx.clock.now(), reason="整单退款")
    await run_until_idle(ctx)


async def complete(ctx: AppContext, order_id: int, at: datetime | None = None) -> None:
    """What fulfillment will do on pickup: emit `order.completed`."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        emit(s, topic=ORDER_COMPLETED, payload=order_completed_payload(order_id=order_id, completed_at=at or now), now=now)
    await run_until_idle(ctx)


async def settle(ctx: AppContext, as_of: datetime | None = None, *, batch_size: int = 1000) -> settlement.SettleReport:
    as_of = as_of or ctx.clock.now()
    if as_of > ctx.clock.now():  # settling at a moment means it has come: the audit flags money dated after now
        ctx.clock.set(as_of)
    return await settlement.settle_due(db=ctx.db, as_of=as_of, now=as_of, batch_size=batch_size)


async def audit(ctx: AppContext) -> AuditReport:
    async with ctx.db.read() as s:
        return await run_audit(session=s, now=ctx.clock.now())


async def assert_audit_ok(ctx: AppContext) -> AuditReport:
    report = await audit(ctx)
    assert report.ok, report.to_text()
    return report


async def balances(ctx: AppContext, stage: Stage, leader_id: int | None = None) -> ledger.LeaderBalances:
    async with ctx.db.read() as s:
        return await ledger.leader_balances(
            session=s, brand_id=stage.brand_id, leader_id=leader_id or stage.leader.leader_id
        )


async def line_of(ctx: AppContext, order_id: int) -> CommissionLine:
    async with ctx.db.read() as s:
        line = await s.scalar(select(CommissionLine).where(CommissionLine.order_id == order_id))
    assert line is not None, f"no commission line for order {order_id}"
    return line


async def transactions(ctx: AppContext, *where) -> list[LedgerTransaction]:  # noqa: ANN002
    async with ctx.db.read() as s:
        return list(await s.scalars(select(LedgerTransaction).where(*where).order_by(LedgerTransaction.id)))


async def withdraw_like(ctx: AppContext, stage: Stage, amount_fen: int, *, key: str, leader_id: int | None = None) -> None:
    """A real withdrawal (linli.payouts): requested, approved by the owner and paid out by the simulator."""
    from linli.payouts import service as payouts

    leader_id = leader_id or stage.leader.leader_id
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        requested = await payouts.request_withdrawal(
            session=s, brand_id=stage.brand_id, leader_id=leader_id, amount_fen=amount_fen, idempotency_key=key, now=now
        )
        await payouts.approve(
            session=s, providers=ctx.payouts, provider_name="simulator", brand_id=stage.brand_id,
            withdrawal_id=requested.withdrawal.id, actor_user_id=stage.owner.user_id, now=now,
        )
    await run_until_idle(ctx)
