"""The leader's dashboard: the figures of a period, read from the roll-ups (docs/kpis.md), never from raw orders.

A period is today, this week (Monday to today), this month (the 1st to today) or a chosen month, all in the
brand's time zone. For a month (to its end or to today) the money figures and paying members come from the
leader's `dash_leader_months` row (the sums of its days); for today and this week from `dash_leader_days` and
the paid orders of the period (a leader's rows, by index); the rank from the month's GMV buckets
(`dash_leader_rank_buckets`) for a month, else from the GMV index of the day's or the week's rows; the month's
repurchase from `dash_leader_months`; commission from the ledger's balances and the
payouts already made. The figures may be read on a replica (`Database.report()`); the commission is read on
`balances_session`, the primary's: what a leader can withdraw is never shown stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.attribution.models import Binding
from linli.dashboards import rank_buckets
from linli.dashboards.models import LeaderDay, LeaderMonth, LeaderWeek, PaidOrder
from linli.dashboards.rollups import brand_zone, month_of, next_month, previous_month, week_of
from linli.errors import InvalidInput
from linli.ledger import service as ledger
from linli.payouts import service as payouts

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    kind: str  # today, week, month, or "YYYY-MM" for a chosen month
    first_day: date
    last_day: date  # inclusive

    @property
    def month(self) -> date:
        """The month whose repurchase the period shows: its own for a month, else the one it falls in."""
        return month_of(self.first_day)


def period_of(*, kind: str, today: date) -> Period:
    """today / week / month, or a month "YYYY-MM" that has begun (400 otherwise)."""
    if kind == "today":
        return Period(kind, today, today)
    if kind == "week":
        return Period(kind, today - timedelta(days=today.weekday()), today)
    if kind == "month":
        return Period(kind, month_of(today), today)
    found = _MONTH.match(kind)
    if found is None or not 1 <= int(found.group(2)) <= 12 or not 2000 <= int(found.group(1)) <= 2999:
        raise InvalidInput("统计周期须为 today、week、month 或 YYYY-MM", code="period_invalid")
    first = date(int(found.group(1)), int(found.group(2)), 1)
    if first > today:
        raise InvalidInput("所选月份尚未开始", code="period_in_future")
    return Period(kind, first, min(next_month(first) - timedelta(days=1), today))


@dataclass(frozen=True)
class Repurchase:
    month: date  # of the members who paid in this month …
    paying_members: int
    bought_again_next_month: int  # … those who paid again the month after (so far, while it runs)

    @property
    def rate_bp(self) -> int | None:
        """In basis points (8,500 = 85.00 %), rounded down; None when nobody paid that month."""
        return self.bought_again_next_month * 10_000 // self.paying_members if self.paying_members else None


@dataclass(frozen=True)
class LeaderDashboard:
    period: Period
    today: date
    orders: int
    paid_fen: int
    refunded_fen: int
    gmv_fen: int  # paid − refunded
    paying_members: int
    new_members: int
    repurchase: Repurchase
    pending_fen: int
    available_fen: int
    withdrawing_fen: int
    withdrawn_fen: int
    rank: int | None  # among the brand's leaders by GMV of the period; None without any GMV
    ranked_leaders: int


def _utc_bounds(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(period.first_day, time.min, zone)
    end = datetime.combine(period.last_day + timedelta(days=1), time.min, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _is_month_so_far(period: Period, today: date) -> bool:
    """The period runs from the 1st of a month to its end or to today (a period never spans two months from a
    1st): its figures are the month's roll-up, nothing being paid after today."""
    return period.first_day.day == 1 and period.last_day in (today, next_month(period.first_day) - timedelta(days=1))


async def _rank(
    session: AsyncSession, *, brand_id: int, period: Period, mine: int, by_month: bool
) -> tuple[int | None, int]:
    """1 + the leaders of the brand with a higher GMV in the period (None if `mine` is not positive), and how
    many leaders had a paid order in it. A month's come from its GMV buckets (dashboards.rank_buckets); a day's
    and a week's (today, this week) from one pass over the index of the brand's leader days or weeks by GMV."""
    if by_month:
        return await rank_buckets.rank_in_month(session=session, brand_id=brand_id, month=period.month, mine=mine)
    if period.kind == "week":
        rows, gmv = LeaderWeek, LeaderWeek.gmv_fen
        in_period = (LeaderWeek.brand_id == brand_id, LeaderWeek.week == week_of(period.first_day))
    else:  # today
        rows, gmv = LeaderDay, LeaderDay.gmv_fen
        in_period = (LeaderDay.brand_id == brand_id, LeaderDay.day == period.first_day)
    higher_than_mine = case((gmv > mine, 1), else_=0)
    query = select(func.count(), func.coalesce(func.sum(higher_than_mine), 0)).select_from(rows).where(*in_period)
    ranked, higher = (await session.execute(query)).one()
    return (1 + int(higher) if mine > 0 else None), int(ranked)


async def leader_dashboard(
    *, session: AsyncSession, balances_session: AsyncSession, brand_id: int, leader_id: int, period_kind: str,
    now: datetime,
) -> LeaderDashboard:
    zone = await brand_zone(session=session, brand_id=brand_id)
    today = now.astimezone(zone).date()
    period = period_of(kind=period_kind, today=today)
    by_month = _is_month_so_far(period, today)
    # A month chosen shows its own repurchase; today, this week and this month show last month's, measured
    # into the month running now.
    repurchase_month = period.month if _MONTH.match(period.kind) else previous_month(period.month)
    months = {
        row.month: row for row in (await session.scalars(select(LeaderMonth).where(
            LeaderMonth.leader_id == leader_id, LeaderMonth.month.in_(sorted({period.month, repurchase_month}))
        ))).all()
    }
    if by_month:  # the month's roll-up sums its days and counts its paying members once each, as they came
        month_row = months.get(period.month)
        orders, paid, refunded, paying = (
            (month_row.orders, month_row.paid_fen, month_row.refunded_fen, month_row.paying_members)
            if month_row else (0, 0, 0, 0)
        )
    else:
        in_period = (LeaderDay.leader_id == leader_id, LeaderDay.day.between(period.first_day, period.last_day))
        orders, paid, refunded = (
            await session.execute(
                select(func.coalesce(func.sum(LeaderDay.orders), 0), func.coalesce(func.sum(LeaderDay.paid_fen), 0),
                       func.coalesce(func.sum(LeaderDay.refunded_fen), 0)).where(*in_period)
            )
        ).one()
        paying = await session.scalar(
            select(func.count(func.distinct(PaidOrder.member_id))).where(
                PaidOrder.leader_id == leader_id, PaidOrder.paid_day.between(period.first_day, period.last_day)
            )
        )
    start, end = _utc_bounds(period, zone)
    new_members = await session.scalar(
        select(func.count()).select_from(Binding).where(
            Binding.leader_id == leader_id, Binding.bound_at >= start, Binding.bound_at < end
        )
    )
    row = months.get(repurchase_month)
    repurchase = Repurchase(repurchase_month, row.paying_members if row else 0, row.bought_again_next_month if row else 0)
    balances = await ledger.leader_balances(session=balances_session, brand_id=brand_id, leader_id=leader_id)
    rank, ranked = await _rank(
        session, brand_id=brand_id, period=period, mine=int(paid) - int(refunded), by_month=by_month
    )
    return LeaderDashboard(
        period=period, today=today, orders=int(orders), paid_fen=int(paid), refunded_fen=int(refunded),
        gmv_fen=int(paid) - int(refunded), paying_members=int(paying or 0), new_members=int(new_members or 0),
        repurchase=repurchase, pending_fen=balances.pending_fen, available_fen=balances.available_fen,
        withdrawing_fen=balances.withdrawing_fen,
        withdrawn_fen=await payouts.paid_out_fen(session=balances_session, leader_id=leader_id), rank=rank,
        ranked_leaders=ranked,
    )
