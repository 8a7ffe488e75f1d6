"""The roll-ups recomputed from the raw tables (orders, refunds; the ledger, leaders, the attribution trail):
`linli rollup --rebuild [--from D]` writes them in set-based SQL (`rebuild_orders`, `rebuild_leaders`), `linli audit`
compares them with what the outbox kept (`rollups_agree`; `expected_rollups` below is the comparison's twin of
`rebuild_orders`, read into memory).

The rules are the ones `dashboards.rollups` applies event by event (docs/kpis.md): an order counts once it
has been paid (`orders.paid_at`), on its local day in the brand's time zone; a succeeded refund of a paid
order counts on that order's day; a member "paid in a month" with at least one order paid in it. The leader
KPIs' roll-ups (income, growth) are rebuilt and compared in set-based SQL by `dashboards.rebuild_leaders`,
and both are done here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands.models import Brand
from linli.dashboards import kpi_rebuild, rank_buckets
from linli.dashboards.models import (
    AppliedRefund, BrandDay, BrandMonth, LeaderDay, LeaderMemberMonth, LeaderMonth, LeaderWeek, MemberMonth, PaidOrder,
)
from linli.dashboards.rebuild_leaders import brand_scopes, leader_rollups_differ, rebuild_kpi_scope
from linli.dashboards.rebuild_orders import rebuild_order_scope
from linli.dashboards.rollups import month_of, next_month, week_of
from linli.orders.models import Order
from linli.payments.models import Refund
from linli.payments.providers import REFUND_SUCCEEDED_STATUS

@dataclass
class Rollups:
    """Every roll-up row, keyed by its primary key, as plain tuples (so two sets of them compare with ==)."""

    paid_orders: dict[int, tuple] = field(default_factory=dict)
    applied_refunds: dict[int, tuple] = field(default_factory=dict)
    brand_days: dict[tuple, tuple] = field(default_factory=dict)
    leader_days: dict[tuple, tuple] = field(default_factory=dict)
    leader_weeks: dict[tuple, tuple] = field(default_factory=dict)
    member_months: set[tuple] = field(default_factory=set)
    leader_member_months: set[tuple] = field(default_factory=set)
    brand_months: dict[tuple, tuple] = field(default_factory=dict)
    leader_months: dict[tuple, tuple] = field(default_factory=dict)

    def differences(self, other: Rollups) -> dict[str, int]:
        """Per table, how many keys differ (missing on either side, or with other values)."""
        counts = {}
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, set):
                differing = len(mine ^ theirs)
            else:
                differing = sum(1 for key in mine.keys() | theirs.keys() if mine.get(key) != theirs.get(key))
            if differing:
                counts[name] = differing
        return counts


def _brand_filter(column, brand_id: int | None) -> list:  # noqa: ANN001
    return [] if brand_id is None else [column == brand_id]


async def expected_rollups(*, session: AsyncSession, brand_id: int | None = None) -> Rollups:
    zones = {
        brand_id_: ZoneInfo(zone)
        for brand_id_, zone in (await session.execute(select(Brand.id, Brand.timezone).where(*_brand_filter(Brand.id, brand_id)))).all()
    }
    refunds = (
        await session.execute(
            select(Refund.id, Refund.order_id, Refund.amount_fen)
            .join(Order, Order.id == Refund.order_id)
            .where(Refund.status == REFUND_SUCCEEDED_STATUS, *_brand_filter(Order.brand_id, brand_id))
        )
    ).all()
    out = Rollups(applied_refunds={refund_id: (order_id, amount) for refund_id, order_id, amount in refunds})
    refunded: dict[int, int] = defaultdict(int)
    for order_id, amount in out.applied_refunds.values():
        refunded[order_id] += amount
    paid = await session.execute(
        select(Order.id, Order.brand_id, Order.leader_id, Order.community_id, Order.member_id, Order.session_id,
               Order.paid_at, Order.payable_fen)
        .where(Order.paid_at.is_not(None), *_brand_filter(Order.brand_id, brand_id))
    )
    brand_days: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    leader_days: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    leader_brand: dict[int, int] = {}
    for order_id, brand, leader, community, member, live_session, paid_at, total in paid.all():
        day = paid_at.astimezone(zones[brand]).date()  # paid_at comes back aware, in UTC
        month = month_of(day)
        back = refunded.get(order_id, 0)
        out.paid_orders[order_id] = (brand, leader, community, member, live_session, paid_at, day, month, total, back)
        for totals in [brand_days[(brand, day)]] + ([leader_days[(leader, day)]] if leader is not None else []):
            totals[0] += 1
            totals[1] += total
            totals[2] += back
        out.member_months.add((brand, month, member))
        if leader is not None:
            leader_brand[leader] = brand
            out.leader_member_months.add((leader, month, member))
    out.brand_days = {key: tuple(value) for key, value in brand_days.items()}
    out.leader_days = {
        (leader, day): (leader_brand[leader], *value, value[1] - value[2]) for (leader, day), value in leader_days.items()
    }
    out.leader_weeks = {
        (leader, week): (leader_brand[leader], *value, value[1] - value[2])
        for (leader, week), value in _summed_by(leader_days, week_of).items()
    }
    out.brand_months = _month_counts(out.member_months, extra=None)
    leader_money = _summed_by(leader_days, month_of)
    out.leader_months = {
        key: (*counts, *leader_money[key], leader_money[key][1] - leader_money[key][2])
        for key, counts in _month_counts(out.leader_member_months, extra=leader_brand).items()
    }
    return out


def _summed_by(days: dict[tuple, list[int]], period_of) -> dict[tuple, list[int]]:  # noqa: ANN001
    """(owner, day) → [orders, paid, refunded], summed per (owner, the period the day falls in)."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (owner, day), value in days.items():
        totals = sums[(owner, period_of(day))]
        for n in range(3):
            totals[n] += value[n]
    return sums


def _month_counts(presence: set[tuple], *, extra: dict[int, int] | None) -> dict[tuple, tuple]:
    """(owner, month) → (paying members, those who paid the month after too), with the owner's brand first
    when `extra` maps owners (leaders) to brands."""
    paying: dict[tuple, int] = defaultdict(int)
    again: dict[tuple, int] = defaultdict(int)
    for owner, month, member in presence:
        paying[(owner, month)] += 1
        if (owner, next_month(month), member) in presence:
            again[(owner, month)] += 1
    return {
        key: ((extra[key[0]],) if extra is not None else ()) + (count, again.get(key, 0)) for key, count in paying.items()
    }


async def stored_rollups(*, session: AsyncSession, brand_id: int | None = None) -> Rollups:
    out = Rollups()
    for row in (await session.scalars(select(PaidOrder).where(*_brand_filter(PaidOrder.brand_id, brand_id)))).all():
        out.paid_orders[row.order_id] = (
            row.brand_id, row.leader_id, row.community_id, row.member_id, row.session_id, row.paid_at, row.paid_day,
            row.paid_month, row.paid_fen, row.refunded_fen,
        )
    refunds = select(AppliedRefund.refund_id, AppliedRefund.order_id, AppliedRefund.amount_fen)
    if brand_id is not None:
        refunds = refunds.join(Order, Order.id == AppliedRefund.order_id).where(Order.brand_id == brand_id)
    out.applied_refunds = {refund_id: (order_id, amount) for refund_id, order_id, amount in (await session.execute(refunds)).all()}
    for row in (await session.scalars(select(BrandDay).where(*_brand_filter(BrandDay.brand_id, brand_id)))).all():
        out.brand_days[(row.brand_id, row.day)] = (row.orders, row.paid_fen, row.refunded_fen)
    for row in (await session.scalars(select(LeaderDay).where(*_brand_filter(LeaderDay.brand_id, brand_id)))).all():
        out.leader_days[(row.leader_id, row.day)] = (row.brand_id, row.orders, row.paid_fen, row.refunded_fen, row.gmv_fen)
    for row in (await session.scalars(select(LeaderWeek).where(*_brand_filter(LeaderWeek.brand_id, brand_id)))).all():
        out.leader_weeks[(row.leader_id, row.week)] = (row.brand_id, row.orders, row.paid_fen, row.refunded_fen, row.gmv_fen)
    out.member_months = {
        tuple(r) for r in (await session.execute(
            select(MemberMonth.brand_id, MemberMonth.month, MemberMonth.member_id).where(*_brand_filter(MemberMonth.brand_id, brand_id))
        )).all()
    }
    leader_presence = select(LeaderMemberMonth.leader_id, LeaderMemberMonth.month, LeaderMemberMonth.member_id)
    if brand_id is not None:
        leader_presence = leader_presence.join(
            LeaderMonth, (LeaderMonth.leader_id == LeaderMemberMonth.leader_id) & (LeaderMonth.month == LeaderMemberMonth.month)
        ).where(LeaderMonth.brand_id == brand_id)
    out.leader_member_months = {tuple(r) for r in (await session.execute(leader_presence)).all()}
    for row in (await session.scalars(select(BrandMonth).where(*_brand_filter(BrandMonth.brand_id, brand_id)))).all():
        out.brand_months[(row.brand_id, row.month)] = (row.paying_members, row.bought_again_next_month)
    for row in (await session.scalars(select(LeaderMonth).where(*_brand_filter(LeaderMonth.brand_id, brand_id)))).all():
        out.leader_months[(row.leader_id, row.month)] = (
            row.brand_id, row.paying_members, row.bought_again_next_month, row.orders, row.paid_fen, row.refunded_fen,
            row.gmv_fen,
        )
    return out


async def rollups_agree(*, session: AsyncSession, brand_id: int | None = None) -> dict[str, int]:
    """{} when the kept roll-ups equal a rebuild from the raw tables; else the differing rows per table."""
    differing = (await stored_rollups(session=session, brand_id=brand_id)).differences(
        await expected_rollups(session=session, brand_id=brand_id)
    )
    return (differing | await leader_rollups_differ(session=session, brand_id=brand_id)
            | await kpi_rebuild.differences(session=session, brand_id=brand_id)
            | await rank_buckets.differences(session=session, brand_id=brand_id))


async def rebuild_rollups(
    *, session: AsyncSession, brand_id: int | None = None, first_day: date | None = None
) -> dict[str, int]:
    """Replaces every roll-up row (of one brand, or all; from a local day on, or all) with the rows recomputed from
    the raw tables, in set-based SQL (`rebuild_orders`, `rebuild_leaders`); rows written per table.

    Safe beside a running worker: on PostgreSQL the tables each event inserts into first are locked against its
    inserts before the raw tables are read, so an event handled before counts in the recomputation and one handled
    after finds its order, refund, posting or arrival already counted, or counts on top (SQLite's write
    transaction excludes the worker)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(
            "LOCK TABLE dash_paid_orders, dash_applied_refunds, dash_applied_commissions, dash_growth_facts "
            "IN EXCLUSIVE MODE"
        ))
    written: dict[str, int] = defaultdict(int)
    for scope in await brand_scopes(session, brand_id, first_day):
        for name, count in (await rebuild_order_scope(session=session, scope=scope)
                            | await rebuild_kpi_scope(session=session, scope=scope)).items():
            written[name] += count
        first_month = month_of(scope.first_day) if scope.first_day is not None else None
        written["leader_rank_buckets"] += await rank_buckets.recount(
            session=session, brand_id=scope.brand_id, first_month=first_month
        )
    # The session and claim roll-ups, recomputed whole from the fresh dash_paid_orders (they are small).
    await kpi_rebuild.rebuild(session=session, brand_id=brand_id)
    return dict(written)
