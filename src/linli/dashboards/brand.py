"""The brand's dashboard: a date range's figures, day by day, its top leaders and its months' repurchase, read
from the roll-ups (docs/kpis.md), never from raw orders.

A range is inclusive and in the brand's time zone; by default the last 30 days ending today. Brand-wide
figures come from `dash_brand_days` and `dash_brand_months`; one leader's from `dash_leader_days` and
`dash_leader_months`; a community's (the pickup community recorded on the order) from the paid orders kept
in `dash_paid_orders`. The top leaders are always the brand's and the top communities the brand's (or, with a
leader chosen, that leader's orders' communities), ranked by dashboards.ranking from the day and month roll-ups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.dashboards import ranking
from linli.dashboards.ranking import Net
from linli.dashboards.models import BrandDay, BrandMonth, LeaderDay, LeaderMonth, PaidOrder
from linli.dashboards.rollups import brand_zone, next_month
from linli.dashboards.service import Repurchase
from linli.errors import InvalidInput
from linli.leaders import service as leaders
from linli.ledger.statements import parse_date

DEFAULT_DAYS = 30
MAX_DAYS = 400
TOP_LEADERS = 20
NO_COMMUNITY = "未记录小区"
TOP_COMMUNITIES = 20


@dataclass(frozen=True)
class Totals(Net):
    orders: int
    paid_fen: int
    refunded_fen: int


@dataclass(frozen=True)
class DayFigures(Net):
    day: date
    orders: int
    paid_fen: int
    refunded_fen: int  # of the orders paid that day, whenever the refund came


@dataclass(frozen=True)
class LeaderFigures(Net):
    leader_id: int
    name: str  # the leader's real name
    orders: int
    paid_fen: int
    refunded_fen: int


@dataclass(frozen=True)
class CommunityFigures(Net):
    community_id: int | None  # None: orders recorded without a pickup community
    name: str
    orders: int
    paid_fen: int
    refunded_fen: int


@dataclass(frozen=True)
class BrandDashboard:
    first_day: date
    last_day: date  # inclusive
    today: date
    leader_id: int | None
    community_id: int | None
    totals: Totals
    days: list[DayFigures]
    leaders: list[LeaderFigures]
    months: list[Repurchase]
    communities: list[CommunityFigures]  # highest GMV first; only communities with a paid order in the range


def date_range(*, date_from: str | None, date_to: str | None, today: date) -> tuple[date, date]:
    """The inclusive range asked for: `to` defaults to today, `from` to 29 days before `to` (30 days)."""
    last = parse_date(date_to, code="date_invalid") if date_to is not None else today
    if date_from is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    else:
        first = parse_date(date_from, code="date_invalid")
    if first > last:
        raise InvalidInput("开始日期不能晚于结束日期", code="range_invalid")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"一次最多查询 {MAX_DAYS} 天", code="range_too_long")
    return first, last


async def _day_rows(
    session: AsyncSession, *, brand_id: int, leader_id: int | None, community_id: int | None, first: date, last: date
) -> dict[date, tuple[int, int, int]]:
    day: Any
    if community_id is not None:  # a community's: its paid orders, one row each
        day = PaidOrder.paid_day
        conditions: list[ColumnElement[bool]] = [
            PaidOrder.brand_id == brand_id, PaidOrder.community_id == community_id, day.between(first, last)
        ]
        if leader_id is not None:
            conditions.append(PaidOrder.leader_id == leader_id)
        columns = (func.count(), func.sum(PaidOrder.paid_fen), func.sum(PaidOrder.refunded_fen))
        query = select(day, *columns).where(*conditions).group_by(day)
    elif leader_id is not None:
        day = LeaderDay.day
        query = select(day, LeaderDay.orders, LeaderDay.paid_fen, LeaderDay.refunded_fen).where(
            LeaderDay.leader_id == leader_id, day.between(first, last)
        )
    else:
        day = BrandDay.day
        query = select(day, BrandDay.orders, BrandDay.paid_fen, BrandDay.refunded_fen).where(
            BrandDay.brand_id == brand_id, day.between(first, last)
        )
    return {
        row_day: (int(orders or 0), int(paid or 0), int(refunded or 0))
        for row_day, orders, paid, refunded in (await session.execute(query)).all()
    }


async def _leaders(
    session: AsyncSession, *, brand_id: int, first: date, last: date, complete: bool
) -> list[LeaderFigures]:
    if complete:
        ranked = await ranking.exact_totals(session, ranking.LEADERS, brand_id=brand_id, keys=None, first=first, last=last)
    else:
        ranked = await ranking.top(session, ranking.LEADERS, brand_id=brand_id, first=first, last=last, count=TOP_LEADERS)
    names = await leaders.leaders_by_ids(session=session, leader_ids={row.key for row in ranked})
    return [
        LeaderFigures(leader_id=row.key, name=names[row.key].real_name, orders=row.orders, paid_fen=row.paid_fen,
                      refunded_fen=row.refunded_fen)
        for row in ranked
    ]


async def _community_rows(
    session: AsyncSession, *, brand_id: int, leader_id: int | None, community_id: int | None, first: date, last: date,
    complete: bool,
) -> list[tuple[int | None, int, int, int]]:
    """(community, orders, paid, refunded): with a leader, from that leader's paid orders (a bounded few); else from
    the community roll-ups, the best TOP_COMMUNITIES (or, `complete`, every community and the orders without
    one, the brand's totals minus the communities')."""
    if leader_id is not None:
        conditions: list[ColumnElement[bool]] = [
            PaidOrder.brand_id == brand_id, PaidOrder.leader_id == leader_id, PaidOrder.paid_day.between(first, last),
        ]
        if community_id is not None:
            conditions.append(PaidOrder.community_id == community_id)
        paid, refunded = func.sum(PaidOrder.paid_fen), func.sum(PaidOrder.refunded_fen)
        query = select(PaidOrder.community_id, func.count(), paid, refunded).where(*conditions)
        rows = (await session.execute(query.group_by(PaidOrder.community_id))).all()
        return [(key, int(orders), int(p), int(r)) for key, orders, p, r in rows]
    if community_id is not None or complete:
        keys = None if community_id is None else {community_id}
        ranked = await ranking.exact_totals(
            session, ranking.COMMUNITIES, brand_id=brand_id, keys=keys, first=first, last=last
        )
    else:
        ranked = await ranking.top(
            session, ranking.COMMUNITIES, brand_id=brand_id, first=first, last=last, count=TOP_COMMUNITIES
        )
    return [(row.key, row.orders, row.paid_fen, row.refunded_fen) for row in ranked]


async def _communities(
    session: AsyncSession, *, brand_id: int, leader_id: int | None, community_id: int | None, first: date, last: date,
    totals: Totals, complete: bool,
) -> list[CommunityFigures]:
    rows = await _community_rows(session, brand_id=brand_id, leader_id=leader_id, community_id=community_id,
                                 first=first, last=last, complete=complete)
    if complete and leader_id is None and community_id is None:
        unrecorded = (totals.orders - sum(r[1] for r in rows), totals.paid_fen - sum(r[2] for r in rows),
                      totals.refunded_fen - sum(r[3] for r in rows))
        if unrecorded[0]:
            rows.append((None, *unrecorded))
    names = await brands.communities_by_ids(session=session, community_ids={r[0] for r in rows if r[0] is not None})
    found = [
        CommunityFigures(community_id=key, name=NO_COMMUNITY if key is None else names[key].name, orders=orders,
                         paid_fen=p, refunded_fen=r)
        for key, orders, p, r in rows
    ]
    # Ordered here rather than in SQL: a NULL community sorts differently on SQLite and PostgreSQL.
    return sorted(found, key=lambda c: (-c.gmv_fen, c.community_id is None, c.community_id or 0))


async def _community_months(
    session: AsyncSession, *, brand_id: int, community_id: int, leader_id: int | None, months: list[date]
) -> dict[date, tuple[int, int]]:
    """Per month, the members with an order of the community paid in it, and of them those with one in the next."""
    conditions: list[ColumnElement[bool]] = [
        PaidOrder.brand_id == brand_id, PaidOrder.community_id == community_id,
        PaidOrder.paid_day.between(months[0], next_month(next_month(months[-1])) - timedelta(days=1)),
    ]
    if leader_id is not None:
        conditions.append(PaidOrder.leader_id == leader_id)
    query = select(PaidOrder.paid_month, PaidOrder.member_id).where(*conditions).distinct()
    paid_in: dict[date, set[int]] = {}
    for month, member_id in (await session.execute(query)).all():
        paid_in.setdefault(month, set()).add(member_id)
    return {
        month: (len(paid_in.get(month, set())), len(paid_in.get(month, set()) & paid_in.get(next_month(month), set())))
        for month in months
    }


async def _month_rows(
    session: AsyncSession, *, brand_id: int, leader_id: int | None, community_id: int | None, months: list[date]
) -> dict[date, tuple[int, int]]:
    if community_id is not None:
        return await _community_months(
            session, brand_id=brand_id, community_id=community_id, leader_id=leader_id, months=months
        )
    if leader_id is not None:
        query = select(LeaderMonth.month, LeaderMonth.paying_members, LeaderMonth.bought_again_next_month).where(
            LeaderMonth.leader_id == leader_id, LeaderMonth.month.between(months[0], months[-1])
        )
    else:
        query = select(BrandMonth.month, BrandMonth.paying_members, BrandMonth.bought_again_next_month).where(
            BrandMonth.brand_id == brand_id, BrandMonth.month.between(months[0], months[-1])
        )
    return {month: (int(paying), int(again)) for month, paying, again in (await session.execute(query)).all()}


async def brand_dashboard(
    *, session: AsyncSession, brand_id: int, date_from: str | None, date_to: str | None, leader_id: int | None,
    community_id: int | None, now: datetime, complete: str | None = None,
) -> BrandDashboard:
    """The brand's figures over a range (422 for a bad one); a leader or a community not of the brand is 404.

    The page's leaders and communities are the best TOP_LEADERS / TOP_COMMUNITIES; `complete` "leaders" or
    "communities" (that table's CSV file) lists every leader or every community with a paid order in the range
    instead (only the file asked for pays for it: at national scale each takes seconds)."""
    today = now.astimezone(await brand_zone(session=session, brand_id=brand_id)).date()
    first, last = date_range(date_from=date_from, date_to=date_to, today=today)
    if leader_id is not None:
        await leaders.get_leader(session=session, brand_id=brand_id, leader_id=leader_id)
    if community_id is not None:
        await brands.get_community(session=session, brand_id=brand_id, community_id=community_id)
    found = await _day_rows(
        session, brand_id=brand_id, leader_id=leader_id, community_id=community_id, first=first, last=last
    )
    days = [
        DayFigures(first + timedelta(days=n), *found.get(first + timedelta(days=n), (0, 0, 0)))
        for n in range((last - first).days + 1)
    ]
    totals = Totals(sum(d.orders for d in days), sum(d.paid_fen for d in days), sum(d.refunded_fen for d in days))
    months = ranking.months_of(first, last)
    counted = await _month_rows(
        session, brand_id=brand_id, leader_id=leader_id, community_id=community_id, months=months
    )
    return BrandDashboard(
        first_day=first, last_day=last, today=today, leader_id=leader_id, community_id=community_id, totals=totals,
        days=days,
        leaders=await _leaders(session, brand_id=brand_id, first=first, last=last, complete=complete == "leaders"),
        months=[Repurchase(month, *counted.get(month, (0, 0))) for month in months],
        communities=await _communities(
            session, brand_id=brand_id, leader_id=leader_id, community_id=community_id, first=first, last=last,
            totals=totals, complete=complete == "communities",
        ),
    )
