"""The commission lifecycle of one order: accrue on payment, claw back on refunds, record completion.

- `accrue_for_order` (on `order.paid`): snapshots the rule into the order's commission line (unique on
  the order) and posts brand commission expense → leader pending (`accrual:order:{id}`). Idempotent.
- `clawback_for_refund` (after-sales calls it for each refund, partial or not; key
  `clawback:refund:{refund_id}`) and `clawback_full` (on `order.refunded`; key
  `clawback:order:{id}:full`, "whatever is left"). Cumulative, so splits always sum back:
  clawed_total_after = round_half_up(commission × refunded_total / paid); this refund takes
  clawed_total_after − clawed_so_far, from pending if the line is not settled yet, else from available
  (which may go negative after a withdrawal; later earnings repay it). A refund beyond what was paid
  counts only up to what was paid.
- `record_completion` (on `order.completed`): the completion time and, from it, the time the commission
  becomes available (`eligible_at`, see rules.eligible_at); the first completion wins.

Every function locks the order's commission line first, so clawbacks, completion and settlement of one
order queue behind each other. Each accrual and clawback posted emits `commission.posted` in the same
transaction (`commission_posted_payload`): the dashboards keep the leaders' monthly income from it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.attribution import service as attribution
from linli.brands import service as brands
from linli.db import insert_unique
from linli.errors import Conflict, InvalidInput
from linli.leaders import service as leaders
from linli.ledger import rules, service
from linli.ledger.models import (
    BRAND_COMMISSION_EXPENSE,
    LINE_EXCLUDED,
    LINE_PENDING,
    LINE_REVERSED,
    LINE_SETTLED,
    TX_ACCRUAL,
    TX_CLAWBACK,
    CommissionLine,
    CommissionRefund,
)
from linli.orders import service as orders
from linli.orders.models import Order
from linli.outbox.service import emit

COMMISSION_POSTED = "commission.posted"


def accrual_key(order_id: int) -> str:
    return f"accrual:order:{order_id}"


def refund_clawback_key(refund_id: int) -> str:
    return f"clawback:refund:{refund_id}"


def full_refund_clawback_key(order_id: int) -> str:
    return f"clawback:order:{order_id}:full"


def paid_base(order: Order) -> int:
    """The commission base: what the member actually paid, after the coupon (`payable_fen`, docs/coupons.md)."""
    return order.payable_fen


def commission_posted_payload(posted: service.Posted, *, leader_id: int, amount_fen: int) -> dict:
    """`commission.posted`: one accrual (+) or clawback (−) on the leader's side, with when it was posted."""
    tx = posted.transaction
    return {
        "transaction_id": tx.id, "brand_id": tx.brand_id, "leader_id": leader_id, "order_id": tx.order_id,
        "kind": tx.kind, "amount_fen": amount_fen, "posted_at": tx.posted_at.isoformat(),
    }


def _announce(session: AsyncSession, posted: service.Posted, *, leader_id: int, amount_fen: int, now: datetime) -> None:
    if posted.created:  # a replay of the same key posted nothing, so there is nothing new to tell
        emit(session, topic=COMMISSION_POSTED, payload=commission_posted_payload(
            posted, leader_id=leader_id, amount_fen=amount_fen), now=now)


async def find_line(*, session: AsyncSession, order_id: int) -> CommissionLine | None:
    return await session.scalar(select(CommissionLine).where(CommissionLine.order_id == order_id))


async def _lock_line(session: AsyncSession, order_id: int) -> CommissionLine | None:
    return await session.scalar(
        select(CommissionLine)
        .where(CommissionLine.order_id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _paid_before(session: AsyncSession, order: Order) -> bool:
    """Whether the member had paid for another order of the brand before this one was paid (a repurchase)."""
    assert order.paid_at is not None
    earlier = await session.scalar(
        select(Order.id)
        .where(
            Order.member_id == order.member_id,
            Order.paid_at.is_not(None),
            or_(Order.paid_at < order.paid_at, and_(Order.paid_at == order.paid_at, Order.id < order.id)),
        )
        .limit(1)
    )
    return earlier is not None


async def quote_order(*, session: AsyncSession, order: Order) -> tuple[int, rules.Quote]:
    """(rule version id, quote) for a paid order with a leader, under the version in force at placement."""
    assert order.leader_id is not None
    brand = await brands.get_brand(session=session, brand_id=order.brand_id)
    version = await rules.version_at(session=session, brand_id=order.brand_id, at=order.placed_at)
    leader = await leaders.get_leader(session=session, brand_id=order.brand_id, leader_id=order.leader_id)
    first = await attribution.first_binding_of(session=session, member_id=order.member_id)
    brought_in_at = first.bound_at if first and first.brought_in_new and first.leader_id == order.leader_id else None
    facts = rules.OrderFacts(
        paid_fen=paid_base(order), session_id=order.session_id, product_id=order.product_id,
        placed_at=order.placed_at, self_purchase=order.member_id == leader.member_id, brought_in_at=brought_in_at,
        repurchase=brought_in_at is not None and await _paid_before(session, order), timezone=brand.timezone,
    )
    return version.id, rules.quote(rules.ruleset_of(version), facts)


async def accrue_for_order(*, session: AsyncSession, order_id: int, now: datetime) -> CommissionLine | None:
    """The order's commission line, accrued as pending if not yet (None: unpaid or without a leader)."""
    existing = await find_line(session=session, order_id=order_id)
    if existing is not None:
        return existing
    order = await orders.get_order(session=session, order_id=order_id)
    if order.leader_id is None or order.paid_at is None:
        return None
    version_id, quote = await quote_order(session=session, order=order)
    line = CommissionLine(
        brand_id=order.brand_id, leader_id=order.leader_id, order_id=order.id, member_id=order.member_id,
        session_id=order.session_id, product_id=order.product_id, product_name=order.product_name,
        quantity=order.quantity, paid_fen=paid_base(order), rule_version_id=version_id, rule=quote.rule,
        rate_bp=quote.rate_bp, referral_bp=quote.referral_bp, commission_fen=quote.commission_fen,
        refunded_fen=0, clawed_back_fen=0, settled_fen=0,
        status=LINE_PENDING if quote.commission_fen > 0 else LINE_EXCLUDED,
        placed_at=order.placed_at, paid_at=order.paid_at, completed_at=None, eligible_at=None, settled_at=None,
        created_at=now,
    )
    if not await insert_unique(session, line):  # a concurrent delivery of the same event won
        return await find_line(session=session, order_id=order_id)
    accounts, expense = await service.leader_and_brand_accounts(
        session=session, brand_id=order.brand_id, leader_id=order.leader_id, brand_kind=BRAND_COMMISSION_EXPENSE, now=now
    )  # the leader's three accounts exist from the first line on, whether it earns anything or not
    if quote.commission_fen > 0:
        posted = await service.post(
            session=session, key=accrual_key(order.id), brand_id=order.brand_id, kind=TX_ACCRUAL,
            entries=[(expense.id, -quote.commission_fen), (accounts.pending.id, quote.commission_fen)], now=now,
            source=service.Source(
                leader_id=order.leader_id, order_id=order.id, commission_line_id=line.id, rule_version_id=version_id,
                memo=f"订单支付，佣金入账（待结算）：{rules.RULE_TEXT[quote.rule]}",
            ),
        )
        _announce(session, posted, leader_id=order.leader_id, amount_fen=quote.commission_fen, now=now)
    return line


async def _line_for_change(session: AsyncSession, order_id: int, now: datetime) -> CommissionLine | None:
    line = await _lock_line(session, order_id)
    if line is None and await accrue_for_order(session=session, order_id=order_id, now=now) is not None:
        line = await _lock_line(session, order_id)  # the paid event has not been handled yet: accrue first
    return line


async def _clawback(
    session: AsyncSession,
    *,
    order_id: int,
    key: str,
    refund_id: int | None,
    requested_fen: int | None,
    now: datetime,
) -> CommissionRefund | None:
    if requested_fen is not None and requested_fen <= 0:
        raise InvalidInput("退款金额须大于 0", code="refund_amount_invalid")
    line = await _line_for_change(session, order_id, now)
    if line is None:
        return None
    existing = await session.scalar(select(CommissionRefund).where(CommissionRefund.idempotency_key == key))
    if existing is not None:
        if existing.line_id != line.id or (requested_fen is not None and existing.requested_fen != requested_fen):
            raise Conflict("该退款已按另一金额扣回过佣金", code="clawback_key_reused")
        return existing
    remaining = line.paid_fen - line.refunded_fen
    requested = remaining if requested_fen is None else requested_fen
    applied = min(requested, remaining)
    refunded_after = line.refunded_fen + applied
    clawed_after = service.round_half_up_div(line.commission_fen * refunded_after, line.paid_fen) if line.paid_fen else 0
    clawback = clawed_after - line.clawed_back_fen
    from_kind = None
    transaction_id = None
    if clawback > 0:
        accounts, expense = await service.leader_and_brand_accounts(
            session=session, brand_id=line.brand_id, leader_id=line.leader_id, brand_kind=BRAND_COMMISSION_EXPENSE, now=now
        )
        source = accounts.available if line.status == LINE_SETTLED else accounts.pending
        from_kind = source.kind
        posted = await service.post(
            session=session, key=key, brand_id=line.brand_id, kind=TX_CLAWBACK,
            entries=[(source.id, -clawback), (expense.id, clawback)], now=now,
            source=service.Source(
                leader_id=line.leader_id, order_id=line.order_id, commission_line_id=line.id,
                rule_version_id=line.rule_version_id, refund_id=refund_id,
                memo=f"退款 {applied} 分，按比例扣回佣金" + ("（已结算，从可提现扣回）" if line.status == LINE_SETTLED else ""),
            ),
        )
        transaction_id = posted.transaction.id
        _announce(session, posted, leader_id=line.leader_id, amount_fen=-clawback, now=now)
    line.refunded_fen = refunded_after
    line.clawed_back_fen = clawed_after
    if line.status == LINE_PENDING and refunded_after == line.paid_fen:
        line.status = LINE_REVERSED
    row = CommissionRefund(
        idempotency_key=key, line_id=line.id, refund_id=refund_id, requested_fen=requested, applied_fen=applied,
        clawback_fen=clawback, from_account_kind=from_kind, transaction_id=transaction_id, created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def clawback_for_refund(
    *, session: AsyncSession, order_id: int, refund_id: int, refunded_fen: int, now: datetime
) -> CommissionRefund | None:
    """Claws back the commission share of one refund of `refunded_fen` (after-sales calls this, once or more:
    a replay with the same refund id returns the first result and posts nothing). None: no commission line
    (the order has no leader or was never paid)."""
    return await _clawback(
        session, order_id=order_id, key=refund_clawback_key(refund_id), refund_id=refund_id,
        requested_fen=refunded_fen, now=now,
    )


async def clawback_full(*, session: AsyncSession, order_id: int, now: datetime) -> CommissionRefund | None:
    """The order was refunded as a whole (`order.refunded`): claws back whatever commission is left."""
    return await _clawback(
        session, order_id=order_id, key=full_refund_clawback_key(order_id), refund_id=None, requested_fen=None, now=now
    )


async def record_completion(
    *, session: AsyncSession, order_id: int, completed_at: datetime, now: datetime
) -> CommissionLine | None:
    """The order completed (picked up): its commission becomes available at `eligible_at`. First one wins."""
    if completed_at.tzinfo is None:
        raise InvalidInput("完成时间须带时区", code="completed_at_invalid")
    line = await _line_for_change(session, order_id, now)
    if line is None or line.completed_at is not None:
        return line
    version = await rules.get_version(session=session, version_id=line.rule_version_id)
    brand = await brands.get_brand(session=session, brand_id=line.brand_id)
    line.completed_at = completed_at
    line.eligible_at = rules.eligible_at(
        completed_at, window_days=version.settlement_window_days, timezone=brand.timezone
    )
    await session.flush()
    return line
