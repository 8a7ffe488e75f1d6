"""A live shop for payment tests: a brand, 云顶华府 with leader 小李, a live session with a listing and an offer.

The catalog and live rows are inserted through the models (the live services are written in
parallel); orders are placed with `orders.service.place_order`, exactly as the API does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from linli.attribution import service as attribution
from linli.catalog.models import Product, Sku
from linli.context import AppContext
from linli.live.models import CommunityOffer, Listing, LiveSession
from linli.orders import service as orders
from linli.orders.models import Order, OrderStatusChange
from linli.outbox.models import OutboxEvent
from linli.payments.models import Payment, PaymentCallback, Refund
from linli.payments.simulator import SimulatorProvider
from tests.factories import Actor, LeaderRef, World

PRICE_FEN = 6800  # 68 yuan a box


@dataclass
class Shop:
    brand_id: int
    owner: Actor
    community_id: int
    leader: LeaderRef
    session_id: int
    sku_id: int
    listing_id: int
    offer_id: int
    stranger: Actor = field(default=None)  # type: ignore[assignment]


async def add_listing(ctx: AppContext, shop_brand: int, session_id: int, *, allocation: int, stock: int = 1000) -> tuple[int, int]:
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        product = Product(brand_id=shop_brand, category_id=None, name="黄金奶油草莓", description="", images=[], created_at=now)
        s.add(product)
        await s.flush()
        sku = Sku(brand_id=shop_brand, product_id=product.id, name="3斤装", list_price_fen=8800, stock_quantity=stock, created_at=now)
        s.add(sku)
        await s.flush()
        listing = Listing(
            brand_id=shop_brand, session_id=session_id, sku_id=sku.id, live_price_fen=PRICE_FEN, allocation=allocation,
            per_member_limit=None, created_at=now,
        )
        s.add(listing)
        await s.flush()
        return sku.id, listing.id


async def build_shop(ctx: AppContext, world: World, *, allocation: int = 100, quota: int = 100) -> Shop:
    brand = await world.brand()
    owner = await world.staff(brand)
    community = await world.community(brand, "云顶华府")
    leader = await world.leader(brand, community, approver=owner, name="小李")
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        live = LiveSession(
            brand_id=brand, title="黄金奶油草莓专场", scheduled_start_at=now, status="live",
            phases=[{"code": "story", "title": "品牌故事", "minutes": 20}], current_phase=0, phase_started_at=now,
            started_at=now, created_at=now,
        )
        s.add(live)
        await s.flush()
        session_id = live.id
    sku_id, listing_id = await add_listing(ctx, brand, session_id, allocation=allocation)
    async with ctx.db.transaction() as s:
        offer = CommunityOffer(
            brand_id=brand, session_id=session_id, listing_id=listing_id, community_id=community, leader_id=leader.leader_id,
            title="云顶华府专享", price_fen=PRICE_FEN, quota=quota, per_member_limit=5, starts_at=now,
            ends_at=now + timedelta(days=1), status="open", opened_at=now, created_at=now,
        )
        s.add(offer)
        await s.flush()
        offer_id = offer.id
    shop = Shop(brand, owner, community, leader, session_id, sku_id, listing_id, offer_id)
    shop.stranger = await world.user(name="路人")
    return shop


@pytest.fixture
async def shop(ctx: AppContext, world: World) -> Shop:
    return await build_shop(ctx, world)


@pytest.fixture
def sim(ctx: AppContext) -> SimulatorProvider:
    provider = ctx.payments["simulator"]
    assert isinstance(provider, SimulatorProvider)
    return provider


@pytest.fixture(autouse=True)
async def _drain_simulator(ctx: AppContext):
    """No delayed delivery may outlive its test (it would write into the next test's database)."""
    yield
    provider = ctx.payments.get("simulator")
    if isinstance(provider, SimulatorProvider):
        await provider.drain()


async def member(ctx: AppContext, world: World, shop: Shop, *, bound: bool = True, name: str = "邻居") -> Actor:
    actor = await world.user(name=name)
    if bound:
        async with ctx.db.transaction() as s:
            outcome = await attribution.enter_with_code(session=s, user_id=actor.user_id, raw_code=shop.leader.code, now=ctx.clock.now())
        assert outcome.binding is not None
    return actor


async def place(
    ctx: AppContext, shop: Shop, actor: Actor, *, offer: bool = False, quantity: int = 1, listing_id: int | None = None
) -> Order:
    async with ctx.db.transaction() as s:
        placed = await orders.place_order(
            session=s, user_id=actor.user_id,
            listing_id=None if offer else (listing_id or shop.listing_id),
            offer_id=shop.offer_id if offer else None,
            quantity=quantity, idempotency_key=f"key-{uuid.uuid4().hex[:16]}",
            pickup_community_id=shop.community_id,
            payment_ttl=timedelta(minutes=ctx.settings.order_payment_minutes), now=ctx.clock.now(),
        )
    return placed.order


async def start(http: httpx.AsyncClient, actor: Actor, order_id: int, provider: str | None = None) -> httpx.Response:
    body = {"provider": provider} if provider else {}
    return await http.post(f"/api/v1/orders/{order_id}/payments", json=body, headers=actor.headers)


async def pay(http: httpx.AsyncClient, actor: Actor, order_id: int, **complete: object) -> dict:
    """Start a simulator payment over HTTP and complete it; returns the completion response."""
    started = await start(http, actor, order_id)
    assert started.status_code in (200, 201), started.text
    done = await http.post(
        f"/api/v1/payments/simulator/{started.json()['out_trade_no']}/complete", json={"outcome": "success", **complete}
    )
    assert done.status_code == 200, done.text
    return done.json()


async def order_of(ctx: AppContext, order_id: int) -> Order:
    async with ctx.db.read() as s:
        order = await s.get(Order, order_id)
        assert order is not None
        return order


async def rows(ctx: AppContext, model: type, *where: object) -> list:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(model).where(*where).order_by(model.id)))


async def topics(ctx: AppContext, topic: str) -> list[OutboxEvent]:
    return await rows(ctx, OutboxEvent, OutboxEvent.topic == topic)


async def snapshot(ctx: AppContext) -> dict:
    """Everything a refused callback must leave untouched."""
    async with ctx.db.read() as s:
        counts = {
            m.__tablename__: await s.scalar(select(func.count()).select_from(m))
            for m in (Payment, Refund, PaymentCallback, OutboxEvent, OrderStatusChange)
        }
        counts["payment_statuses"] = sorted((p.id, p.status) for p in await s.scalars(select(Payment)))
        counts["order_statuses"] = sorted((o.id, o.status) for o in await s.scalars(select(Order)))
        counts["listing_sold"] = sorted((li.id, li.sold) for li in await s.scalars(select(Listing)))
        counts["offer_sold"] = sorted((o.id, o.sold) for o in await s.scalars(select(CommunityOffer)))
    return counts


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]
