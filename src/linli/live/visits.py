"""Visits (a viewer opens the room, maybe through a leader's invite code, which also binds) and the
per-leader funnel: views, entries, orders, paid orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.attribution import service as attribution
from linli.brands import service as brands
from linli.errors import DomainError, InvalidInput
from linli.leaders import invite_codes
from linli.leaders import service as leaders
from linli.leaders.models import Leader
from linli.live import service
from linli.live.models import RoomVisit


ENTRY_MESSAGES = {
    "bound": "绑定成功，之后的订单都算在这位团长名下",
    "rebound": "已改绑到这位团长",
    "already_yours": "您已是这位团长的邻居",
    "own_code": "这是您自己的邀请码，本次进入已计入浏览，不做绑定",
}


@dataclass(frozen=True)
class VisitOutcome:
    visit: RoomVisit
    leader: Leader | None  # the leader whose code brought the viewer
    leader_card: dict[str, Any] | None  # id, name, community_name, badge: what the room shows of them
    entry: attribution.EntryOutcome | None  # the binding outcome for a logged-in viewer with a code
    own_code: bool = False  # a leader opened their own link: counted, never bound


async def record_visit(
    *, session: AsyncSession, session_id: int, user_id: int | None, invite_code: str | None, now: datetime
) -> VisitOutcome:
    """A viewer opens the room, anonymous or logged in, through an invite code or not.

    With a code the visit counts for the code's leader (a code of another brand is refused); a logged-in
    viewer is also entered through the code, so that opening the room by the link binds first touch.
    """
    live = await service.get_session(session=session, session_id=session_id)
    leader = None
    entry = None
    own_code = False
    if invite_code is not None and invite_code.strip():
        resolved = await invite_codes.resolve(session=session, raw_code=invite_code, now=now)
        leader = resolved.leader
        if leader.brand_id != live.brand_id:
            raise InvalidInput("该邀请码不属于本品牌", code="invite_code_other_brand")
        if user_id is not None:
            try:
                entry = await attribution.enter_with_code(session=session, user_id=user_id, raw_code=invite_code, now=now)
            except DomainError as exc:
                if exc.code != "self_binding":
                    raise
                own_code = True
    visit = RoomVisit(session_id=live.id, user_id=user_id, leader_id=leader.id if leader else None, visited_at=now)
    session.add(visit)
    await session.flush()
    card = await service.leader_card(session=session, leader=leader) if leader is not None else None
    return VisitOutcome(visit=visit, leader=leader, leader_card=card, entry=entry, own_code=own_code)


@dataclass
class FunnelRow:
    leader_id: int | None
    leader_name: str = ""
    community_name: str = ""
    views: int = 0
    entries: int = 0
    orders: int = 0
    paid_orders: int = 0


@dataclass
class Funnel:
    session_id: int
    rows: list[FunnelRow] = field(default_factory=list)

    @property
    def totals(self) -> FunnelRow:
        total = FunnelRow(leader_id=None, leader_name="合计")
        for row in self.rows:
            total.views += row.views
            total.entries += row.entries
            total.orders += row.orders
            total.paid_orders += row.paid_orders
        return total


async def funnel(*, session: AsyncSession, brand_id: int, session_id: int) -> Funnel:
    """Per leader: views (room visits through their code), entries (distinct logged-in viewers through
    it), orders placed in the session attributed to them and how many of those were paid.
    The row with leader None is everyone who came without a code or ordered unbound."""
    from linli.orders.stats import session_funnel_orders

    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id)
    views = dict(
        (
            await session.execute(
                select(RoomVisit.leader_id, func.count()).where(RoomVisit.session_id == live.id).group_by(RoomVisit.leader_id)
            )
        ).all()
    )
    entries = dict(
        (
            await session.execute(
                select(RoomVisit.leader_id, func.count(func.distinct(RoomVisit.user_id)))
                .where(RoomVisit.session_id == live.id, RoomVisit.user_id.is_not(None))
                .group_by(RoomVisit.leader_id)
            )
        ).all()
    )
    orders = await session_funnel_orders(session=session, session_id=live.id)
    leader_ids = {k for k in (*views, *entries, *orders) if k is not None}
    leader_rows = await leaders.leaders_by_ids(session=session, leader_ids=leader_ids)
    faces = await service.leader_faces(session, leader_rows)
    communities = await brands.communities_by_ids(
        session=session, community_ids={x.community_id for x in leader_rows.values()}
    )
    rows = []
    for leader_id in sorted(leader_ids) + [None]:
        placed, paid = orders.get(leader_id, (0, 0))
        row = FunnelRow(
            leader_id=leader_id, views=int(views.get(leader_id, 0)), entries=int(entries.get(leader_id, 0)),
            orders=placed, paid_orders=paid,
        )
        if leader_id is None:
            row.leader_name = "未经团长邀请"
        else:
            leader = leader_rows[leader_id]
            row.leader_name = faces.get(leader_id, "")
            row.community_name = communities[leader.community_id].name if leader.community_id in communities else ""
        rows.append(row)
    return Funnel(session_id=live.id, rows=rows)


def entry_message(outcome: VisitOutcome) -> str:
    """What entering through the code did, for the viewer (the API's `entry.message`, the room's notice):
    own code, bound, rebound, already yours, or why not; "" when there was no entry."""
    if outcome.own_code:
        return ENTRY_MESSAGES["own_code"]
    entry = outcome.entry
    if entry is None:
        return ""
    if entry.result == "refused":
        return f"{attribution.REASON_TEXT[entry.reason]}。您可以正常观看和购买，归属不变"
    return ENTRY_MESSAGES[entry.result]
