"""A live session with a listing and a community offer, for order tests.

Rows are written with the live and catalog models directly so that the orders tests do not depend
on the live context's staff API; `sold` starts at zero and only the reservation statements move it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from linli.attribution import service as attribution
from linli.catalog.models import Product, Sku
from linli.live.models import CommunityOffer, Listing, LiveSession
from linli.orders.models import Order
from tests.factories import Actor, LeaderRef, World


@dataclass
class Stage:
    brand_id: int
    owner: Actor
    leader: LeaderRef
    other_leader: LeaderRef
    session_id: int
    listing_id: int
    offer_id: int
    sku_id: int
    community_id: int


async def build_stage(
    world: World,
    *,
    quota: int = 100,
    allocation: int = 500,
    stock: int = 1000,
    per_member_limit: int = 2,
    price_fen: int = 6800,
    live_price_fen: int = 8800,
    session_status: str = "live",
) -> Stage:
    ctx = world.ctx
    brand = await world.brand()
    owner = await world.staff(brand)
    community = await world.community(brand, "云顶华府")
    other_community = await world.community(brand, "翠湖花园")
    leader = await world.leader(brand, community, approver=owner, name="小李")
    other = await world.leader(brand, other_community, approver=owner, name="王姐")
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        product = Product(brand_id=brand, name="黄金奶油草莓", description="丹东 99 草莓", images=[], created_at=now)
        s.add(product)
        await s.flush()
        sku = Sku(brand_id=brand, product_id=product.id, name="500g/盒", list_price_fen=9800, stock_quantity=stock, created_at=now)
        live = LiveSession(
            brand_id=brand, title="黄金奶油草莓专场", scheduled_start_at=now, status=session_status,
            phases=[{"code": "group_buy", "title": "社区专享团购", "minutes": 25}], current_phase=0,
            started_at=now, created_at=now,
        )
        s.add_all([sku, live])
        await s.flush()
        listing = Listing(
            brand_id=brand, session_id=live.id, sku_id=sku.id, live_price_fen=live_price_fen, allocation=allocation,
            created_at=now,
        )
        s.add(listing)
        await s.flush()
        offer = CommunityOffer(
            brand_id=brand, session_id=live.id, listing_id=listing.id, community_id=community, leader_id=leader.leader_id,
            title="云顶华府邻居专享", price_fen=price_fen, quota=quota, per_member_limit=per_member_limit,
            starts_at=now, ends_at=now + timedelta(hours=2), status="open", opened_at=now, created_at=now,
        )
        s.add(offer)
        await s.flush()
    return Stage(
        brand_id=brand, owner=owner, leader=leader, other_leader=other, session_id=live.id, listing_id=listing.id,
        offer_id=offer.id, sku_id=sku.id, community_id=community,
    )


async def bound_member(world: World, leader: LeaderRef) -> Actor:
    member = await world.user()
    async with world.ctx.db.transaction() as s:
        outcome = await attribution.enter_with_code(
            session=s, user_id=member.user_id, raw_code=leader.code, now=world.ctx.clock.now()
        )
    assert outcome.result == "bound"
    return member


@dataclass
class Counters:
    offer_sold: int
    listing_sold: int
    stock: int
    offer_held: int
    listing_held: int


async def counters(world: World, stage: Stage) -> Counters:
    """The stored counters and what the orders say they should be."""
    async with world.ctx.db.read() as s:
        offer = await s.get(CommunityOffer, stage.offer_id, populate_existing=True)
        listing = await s.get(Listing, stage.listing_id, populate_existing=True)
        sku = await s.get(Sku, stage.sku_id, populate_existing=True)
        orders = (await s.scalars(select(Order).where(Order.listing_id == stage.listing_id))).all()
    holding = [o for o in orders if o.status in ("pending_payment", "paid")]
    return Counters(
        offer_sold=offer.sold,
        listing_sold=listing.sold,
        stock=sku.stock_quantity,
        offer_held=sum(o.quantity for o in holding if o.offer_id == stage.offer_id),
        listing_held=sum(o.quantity for o in holding),
    )


async def assert_invariants(world: World, stage: Stage, *, initial_stock: int, quota: int, allocation: int) -> Counters:
    c = await counters(world, stage)
    assert 0 <= c.offer_sold <= quota
    assert 0 <= c.listing_sold <= allocation
    assert c.stock >= 0
    assert c.offer_sold == c.offer_held
    assert c.listing_sold == c.listing_held
    assert c.stock + c.listing_held == initial_stock
    return c
