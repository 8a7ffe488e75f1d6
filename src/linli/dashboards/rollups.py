"""Keeping the dashboards' roll-ups current from the outbox: each payment and each refund counted once.

`record_payment` (on `order.paid`) and `record_refund` (on `payment.refunded`) are idempotent: the order's
row in `dash_paid_orders` and the refund's in `dash_applied_refunds` are inserted first (a unique key), and
only an insert that happened adds anything. Both lock the order's row first, so a refund processed before or
beside its order's payment (events retried out of order, two workers) is neither lost nor counted twice: a
payment counts the refunds already applied to its order, a refund adds to a payment already counted. Money of
an order that was never paid (a late payment refunded at once) is never GMV. Every figure is in the brand's
time zone (a payment's local day and month); a refund counts on the day its order was paid. The session,
community and claim figures of the same payment or refund are counted with it (dashboards.kpi_rollups).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.dashboards import kpi_rollups, rank_buckets
from linli.dashboards.models import (
    AppliedRefund, BrandDay, BrandMonth, LeaderDay, LeaderMemberMonth, LeaderMonth, LeaderWeek, MemberMonth, PaidOrder,
)
from linli.dashboards.upsert import bump as _bump
from linli.dashboards.upsert import insert_new
from linli.db import Base
from linli.orders.models import Order


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def week_of(day: date) -> date:
    """The Monday of the day's week (本周 runs Monday to Sunday)."""
    return day - timedelta(days=day.weekday())


async def _bump_days(session: AsyncSession, fact: PaidOrder, *, orders: int, paid_fen: int, refunded_fen: int) -> None:
    changes = {"orders": orders, "paid_fen": paid_fen, "refunded_fen": refunded_fen}
    await _bump(session, BrandDay, keys={"brand_id": fact.brand_id, "day": fact.paid_day}, **changes)
    if fact.leader_id is not None:
        leader = {"also": {"brand_id": fact.brand_id}, "gmv_fen": paid_fen - refunded_fen, **changes}
        await _bump(session, LeaderDay, keys={"leader_id": fact.leader_id, "day": fact.paid_day}, **leader)
        await _bump(session, LeaderWeek, keys={"leader_id": fact.leader_id, "week": week_of(fact.paid_day)}, **leader)
        after_orders, after_gmv = await _bump(
            session, LeaderMonth, keys={"leader_id": fact.leader_id, "month": fact.paid_month},
            returning=("orders", "gmv_fen"), **leader,
        )
        before_fen = int(after_gmv) - (paid_fen - refunded_fen) if int(after_orders) - orders > 0 else None
        await rank_buckets.move(session, brand_id=fact.brand_id, month=fact.paid_month, before_fen=before_fen,
                                after_fen=int(after_gmv))


async def _paid_around(
    session: AsyncSession, model: type[Base], owner: dict[str, int], *, month: date, member_id: int
) -> set[date]:
    """Which of the month before and the month after `month` the member paid in (one statement)."""
    conditions = [getattr(model, name) == value for name, value in owner.items()]
    around = (previous_month(month), next_month(month))
    query = select(model.month).where(*conditions, model.member_id == member_id, model.month.in_(around))
    return set((await session.scalars(query)).all())


async def _count_member(
    session: AsyncSession, *, presence: type[Base], counters: type[Base], owner: dict[str, int], month: date,
    member_id: int, also: dict[str, Any] | None = None,
) -> None:
    """The member paid in `month` (brand-wide or for one leader): counted once per month, and each pair of
    consecutive months they paid in counts once for the earlier one, whichever of the two arrives first."""
    if not await insert_new(session, presence, **owner, month=month, member_id=member_id):
        return
    paid_around = await _paid_around(session, presence, owner, month=month, member_id=member_id)
    again_next = int(next_month(month) in paid_around)
    await _bump(session, counters, keys={**owner, "month": month}, also=also, paying_members=1,
                bought_again_next_month=again_next)
    if previous_month(month) in paid_around:
        await _bump(session, counters, keys={**owner, "month": previous_month(month)}, also=also,
                    paying_members=0, bought_again_next_month=1)


_ZONES = "linli.dashboards.brand_zones"


async def brand_zone(*, session: AsyncSession, brand_id: int) -> ZoneInfo:
    """The brand's time zone: its local days and months are the dashboards'. Kept for the session (a brand's
    zone is set when it is created and never changes; the worker's batch asks it for every event)."""
    zones: dict[int, ZoneInfo] = session.info.setdefault(_ZONES, {})
    if brand_id not in zones:
        zones[brand_id] = ZoneInfo((await brands.get_brand(session=session, brand_id=brand_id)).timezone)
    return zones[brand_id]


async def record_payment(*, session: AsyncSession, order_id: int) -> bool:
    """Counts a paid order once; False if it was already counted, or is not paid (nothing changes)."""
    order = await session.get(Order, order_id, with_for_update=True)
    if order is None or order.paid_at is None:
        return False
    paid_day = order.paid_at.astimezone(await brand_zone(session=session, brand_id=order.brand_id)).date()
    already_refunded = int(
        await session.scalar(
            select(func.coalesce(func.sum(AppliedRefund.amount_fen), 0)).where(AppliedRefund.order_id == order_id)
        ) or 0
    )
    values = dict(
        order_id=order.id, brand_id=order.brand_id, leader_id=order.leader_id, community_id=order.community_id,
        member_id=order.member_id, session_id=order.session_id, paid_at=order.paid_at, paid_day=paid_day,
        paid_month=month_of(paid_day), paid_fen=order.payable_fen, refunded_fen=already_refunded,
    )
    if not await insert_new(session, PaidOrder, **values):
        return False
    fact = PaidOrder(**values)  # not added to the session: the row is written, this is what it holds
    await _bump_days(session, fact, orders=1, paid_fen=fact.paid_fen, refunded_fen=already_refunded)
    await kpi_rollups.count_payment(session, fact=fact, product_id=order.product_id)
    await _count_member(session, presence=MemberMonth, counters=BrandMonth, owner={"brand_id": fact.brand_id},
                        month=fact.paid_month, member_id=fact.member_id)
    if fact.leader_id is not None:
        await _count_member(session, presence=LeaderMemberMonth, counters=LeaderMonth, owner={"leader_id": fact.leader_id},
                            month=fact.paid_month, member_id=fact.member_id, also={"brand_id": fact.brand_id})
    return True


async def record_refund(*, session: AsyncSession, refund_id: int, order_id: int, amount_fen: int) -> bool:
    """Counts a refund once; False if it was already counted."""
    if await session.get(Order, order_id, with_for_update=True) is None:
        return False
    if not await insert_new(session, AppliedRefund, refund_id=refund_id, order_id=order_id, amount_fen=amount_fen):
        return False
    fact = await session.get(PaidOrder, order_id)
    if fact is None:
        return True  # its payment, if it ever counts, will count this refund with it
    fact.refunded_fen += amount_fen
    await _bump_days(session, fact, orders=0, paid_fen=0, refunded_fen=amount_fen)
    await kpi_rollups.count_refund(session, fact=fact, amount_fen=amount_fen)
    return True
