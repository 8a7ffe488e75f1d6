"""Read-only order counts for other contexts: the live-room funnel, who paid in a community (its group's invites)."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.orders.models import Order


async def session_funnel_orders(*, session: AsyncSession, session_id: int) -> dict[int | None, tuple[int, int]]:
    """Per attributed leader (None: unbound members): (orders placed in the session, orders ever paid).

    "Ever paid" counts orders that reached `paid`, refunded ones included: the funnel measures
    conversion, refunds are an after-sales figure.
    """
    rows = await session.execute(
        select(
            Order.leader_id,
            func.count(),
            func.coalesce(func.sum(case((Order.paid_at.is_not(None), 1), else_=0)), 0),
        )
        .where(Order.session_id == session_id)
        .group_by(Order.leader_id)
    )
    return {leader_id: (int(placed), int(paid)) for leader_id, placed, paid in rows.all()}


async def first_paid_orders_in_community(*, session: AsyncSession, community_id: int) -> list[tuple[int, int, int]]:
    """(member id, user id, first paid order id) of every member who ever paid an order picked up in the community,
    refunded ones included (the community group invites them once it can be joined)."""
    rows = await session.execute(
        select(Order.member_id, Order.user_id, func.min(Order.id))
        .where(Order.community_id == community_id, Order.paid_at.is_not(None))
        .group_by(Order.member_id, Order.user_id)
        .order_by(func.min(Order.id))
    )
    return [(int(m), int(u), int(o)) for m, u, o in rows.all()]
