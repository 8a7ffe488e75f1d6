"""The leader's live panel: while one of the brand's sessions is live, what the leader's community does in it.

Orders are the session's orders attributed to the leader (placed, whatever became of them, and how many of
them were paid, as the session's funnel counts them), GMV the paid ones' total less their refunds, the quota
left on the leader's open offers, and the funnel's views and entries through the leader's code. Read from
the session's own rows by index (`ix_orders_session_leader`, the visits of the session): a live figure, not a
period's roll-up. The page refreshes it when the room's stream says something happened (web/workbench_dashboard).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards.models import PaidOrder
from linli.live.models import CommunityOffer, LiveSession, RoomVisit
from linli.orders.models import Order


@dataclass(frozen=True)
class LivePanel:
    session_id: int
    title: str
    orders: int
    paid_orders: int
    gmv_fen: int
    quota_left: int
    open_offers: int
    views: int
    entries: int


async def leader_live_panel(*, session: AsyncSession, brand_id: int, leader_id: int) -> LivePanel | None:
    """The panel for the brand's live session (the one started last), or None when none is live."""
    live = await session.scalar(
        select(LiveSession).where(LiveSession.brand_id == brand_id, LiveSession.status == "live")
        .order_by(LiveSession.started_at.desc(), LiveSession.id.desc()).limit(1)
    )
    if live is None:
        return None
    mine = (Order.session_id == live.id, Order.leader_id == leader_id)
    placed, paid = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(case((Order.paid_at.is_not(None), 1), else_=0)), 0)).where(*mine)
        )
    ).one()
    gmv = await session.scalar(
        select(func.coalesce(func.sum(PaidOrder.paid_fen - PaidOrder.refunded_fen), 0)).where(
            PaidOrder.session_id == live.id, PaidOrder.leader_id == leader_id
        )
    )
    left, offers = (
        await session.execute(
            select(func.coalesce(func.sum(CommunityOffer.quota - CommunityOffer.sold), 0), func.count()).where(
                CommunityOffer.session_id == live.id, CommunityOffer.leader_id == leader_id, CommunityOffer.status == "open"
            )
        )
    ).one()
    views, entries = (
        await session.execute(
            select(func.count(), func.count(func.distinct(RoomVisit.user_id))).where(
                RoomVisit.session_id == live.id, RoomVisit.leader_id == leader_id
            )
        )
    ).one()
    return LivePanel(
        session_id=live.id, title=live.title, orders=int(placed), paid_orders=int(paid), gmv_fen=int(gmv or 0),
        quota_left=int(left), open_offers=int(offers), views=int(views), entries=int(entries),
    )
