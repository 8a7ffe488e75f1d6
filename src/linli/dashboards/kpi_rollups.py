"""The session, community and claim roll-ups, kept with the others (dashboards.rollups) and as idempotent.

`count_payment` and `count_refund` run inside `rollups.record_payment` / `record_refund`, only when those
counted their event for the first time, under the same lock of the order's row. `record_claim` (on
`claim.filed`) inserts the claim's row in `dash_applied_claims` first and counts only if that insert happened;
a claim handled before its order's payment is counted with the payment. `record_session_end` (on
`live.session_ended`) writes the ended session's funnel by overwriting, so running it again changes nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards.models import (
    AppliedClaim, CommunityDay, CommunityMonth, LeaderClaimDay, PaidOrder, ProductDay, SessionCommunity, SessionFigures, SessionLeader,
)
from linli.dashboards.upsert import bump, insert_new, put
from linli.live.models import LiveSession, RoomVisit
from linli.orders.models import Order

ENDED = "ended"


async def _claims_of(session: AsyncSession, order_id: int) -> int:
    return int(await session.scalar(select(func.count()).where(AppliedClaim.order_id == order_id)) or 0)


async def _bump_community(session: AsyncSession, fact: PaidOrder, *, orders: int, paid_fen: int, refunded_fen: int) -> None:
    changes = {"orders": orders, "paid_fen": paid_fen, "refunded_fen": refunded_fen}
    brand = {"brand_id": fact.brand_id}
    await bump(session, CommunityDay, also=brand, **changes, keys={
        "community_id": fact.community_id, "day": fact.paid_day, "in_session": fact.session_id is not None,
    })
    await bump(session, CommunityMonth, keys={"community_id": fact.community_id, "month": fact.paid_month}, also=brand,
               gmv_fen=paid_fen - refunded_fen, **changes)


async def count_payment(session: AsyncSession, *, fact: PaidOrder, product_id: int) -> None:
    """A paid order counted for the first time, with the refunds and claims already applied to it."""
    money = {"paid_fen": fact.paid_fen, "refunded_fen": fact.refunded_fen}
    brand = {"brand_id": fact.brand_id}
    if fact.session_id is not None:
        await bump(session, SessionFigures, keys={"session_id": fact.session_id}, also=brand, orders=1, **money)
        if fact.leader_id is not None:
            await bump(session, SessionLeader, keys={"session_id": fact.session_id, "leader_id": fact.leader_id},
                       also=brand, orders=1)
        if fact.community_id is not None:
            await bump(session, SessionCommunity, keys={"session_id": fact.session_id, "community_id": fact.community_id},
                       also=brand, orders=1, **money)
    if fact.community_id is not None:
        await _bump_community(session, fact, orders=1, **money)
    claims = await _claims_of(session, fact.order_id)
    await bump(session, ProductDay, keys={"product_id": product_id, "day": fact.paid_day}, also=brand,
               lines=1, claimed_lines=int(claims > 0), claims=claims)
    if fact.leader_id is not None and claims:
        await bump(session, LeaderClaimDay, keys={"leader_id": fact.leader_id, "day": fact.paid_day}, also=brand,
                   claimed_lines=1, claims=claims)


async def count_refund(session: AsyncSession, *, fact: PaidOrder, amount_fen: int) -> None:
    """A refund of an order already counted: off its session, session community and community day."""
    money = {"paid_fen": 0, "refunded_fen": amount_fen}
    brand = {"brand_id": fact.brand_id}
    if fact.session_id is not None:
        await bump(session, SessionFigures, keys={"session_id": fact.session_id}, also=brand, orders=0, **money)
        if fact.community_id is not None:
            await bump(session, SessionCommunity, keys={"session_id": fact.session_id, "community_id": fact.community_id},
                       also=brand, orders=0, **money)
    if fact.community_id is not None:
        await _bump_community(session, fact, orders=0, **money)


async def record_claim(*, session: AsyncSession, claim_id: int, order_id: int) -> bool:
    """Counts a filed claim once on its order's paid day; False if it was already counted."""
    order = await session.get(Order, order_id, with_for_update=True)
    if order is None:
        return False
    earlier = await _claims_of(session, order_id)
    if not await insert_new(session, AppliedClaim, claim_id=claim_id, order_id=order_id, brand_id=order.brand_id):
        return False
    fact = await session.get(PaidOrder, order_id)
    if fact is None:
        return True  # its payment, when it counts, counts this claim with it
    first = int(earlier == 0)
    brand = {"brand_id": fact.brand_id}
    await bump(session, ProductDay, keys={"product_id": order.product_id, "day": fact.paid_day}, also=brand,
               lines=0, claimed_lines=first, claims=1)
    if fact.leader_id is not None:
        await bump(session, LeaderClaimDay, keys={"leader_id": fact.leader_id, "day": fact.paid_day}, also=brand,
                   claimed_lines=first, claims=1)
    return True


def funnel_visits(*where: ColumnElement[bool]) -> Select:
    """(session, leader, brand, views, entries) of ended sessions: visits before the end, through a leader's code
    or none (leader None); entries are the distinct logged-in viewers of each leader's visits."""
    return (
        select(RoomVisit.session_id, RoomVisit.leader_id, LiveSession.brand_id, func.count().label("views"),
               func.count(func.distinct(RoomVisit.user_id)).label("entries"))
        .join(LiveSession, LiveSession.id == RoomVisit.session_id)
        .where(LiveSession.status == ENDED, RoomVisit.visited_at < LiveSession.ended_at, *where)
        .group_by(RoomVisit.session_id, RoomVisit.leader_id, LiveSession.brand_id)
    )


def funnel_orders(*where: ColumnElement[bool]) -> Select:
    """(session, leader, brand, orders placed) of ended sessions, per attributed leader (None: unbound)."""
    return (
        select(Order.session_id, Order.leader_id, LiveSession.brand_id, func.count().label("placed"))
        .join(LiveSession, LiveSession.id == Order.session_id)
        .where(LiveSession.status == ENDED, *where)
        .group_by(Order.session_id, Order.leader_id, LiveSession.brand_id)
    )


async def record_session_end(*, session: AsyncSession, session_id: int) -> bool:
    """Writes an ended session's funnel (views, entries, orders placed), in all and per leader; False if the
    session has not ended. Paid orders are the payments' (`count_payment`), so a late payment still counts."""
    live = await session.get(LiveSession, session_id)
    if live is None or live.status != ENDED:
        return False
    per_leader: dict[int | None, list[int]] = {}
    for _, leader_id, _, views, entries in (await session.execute(funnel_visits(RoomVisit.session_id == live.id))).all():
        per_leader.setdefault(leader_id, [0, 0, 0])[0:2] = [int(views), int(entries)]
    for _, leader_id, _, placed in (await session.execute(funnel_orders(Order.session_id == live.id))).all():
        per_leader.setdefault(leader_id, [0, 0, 0])[2] = int(placed)
    brand = {"brand_id": live.brand_id}
    totals = [sum(row[n] for row in per_leader.values()) for n in range(3)]
    # The session's row before its leaders' rows, as a payment writes them: two workers never wait on each other.
    await put(session, SessionFigures, keys={"session_id": live.id}, also=brand,
              views=totals[0], entries=totals[1], placed_orders=totals[2])
    for leader_id, (views, entries, placed) in sorted(per_leader.items(), key=lambda item: item[0] or 0):
        if leader_id is not None:
            await put(session, SessionLeader, keys={"session_id": live.id, "leader_id": leader_id}, also=brand,
                      views=views, entries=entries, placed_orders=placed)
    return True
