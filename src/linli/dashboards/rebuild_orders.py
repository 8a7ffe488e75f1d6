"""The order and refund roll-ups (paid orders, applied refunds, days, weeks, paying members and months) recomputed
from `orders` and `refunds` in set-based SQL, for one brand, whole or from a local day D on.

From D: the paid orders, days and refunds of orders paid from D on (and refunds of orders never paid, placed
from D on) are replaced, and the leaders' weeks from D's week on (its earlier days included); the months from
D's month on are recomputed from the paid orders kept (D's month's earlier days included, untouched), and the
month before D's has its "paid again the month after" recounted, since it depends on D's month. Earlier rows are left as they are. The rules are `dashboards.rollups`' (docs/kpis.md).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Insert, Update, and_, delete, exists, func, insert, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from linli.dashboards.models import (
    AppliedRefund, BrandDay, BrandMonth, LeaderDay, LeaderMemberMonth, LeaderMonth, LeaderWeek, MemberMonth, PaidOrder,
)
from linli.dashboards.rebuild_leaders import Scope
from linli.dashboards.rollups import month_of, next_month, previous_month, week_of
from linli.db import Base, local_date, local_month
from linli.db import week_of as sql_week_of
from linli.leaders.models import Leader
from linli.orders.models import Order
from linli.payments.models import Refund
from linli.payments.providers import REFUND_SUCCEEDED_STATUS


def _on_or_after(column: ColumnElement, value: object) -> list[ColumnElement[bool]]:
    return [] if value is None else [column >= value]


def _orders_in_scope(scope: Scope) -> ColumnElement[bool]:
    """The brand's orders whose refunds the scope recounts: paid from D on, or never paid and placed from D on."""
    since = scope.since(monthly=False)
    if since is None:
        return Order.brand_id == scope.brand_id
    return and_(Order.brand_id == scope.brand_id, or_(
        Order.paid_at >= since, and_(Order.paid_at.is_(None), Order.placed_at >= since)))


async def _recount_again(session: AsyncSession, scope: Scope, first_month: date) -> None:
    """`bought_again_next_month` of every month from `first_month` on, recounted from the presence rows."""
    last = await session.scalar(select(func.max(MemberMonth.month)).where(MemberMonth.brand_id == scope.brand_id))
    month = first_month
    while last is not None and month <= last:
        await session.execute(_again_update(BrandMonth, MemberMonth, "brand_id", scope.brand_id, month))
        await session.execute(_again_update(LeaderMonth, LeaderMemberMonth, "leader_id", scope.brand_id, month))
        month = next_month(month)


def _again_update(counters: type[Base], presence: type[Base], owner: str, brand_id: int, month: date) -> Update:
    """Sets a month's "paid again the month after" of the brand's rows: its members also present the month after."""
    this, after = aliased(presence), aliased(presence)
    owner_of = getattr(counters, owner)
    again = (
        select(func.count()).select_from(this)
        .where(getattr(this, owner) == owner_of, this.month == month, exists().where(
            getattr(after, owner) == owner_of, after.month == next_month(month), after.member_id == this.member_id,
        ).correlate(counters, this))  # and to the row being updated: else the EXISTS joins every owner's months
        .scalar_subquery()
    )
    return update(counters).where(counters.brand_id == brand_id, counters.month == month).values(
        bought_again_next_month=again)


def leader_weeks_from_days(*, brand_id: int, first_week: date | None) -> Insert:
    """The brand's leader weeks (from `first_week` on, or all) summed from their days, set-based."""
    week = sql_week_of(LeaderDay.day)
    return insert(LeaderWeek).from_select(
        ["leader_id", "week", "brand_id", "orders", "paid_fen", "refunded_fen", "gmv_fen"],
        select(LeaderDay.leader_id, week, LeaderDay.brand_id, func.sum(LeaderDay.orders), func.sum(LeaderDay.paid_fen),
               func.sum(LeaderDay.refunded_fen), func.sum(LeaderDay.gmv_fen))
        .where(LeaderDay.brand_id == brand_id, *_on_or_after(LeaderDay.day, first_week))
        .group_by(LeaderDay.leader_id, week, LeaderDay.brand_id),
    )


async def rebuild_order_scope(*, session: AsyncSession, scope: Scope) -> dict[str, int]:
    brand, day = scope.brand_id, scope.first_day
    month = month_of(day) if day is not None else None
    week = week_of(day) if day is not None else None
    leaders = select(Leader.id).where(Leader.brand_id == brand)
    scoped_orders = select(Order.id).where(_orders_in_scope(scope))
    for statement in (
        delete(AppliedRefund).where(AppliedRefund.order_id.in_(scoped_orders)),
        delete(PaidOrder).where(PaidOrder.brand_id == brand, *_on_or_after(PaidOrder.paid_day, day)),
        delete(BrandDay).where(BrandDay.brand_id == brand, *_on_or_after(BrandDay.day, day)),
        delete(LeaderDay).where(LeaderDay.brand_id == brand, *_on_or_after(LeaderDay.day, day)),
        delete(LeaderWeek).where(LeaderWeek.brand_id == brand, *_on_or_after(LeaderWeek.week, week)),
        delete(MemberMonth).where(MemberMonth.brand_id == brand, *_on_or_after(MemberMonth.month, month)),
        delete(LeaderMemberMonth).where(LeaderMemberMonth.leader_id.in_(leaders),
                                        *_on_or_after(LeaderMemberMonth.month, month)),
        delete(BrandMonth).where(BrandMonth.brand_id == brand, *_on_or_after(BrandMonth.month, month)),
        delete(LeaderMonth).where(LeaderMonth.brand_id == brand, *_on_or_after(LeaderMonth.month, month)),
    ):
        await session.execute(statement)
    written = {}

    async def put(name: str, model: type, columns: list[str], query) -> None:  # noqa: ANN001
        result = await session.execute(insert(model).from_select(columns, query))
        written[name] = max(result.rowcount or 0, 0)

    succeeded = Refund.status == REFUND_SUCCEEDED_STATUS
    await put("applied_refunds", AppliedRefund, ["refund_id", "order_id", "amount_fen"],
              select(Refund.id, Refund.order_id, Refund.amount_fen).join(Order, Order.id == Refund.order_id)
              .where(succeeded, _orders_in_scope(scope)))
    refunded = select(Refund.order_id, func.sum(Refund.amount_fen).label("fen")).where(succeeded).group_by(
        Refund.order_id).subquery()
    await put("paid_orders", PaidOrder, ["order_id", "brand_id", "leader_id", "community_id", "member_id", "session_id",
                                         "paid_at", "paid_day", "paid_month", "paid_fen", "refunded_fen"],
              select(Order.id, Order.brand_id, Order.leader_id, Order.community_id, Order.member_id, Order.session_id,
                     Order.paid_at, local_date(Order.paid_at, scope.zone), local_month(Order.paid_at, scope.zone),
                     Order.payable_fen, func.coalesce(refunded.c.fen, 0))
              .outerjoin(refunded, refunded.c.order_id == Order.id)
              .where(Order.brand_id == brand, Order.paid_at.is_not(None),
                     *_on_or_after(Order.paid_at, scope.since(monthly=False))))
    paid = (PaidOrder.brand_id == brand, *_on_or_after(PaidOrder.paid_day, day))
    sums = (func.count(), func.sum(PaidOrder.paid_fen), func.sum(PaidOrder.refunded_fen))
    await put("brand_days", BrandDay, ["brand_id", "day", "orders", "paid_fen", "refunded_fen"],
              select(PaidOrder.brand_id, PaidOrder.paid_day, *sums).where(*paid)
              .group_by(PaidOrder.brand_id, PaidOrder.paid_day))
    await put("leader_days", LeaderDay, ["leader_id", "day", "brand_id", "orders", "paid_fen", "refunded_fen", "gmv_fen"],
              select(PaidOrder.leader_id, PaidOrder.paid_day, PaidOrder.brand_id, *sums,
                     func.sum(PaidOrder.paid_fen) - func.sum(PaidOrder.refunded_fen))
              .where(*paid, PaidOrder.leader_id.is_not(None))
              .group_by(PaidOrder.leader_id, PaidOrder.paid_day, PaidOrder.brand_id))
    # D's week from its Monday: its days before D were kept, and count in it again.
    result = await session.execute(leader_weeks_from_days(brand_id=brand, first_week=week))
    written["leader_weeks"] = max(result.rowcount or 0, 0)
    in_months = (PaidOrder.brand_id == brand, *_on_or_after(PaidOrder.paid_month, month))
    await put("member_months", MemberMonth, ["brand_id", "month", "member_id"],
              select(PaidOrder.brand_id, PaidOrder.paid_month, PaidOrder.member_id).where(*in_months).distinct())
    await put("leader_member_months", LeaderMemberMonth, ["leader_id", "month", "member_id"],
              select(PaidOrder.leader_id, PaidOrder.paid_month, PaidOrder.member_id)
              .where(*in_months, PaidOrder.leader_id.is_not(None)).distinct())
    await put("brand_months", BrandMonth, ["brand_id", "month", "paying_members", "bought_again_next_month"],
              select(MemberMonth.brand_id, MemberMonth.month, func.count(), literal_column("0"))
              .where(MemberMonth.brand_id == brand, *_on_or_after(MemberMonth.month, month))
              .group_by(MemberMonth.brand_id, MemberMonth.month))
    paying = (
        select(LeaderMemberMonth.leader_id, LeaderMemberMonth.month, Leader.brand_id, func.count().label("members"))
        .join(Leader, Leader.id == LeaderMemberMonth.leader_id)
        .where(Leader.brand_id == brand, *_on_or_after(LeaderMemberMonth.month, month))
        .group_by(LeaderMemberMonth.leader_id, LeaderMemberMonth.month, Leader.brand_id).subquery()
    )
    sold = (  # the sums of the leader's days of the month, as record_payment keeps them
        select(PaidOrder.leader_id, PaidOrder.paid_month.label("month"), func.count().label("orders"),
               func.sum(PaidOrder.paid_fen).label("paid"), func.sum(PaidOrder.refunded_fen).label("refunded"))
        .where(*in_months, PaidOrder.leader_id.is_not(None))
        .group_by(PaidOrder.leader_id, PaidOrder.paid_month).subquery()
    )
    await put("leader_months", LeaderMonth, ["leader_id", "month", "brand_id", "paying_members", "bought_again_next_month",
                                             "orders", "paid_fen", "refunded_fen", "gmv_fen"],
              select(paying.c.leader_id, paying.c.month, paying.c.brand_id, paying.c.members, literal_column("0"),
                     sold.c.orders, sold.c.paid, sold.c.refunded, sold.c.paid - sold.c.refunded)
              .join(sold, and_(sold.c.leader_id == paying.c.leader_id, sold.c.month == paying.c.month)))
    first_month = await session.scalar(select(func.min(MemberMonth.month)).where(MemberMonth.brand_id == brand))
    if first_month is not None:
        await _recount_again(session, scope, previous_month(month) if month is not None else first_month)
    return written
