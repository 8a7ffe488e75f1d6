"""Members' purchase history as other contexts read it (the marketing context's interest groups): what each
member paid in a window, net of refunds, read from the paid-order roll-up (one row per paid order, kept by the
worker from `order.paid` and `payment.refunded`), and how much of it went to some categories or products."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.catalog.models import Product
from linli.dashboards.models import PaidOrder
from linli.orders.models import Order


async def members_with_focus(
    *, session: AsyncSession, brand_id: int, since: datetime, until: datetime, category_ids: list[int],
    product_ids: list[int], min_share_bp: int, min_focus_fen: int, min_focus_orders: int,
) -> set[int]:
    """The brand's members whose orders paid in (since, until] spent, net of refunds, at least `min_focus_fen` and
    at least `min_share_bp` basis points of all their spend on the focus (the categories or products named), in at
    least `min_focus_orders` orders. One grouped statement; a member who spent nothing in the window has no share."""
    net = PaidOrder.paid_fen - PaidOrder.refunded_fen
    in_focus = Product.category_id.in_(category_ids) if category_ids else Product.id.in_(product_ids)
    focus_net = func.coalesce(func.sum(case((in_focus, net), else_=0)), 0)
    total_net = func.coalesce(func.sum(net), 0)
    focus_orders = func.count(case((in_focus & (net > 0), PaidOrder.order_id)))
    query = (
        select(PaidOrder.member_id)
        .join(Order, Order.id == PaidOrder.order_id)
        .join(Product, Product.id == Order.product_id)
        .where(
            PaidOrder.brand_id == brand_id, PaidOrder.paid_at > since, PaidOrder.paid_at <= until,
            # The local day is within a day of the UTC one: this bound lets the (brand, day) index narrow the scan.
            PaidOrder.paid_day >= since.date() - timedelta(days=1), PaidOrder.paid_day <= until.date() + timedelta(days=1),
        )
        .group_by(PaidOrder.member_id)
        .having(
            total_net > 0, focus_net >= max(min_focus_fen, 1), focus_orders >= min_focus_orders,
            focus_net * 10_000 >= total_net * min_share_bp,
        )
    )
    return set(await session.scalars(query))
