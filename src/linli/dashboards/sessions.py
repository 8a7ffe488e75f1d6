"""The brand's live-session figures (docs/kpis.md): each session's GMV against its communities' GMV outside
any session in the 28 days before it, the GMV per pickup community, and the funnel per session and per leader.

Read from the roll-ups (`dash_sessions`, `dash_session_communities`, `dash_session_leaders`,
`dash_community_days`), never from a range's raw orders or visits. A session still live has no funnel kept yet
(it is written when the session ends): its funnel is read from its own visits and orders by index
(live.visits.funnel), one session at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.dashboards import ranking
from linli.dashboards.brand import date_range
from linli.dashboards.models import CommunityDay, SessionCommunity, SessionFigures, SessionLeader
from linli.dashboards.rollups import brand_zone
from linli.leaders import service as leaders
from linli.live import service as live_service
from linli.live import visits
from linli.live.models import LiveSession

BASELINE_DAYS = 28
TOP_COMMUNITIES = 20
TOP_LEADERS = 50
SHOWN_STATUSES = ("live", "ended")


@dataclass(frozen=True)
class Funnel:
    views: int = 0
    entries: int = 0
    orders: int = 0  # placed in the session, whatever became of them
    paid_orders: int = 0  # of them, ever paid (refunded ones included)

    def __add__(self, other: Funnel) -> Funnel:
        return Funnel(self.views + other.views, self.entries + other.entries, self.orders + other.orders,
                      self.paid_orders + other.paid_orders)

    def __sub__(self, other: Funnel) -> Funnel:
        return Funnel(self.views - other.views, self.entries - other.entries, self.orders - other.orders,
                      self.paid_orders - other.paid_orders)


@dataclass(frozen=True)
class LeaderFunnel:
    leader_id: int
    name: str  # the leader's real name
    funnel: Funnel


def multiple_bp(gmv_fen: int, baseline_fen: int) -> int | None:
    """GMV as a multiple of one baseline day (the 28 days' GMV ÷ 28), in basis points, rounded down; None when
    the baseline is nothing."""
    if baseline_fen <= 0:
        return None
    return gmv_fen * BASELINE_DAYS * 10_000 // baseline_fen


@dataclass(frozen=True)
class CommunityInSession:
    community_id: int
    name: str
    orders: int  # paid orders of the session picked up there
    paid_fen: int
    refunded_fen: int
    baseline_fen: int  # its GMV outside any session over the 28 days before the session's start day

    @property
    def gmv_fen(self) -> int:
        return self.paid_fen - self.refunded_fen


@dataclass(frozen=True)
class SessionKpi:
    session_id: int
    title: str
    status: str
    started_at: datetime  # when it started (or, never started, was scheduled to)
    start_day: date  # in the brand's time zone
    orders: int  # paid orders placed in the session, whenever paid
    paid_fen: int
    refunded_fen: int
    communities: list[CommunityInSession]
    funnel: Funnel

    @property
    def gmv_fen(self) -> int:
        return self.paid_fen - self.refunded_fen

    @property
    def baseline_fen(self) -> int:
        return sum(c.baseline_fen for c in self.communities)

    @property
    def baseline_day_fen(self) -> int:
        return self.baseline_fen // BASELINE_DAYS

    @property
    def multiple_bp(self) -> int | None:
        return multiple_bp(self.gmv_fen, self.baseline_fen)


@dataclass(frozen=True)
class CommunityFigures(ranking.Net):
    community_id: int
    name: str
    orders: int
    paid_fen: int
    refunded_fen: int
    session_gmv_fen: int  # of the GMV, that of orders placed in a live session


@dataclass(frozen=True)
class CommunityTotals(ranking.Net):
    orders: int
    paid_fen: int
    refunded_fen: int
    session_gmv_fen: int


@dataclass(frozen=True)
class SessionsDashboard:
    first_day: date
    last_day: date
    today: date
    session_id: int | None
    sessions: list[SessionKpi]
    funnel: Funnel  # summed over the sessions
    leaders: list[LeaderFunnel]  # per leader over the sessions, the top 50
    unattributed: Funnel  # visits without a code, orders of unbound members
    communities: list[CommunityFigures]  # the range's top 20 by GMV
    community_totals: CommunityTotals  # every community of the range


def _start(live: LiveSession) -> datetime:
    return live.started_at or live.scheduled_start_at


async def _sessions_in(session: AsyncSession, *, brand_id: int, since: datetime, until: datetime) -> list[LiveSession]:
    return list(await session.scalars(
        select(LiveSession).where(
            LiveSession.brand_id == brand_id, LiveSession.status.in_(SHOWN_STATUSES),
            LiveSession.started_at >= since, LiveSession.started_at < until,
        ).order_by(LiveSession.started_at, LiveSession.id)
    ))


async def _baselines(
    session: AsyncSession, *, brand_id: int, community_ids: set[int], first: date, last: date
) -> dict[tuple[int, date], int]:
    """(community, day) → GMV of its orders outside any session paid that day, for days first..last."""
    if not community_ids:
        return {}
    rows = await session.execute(
        select(CommunityDay.community_id, CommunityDay.day, CommunityDay.paid_fen - CommunityDay.refunded_fen).where(
            CommunityDay.brand_id == brand_id, CommunityDay.community_id.in_(community_ids),
            CommunityDay.in_session.is_(False), CommunityDay.day.between(first, last),
        )
    )
    return {(community_id, day): int(gmv) for community_id, day, gmv in rows.all()}


async def _live_funnels(session: AsyncSession, *, brand_id: int, live: list[LiveSession]) -> dict[int, dict[int | None, Funnel]]:
    """The funnel of sessions not ended yet, per leader (None: no code / unbound), from their own rows."""
    out = {}
    for one in live:
        counted = await visits.funnel(session=session, brand_id=brand_id, session_id=one.id)
        out[one.id] = {r.leader_id: Funnel(r.views, r.entries, r.orders, r.paid_orders) for r in counted.rows}
    return out


async def _kept_leader_funnels(session: AsyncSession, *, ended_ids: set[int]) -> dict[int | None, Funnel]:
    if not ended_ids:
        return {}
    s = SessionLeader
    rows = await session.execute(
        select(s.leader_id, func.sum(s.views), func.sum(s.entries), func.sum(s.placed_orders), func.sum(s.orders))
        .where(s.session_id.in_(ended_ids)).group_by(s.leader_id)
    )
    return {leader_id: Funnel(*(int(n) for n in counts)) for leader_id, *counts in rows.all()}


async def _session_kpis(
    session: AsyncSession, *, brand_id: int, shown: list[LiveSession], zone: ZoneInfo
) -> tuple[list[SessionKpi], dict[int | None, Funnel]]:
    """Each session's figures, and the funnel per leader summed over them."""
    ids = {one.id for one in shown}
    kept = {r.session_id: r for r in await session.scalars(select(SessionFigures).where(SessionFigures.session_id.in_(ids)))}
    in_session: dict[int, list[SessionCommunity]] = {}
    for row in await session.scalars(select(SessionCommunity).where(SessionCommunity.session_id.in_(ids))):
        in_session.setdefault(row.session_id, []).append(row)
    start_days = {one.id: _start(one).astimezone(zone).date() for one in shown}
    community_ids = {row.community_id for rows in in_session.values() for row in rows}
    names = await brands.communities_by_ids(session=session, community_ids=community_ids)
    baseline = await _baselines(
        session, brand_id=brand_id, community_ids=community_ids,
        first=min(start_days.values()) - timedelta(days=BASELINE_DAYS), last=max(start_days.values()) - timedelta(days=1),
    ) if community_ids else {}
    live = [one for one in shown if one.status != "ended"]
    live_funnels = await _live_funnels(session, brand_id=brand_id, live=live)
    per_leader = await _kept_leader_funnels(session, ended_ids=ids - {one.id for one in live})
    out = []
    for one in shown:
        figures = kept.get(one.id)
        day = start_days[one.id]
        communities = sorted(
            (CommunityInSession(
                community_id=row.community_id, name=names[row.community_id].name, orders=row.orders,
                paid_fen=row.paid_fen, refunded_fen=row.refunded_fen,
                baseline_fen=sum(baseline.get((row.community_id, day - timedelta(days=n)), 0)
                                 for n in range(1, BASELINE_DAYS + 1)),
            ) for row in in_session.get(one.id, [])),
            key=lambda c: (-c.gmv_fen, c.community_id),
        )
        if one.id in live_funnels:
            funnel = sum(live_funnels[one.id].values(), Funnel())
            for leader_id, counted in live_funnels[one.id].items():
                per_leader[leader_id] = per_leader.get(leader_id, Funnel()) + counted
        elif figures is not None:
            funnel = Funnel(figures.views, figures.entries, figures.placed_orders, figures.orders)
        else:
            funnel = Funnel()
        out.append(SessionKpi(
            session_id=one.id, title=one.title, status=one.status, started_at=_start(one), start_day=day,
            orders=figures.orders if figures else 0, paid_fen=figures.paid_fen if figures else 0,
            refunded_fen=figures.refunded_fen if figures else 0, communities=communities, funnel=funnel,
        ))
    return out, per_leader


async def _communities(
    session: AsyncSession, *, brand_id: int, first: date, last: date
) -> tuple[list[CommunityFigures], CommunityTotals]:
    """The range's best TOP_COMMUNITIES by GMV (dashboards.ranking, without grouping every community's days) with
    their session share, and the totals of every community (one sum over the range's community days)."""
    c = CommunityDay
    session_gmv = func.coalesce(func.sum(case((c.in_session, c.paid_fen - c.refunded_fen), else_=0)), 0)
    best = await ranking.top(session, ranking.COMMUNITIES, brand_id=brand_id, first=first, last=last,
                             count=TOP_COMMUNITIES)
    shares: dict[int, int] = {}
    if best:
        shares = {int(key): int(gmv) for key, gmv in (await session.execute(
            select(c.community_id, session_gmv)
            .where(c.community_id.in_([row.key for row in best]), c.day.between(first, last))
            .group_by(c.community_id)
        )).all()}
    names = await brands.communities_by_ids(session=session, community_ids={row.key for row in best})
    totals = (await session.execute(
        select(func.coalesce(func.sum(c.orders), 0), func.coalesce(func.sum(c.paid_fen), 0),
               func.coalesce(func.sum(c.refunded_fen), 0), session_gmv)
        .where(c.brand_id == brand_id, c.day.between(first, last))
    )).one()
    return (
        [CommunityFigures(row.key, names[row.key].name, row.orders, row.paid_fen, row.refunded_fen,
                          shares.get(row.key, 0)) for row in best],
        CommunityTotals(*(int(n) for n in totals)),
    )


async def sessions_dashboard(
    *, session: AsyncSession, brand_id: int, date_from: str | None, date_to: str | None, session_id: int | None,
    now: datetime,
) -> SessionsDashboard:
    """The sessions started in the range (or only `session_id`, 404 if not the brand's), their funnel per
    leader, and the range's GMV per community; a bad range is 422 as for the brand's dashboard."""
    zone = await brand_zone(session=session, brand_id=brand_id)
    today = now.astimezone(zone).date()
    first, last = date_range(date_from=date_from, date_to=date_to, today=today)
    if session_id is not None:
        shown = [await live_service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id)]
    else:
        shown = await _sessions_in(session, brand_id=brand_id, since=datetime.combine(first, time(), zone),
                                   until=datetime.combine(last + timedelta(days=1), time(), zone))
    kpis, per_leader = await _session_kpis(session, brand_id=brand_id, shown=shown, zone=zone)
    funnel = sum((k.funnel for k in kpis), Funnel())
    attributed = {leader_id: f for leader_id, f in per_leader.items() if leader_id is not None}
    top = sorted(attributed.items(), key=lambda item: (-item[1].paid_orders, -item[1].orders, -item[1].views, item[0]))
    names = await leaders.leaders_by_ids(session=session, leader_ids={leader_id for leader_id, _ in top[:TOP_LEADERS]})
    communities, community_totals = await _communities(session, brand_id=brand_id, first=first, last=last)
    return SessionsDashboard(
        first_day=first, last_day=last, today=today, session_id=session_id, sessions=kpis, funnel=funnel,
        leaders=[LeaderFunnel(leader_id, names[leader_id].real_name, f) for leader_id, f in top[:TOP_LEADERS]],
        unattributed=funnel - sum(attributed.values(), Funnel()),
        communities=communities, community_totals=community_totals,
    )
