"""The demo's evenings: last week's grapes (picked up and settled), tonight's strawberries (live), and a
wave of oranges that has reached 云顶华府's pickup point."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.catalog import service as catalog
from linli.clock import FixedClock
from linli.context import AppContext
from linli.demo.campaign import campaign_material
from linli.demo.cast import GRAPE_TITLE, STRAWBERRY_TITLE, XIAOLI_PHONE, neighbour
from linli.live import listings as live_listings
from linli.live import offers as live_offers
from linli.live import sessions as live_sessions
from linli.storage import FileStorage

# Neighbours of 小李 (by index) whose 爱媛果冻橙 has reached the pickup point: (index, quantity) per order.
# 13900000004 has two orders, to show verifying all of a member's orders at once. The strawberry offer is
# left untouched so the README's walkthrough (98 boxes left after buying 2) stays true.
DELIVERED_ORDERS = ((4, 1), (4, 2), (5, 1), (6, 1), (7, 3), (8, 1))
# Last week's grapes, bought by other neighbours of 小李, picked up the next day and settled since.
SETTLED_ORDERS = ((9, 2), (10, 1), (11, 2), (12, 1))


async def strawberry_session(
    s: AsyncSession, *, storage: FileStorage, brand_id: int, community_id: int, now: datetime
) -> int:
    """The article's evening: 黄金奶油草莓, 68 元 a box for 云顶华府's neighbours, first 100, live now, with its
    campaign material (the brand's copy, the poster cover). Returns the listing of oranges the arrived wave carries."""
    fruit = await catalog.create_category(session=s, brand_id=brand_id, name="时令水果", now=now)
    strawberry_sku = await _product(s, brand_id=brand_id, category_id=fruit.id, name="黄金奶油草莓",
                                    description="丹东 99 红颜，当天采摘冷链直发，坏果包赔。", sku="500g/盒",
                                    list_price_fen=9800, stock=300, now=now)
    citrus_sku = await _product(s, brand_id=brand_id, category_id=fruit.id, name="爱媛果冻橙",
                                description="果肉细嫩，一口爆汁。", sku="5 斤装", list_price_fen=5990, stock=200, now=now)
    session = await live_sessions.create_session(
        session=s, brand_id=brand_id,
        data=live_sessions.SessionInput(
            title=STRAWBERRY_TITLE, scheduled_start_at=now, stream_url="https://live.example.com/youlin/strawberry",
        ),
        now=now,
    )
    strawberry = await live_listings.add_listing(
        session=s, brand_id=brand_id, session_id=session.id, sku_id=strawberry_sku, live_price_fen=8800,
        allocation=200, per_member_limit=5, now=now,
    )
    citrus = await live_listings.add_listing(
        session=s, brand_id=brand_id, session_id=session.id, sku_id=citrus_sku, live_price_fen=4990,
        allocation=100, per_member_limit=None, now=now,
    )
    await live_sessions.start_session(session=s, brand_id=brand_id, session_id=session.id, now=now)
    await live_sessions.advance_phase(session=s, brand_id=brand_id, session_id=session.id, now=now)  # on to the group buy
    offer = await live_offers.create_offer(
        session=s, brand_id=brand_id, session_id=session.id,
        data=live_offers.OfferInput(
            listing_id=strawberry.listing.id, community_id=community_id, price_fen=6800, quota=100, per_member_limit=2,
            starts_at=now, ends_at=now + timedelta(days=30), title="云顶华府邻居专享·前 100 盒",
        ),
        now=now,
    )
    await live_offers.open_offer(session=s, brand_id=brand_id, session_id=session.id, offer_id=offer.offer.id, now=now)
    await campaign_material(s, storage=storage, brand_id=brand_id, session_id=session.id, now=now)
    return citrus.listing.id


async def last_weeks_evening(
    past: AppContext, *, brand_id: int, community_id: int, staff_user_id: int, now: datetime
) -> None:
    """A finished session of grapes, on `past`'s clock: bought, paid, delivered, picked up the next day, and
    settled by `now` (T+1), so that 小李 has commission to withdraw."""
    from linli.fulfillment import service as fulfillment
    from linli.fulfillment.pickup import verify_pickup
    from linli.ledger import settlement

    start = past.clock.now()
    async with past.db.transaction() as s:
        fruit = await catalog.create_category(session=s, brand_id=brand_id, name="精品鲜果", now=start)
        grape_sku = await _product(s, brand_id=brand_id, category_id=fruit.id, name="阳光玫瑰青提",
                                   description="云南建水，颗颗脆甜。", sku="1 斤装", list_price_fen=4990, stock=120,
                                   now=start)
        session = await live_sessions.create_session(
            session=s, brand_id=brand_id,
            data=live_sessions.SessionInput(title=GRAPE_TITLE, scheduled_start_at=start,
                                   stream_url="https://live.example.com/youlin/grapes"),
            now=start,
        )
        grapes = await live_listings.add_listing(
            session=s, brand_id=brand_id, session_id=session.id, sku_id=grape_sku, live_price_fen=3990,
            allocation=100, per_member_limit=None, now=start,
        )
        await live_sessions.start_session(session=s, brand_id=brand_id, session_id=session.id, now=start)
    order_ids = await _paid_orders(past, listing_id=grapes.listing.id, orders=SETTLED_ORDERS, key="demo-grapes")

    _at(past, start + timedelta(hours=1))
    async with past.db.transaction() as s:
        await live_sessions.end_session(session=s, brand_id=brand_id, session_id=session.id, now=past.clock.now())
    await _arrive(past, brand_id=brand_id, community_id=community_id, staff_user_id=staff_user_id,
                  cutoff=start + timedelta(hours=2), arrival=start + timedelta(hours=18))

    _at(past, start + timedelta(hours=20))
    async with past.db.transaction() as s:
        xiaoli = await accounts.find_user_by_phone(session=s, phone=XIAOLI_PHONE)
        assert xiaoli is not None
        for order_id in order_ids:
            parcel = await fulfillment.find_parcel(session=s, order_id=order_id)
            if parcel is not None and parcel.status == "arrived":
                await verify_pickup(session=s, brand_id=brand_id, user_id=xiaoli.id, raw_code=parcel.pickup_code,
                                    all_of_member=True, now=past.clock.now())
    await _run_worker(past)
    await settlement.settle_due(db=past.db, as_of=now, now=now)


async def arrived_wave(
    tonight: AppContext, *, brand_id: int, community_id: int, listing_id: int, staff_user_id: int
) -> None:
    """Oranges bought by 小李's neighbours as the session opened, on `tonight`'s clock: paid through the
    simulator, cut into a wave ten minutes later, arrived at the pickup point when it was expected."""
    start = tonight.clock.now()
    _at(tonight, start + timedelta(minutes=5))
    await _paid_orders(tonight, listing_id=listing_id, orders=DELIVERED_ORDERS, key="demo-delivered")
    await _arrive(tonight, brand_id=brand_id, community_id=community_id, staff_user_id=staff_user_id,
                  cutoff=start + timedelta(minutes=10), arrival=start + timedelta(minutes=50))


async def _product(
    s: AsyncSession, *, brand_id: int, category_id: int, name: str, description: str, sku: str,
    list_price_fen: int, stock: int, now: datetime,
) -> int:
    _, skus = await catalog.create_product(
        session=s, brand_id=brand_id,
        product=catalog.ProductInput(
            name=name, description=description, category_id=category_id,
            skus=[catalog.SkuInput(name=sku, list_price_fen=list_price_fen, stock_quantity=stock)],
        ),
        now=now,
    )
    return skus[0].id


async def _paid_orders(ctx: AppContext, *, listing_id: int, orders: tuple[tuple[int, int], ...], key: str) -> list[int]:
    """Each neighbour (by index) orders `quantity` of the listing and pays through the simulator."""
    from linli.orders import service as order_service
    from linli.payments import service as payments
    from linli.payments import simulator

    order_ids = []
    for number, (index, quantity) in enumerate(orders):
        phone, _ = neighbour(index)
        now = ctx.clock.now()
        async with ctx.db.transaction() as s:
            user = await accounts.find_user_by_phone(session=s, phone=phone)
            assert user is not None
            placed = await order_service.place_order(
                session=s, user_id=user.id, listing_id=listing_id, offer_id=None, quantity=quantity,
                idempotency_key=f"{key}-{number}", pickup_community_id=None,
                payment_ttl=timedelta(minutes=ctx.settings.order_payment_minutes), now=now,
            )
            opened = await payments.open_payment(
                session=s, providers=ctx.payments, provider_name="simulator", user_id=user.id,
                order_id=placed.order.id, now=now,
            )
        await simulator.complete(ctx=ctx, out_trade_no=opened.payment.out_trade_no, outcome="success")
        order_ids.append(placed.order.id)
    await _run_worker(ctx)  # parcels and commission for the paid orders
    return order_ids


async def _arrive(
    ctx: AppContext, *, brand_id: int, community_id: int, staff_user_id: int, cutoff: datetime, arrival: datetime
) -> None:
    """A wave of everything paid by `cutoff`, packed and sent then, arriving at `arrival` as expected."""
    from linli.fulfillment import waves

    _at(ctx, cutoff)
    async with ctx.db.transaction() as s:
        wave = await waves.create_wave(
            session=s, brand_id=brand_id, community_id=community_id, cutoff_at=cutoff, arrive_after=arrival,
            actor_user_id=staff_user_id, now=cutoff,
        )
        for status in ("packed", "in_transit"):
            await waves.advance_wave(session=s, brand_id=brand_id, wave_id=wave.id, to=status, now=cutoff)
    _at(ctx, arrival)
    async with ctx.db.transaction() as s:
        await waves.advance_wave(session=s, brand_id=brand_id, wave_id=wave.id, to="arrived", now=arrival)
    await _run_worker(ctx)  # the members' "arrived" messages


def _at(ctx: AppContext, moment: datetime) -> None:
    """Moves a demo step's own clock (never the application's) to the moment it happened."""
    assert isinstance(ctx.clock, FixedClock)
    ctx.clock.set(moment)


async def _run_worker(ctx: AppContext) -> None:
    from linli.worker import run_until_idle

    await run_until_idle(ctx)

