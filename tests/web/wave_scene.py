"""The console's wave tests run on the demo plus fresh paid orders that no wave has taken yet: neighbours of
小李 (云顶华府) and of 王姐 (翠湖花园) buy tonight's strawberries and oranges at the listings' live price."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.catalog.models import Product, Sku
from linli.context import AppContext
from linli.demo.cast import neighbour
from linli.fulfillment import waves
from linli.fulfillment.models import DeliveryWave, Parcel
from linli.live.models import Listing
from linli.orders import service as orders
from linli.pagination import PageParams
from linli.payments import service as payments
from linli.payments import simulator
from linli.worker import run_until_idle

STRAWBERRY, ORANGE = "黄金奶油草莓", "爱媛果冻橙"
# (neighbour index, product, quantity), one order each: 1 and 2 are 小李's neighbours (2 orders for 1, so one bag
# holds two lines), 15 is 王姐's (翠湖花园: another pickup point, never in 云顶华府's wave).
TONIGHTS_ORDERS = ((1, ORANGE, 2), (2, STRAWBERRY, 3), (1, STRAWBERRY, 1), (15, ORANGE, 4))


async def listing_of(ctx: AppContext, brand_id: int, product: str) -> int:
    async with ctx.db.read() as s:
        listing_id = await s.scalar(
            select(Listing.id).join(Sku, Sku.id == Listing.sku_id).join(Product, Product.id == Sku.product_id)
            .where(Listing.brand_id == brand_id, Product.name == product, Listing.status == "active")
        )
    assert listing_id is not None, product
    return listing_id


async def buy_tonight(
    ctx: AppContext, brand_id: int, orders_to_place: tuple[tuple[int, str, int], ...] = TONIGHTS_ORDERS
) -> list[int]:
    """Places and pays each order (the simulator), then lets the worker make their parcels; the order ids."""
    order_ids = []
    for number, (index, product, quantity) in enumerate(orders_to_place):
        phone, _ = neighbour(index)
        listing_id = await listing_of(ctx, brand_id, product)
        now = ctx.clock.now()
        async with ctx.db.transaction() as s:
            user = await accounts.find_user_by_phone(session=s, phone=phone)
            assert user is not None
            placed = await orders.place_order(
                session=s, user_id=user.id, listing_id=listing_id, offer_id=None, quantity=quantity,
                idempotency_key=f"wave-page-{number}", pickup_community_id=None,
                payment_ttl=timedelta(minutes=ctx.settings.order_payment_minutes), now=now,
            )
            opened = await payments.open_payment(
                session=s, providers=ctx.payments, provider_name="simulator", user_id=user.id, order_id=placed.order.id,
                now=now,
            )
        await simulator.complete(ctx=ctx, out_trade_no=opened.payment.out_trade_no, outcome="success")
        order_ids.append(placed.order.id)
    await run_until_idle(ctx)
    ctx.clock.advance(timedelta(minutes=5))  # the cut-off the form offers (this minute) is after the payments
    return order_ids


async def community_named(ctx: AppContext, brand_id: int, name: str) -> int:
    async with ctx.db.read() as s:
        rows, _ = await brands.list_communities(session=s, brand_id=brand_id, params=PageParams(page=1, page_size=50))
    return next(c.id for c, _ in rows if c.name == name)


async def waves_of(ctx: AppContext, brand_id: int) -> list[DeliveryWave]:
    async with ctx.db.read() as s:
        rows = await s.scalars(select(DeliveryWave).where(DeliveryWave.brand_id == brand_id).order_by(DeliveryWave.id))
        return list(rows)


async def parcels_of(ctx: AppContext, order_ids: list[int]) -> list[Parcel]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(Parcel).where(Parcel.order_id.in_(order_ids)).order_by(Parcel.order_id)))


async def cut_by_service(ctx: AppContext, brand_id: int, community_id: int, staff_user_id: int) -> DeliveryWave:
    """Tonight's wave for one pickup point, cut as the API cuts it (for tests about who may move it)."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        return await waves.create_wave(
            session=s, brand_id=brand_id, community_id=community_id, cutoff_at=now, arrive_after=now + timedelta(hours=12),
            actor_user_id=staff_user_id, now=now,
        )
