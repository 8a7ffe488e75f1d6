"""The lean order path (issue 15): its statement budget, and what its per-process cache may never decide.

The cache keeps names and pickup points only; statuses, windows, quotas, limits and prices are read fresh or
judged by the guarded UPDATEs. Rows are changed here with plain SQL and no signal, the way another process's
commit looks to this one before its notification arrives, so a cache that decided anything would show it.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import update

from linli.catalog.models import Product, Sku
from linli.errors import DomainError
from linli.live.models import CommunityOffer, Listing, LiveSession
from linli.live.service import room_stream
from linli.orders import reservation, targets
from linli.outbox import signals
from tests.orders.setup import assert_invariants, bound_member, build_stage
from linli.bench.statements import StatementCounter

# Everything one HTTP order sends, token lookup included, BEGIN and COMMIT included (measured 2026-12-01:
# before the lean path an offer order was 26 on SQLite and 22 on PostgreSQL, a sold-out refusal 9 and 7).
ORDER_BUDGET = {"sqlite": 15, "postgresql": 7}
LISTING_ORDER_BUDGET = {"sqlite": 14, "postgresql": 7}
SOLD_OUT_BUDGET = {"sqlite": 6, "postgresql": 2}


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def place(client, actor, body):
    return await client.post("/api/v1/orders", json=body, headers={**actor.headers, **key()})


async def change(ctx, statement) -> None:
    async with ctx.db.transaction() as s:
        await s.execute(statement)


async def test_an_order_and_a_sold_out_refusal_stay_within_their_statement_budget(client, world, ctx):
    stage = await build_stage(world, quota=2)
    first, second, late = [await bound_member(world, stage.leader) for _ in range(3)]
    offer = {"offer_id": stage.offer_id, "quantity": 1}
    assert (await place(client, first, offer)).status_code == 201  # fills the cache
    engines = (ctx.db.engine, ctx.db.read_engine)
    with StatementCounter(*engines) as placing:
        assert (await place(client, second, offer)).status_code == 201
    with StatementCounter(*engines) as refusing:
        response = await place(client, late, offer)
    assert response.json()["error"]["code"] == "offer_sold_out"
    with StatementCounter(*engines) as listing_order:
        assert (await place(client, late, {"listing_id": stage.listing_id, "quantity": 1})).status_code == 201
    dialect = ctx.db.dialect
    assert placing.total <= ORDER_BUDGET[dialect], placing.sent
    assert listing_order.total <= LISTING_ORDER_BUDGET[dialect], listing_order.sent
    assert refusing.total <= SOLD_OUT_BUDGET[dialect], refusing.sent
    # The refusal reads who is asking and what is left in one statement, and writes or locks nothing.
    after_token = [s for s in refusing.queries if "AUTH_SESSIONS" not in s]
    assert len(after_token) == 1 and after_token[0].startswith("SELECT") and "FOR UPDATE" not in after_token[0]


async def test_a_warm_cache_never_sells_from_a_closed_offer_a_withdrawn_listing_or_an_ended_session(client, world, ctx):
    stage = await build_stage(world)
    buyer = await bound_member(world, stage.leader)
    offer, listing = {"offer_id": stage.offer_id, "quantity": 1}, {"listing_id": stage.listing_id, "quantity": 1}
    assert (await place(client, buyer, offer)).status_code == 201
    assert (await place(client, buyer, listing)).status_code == 201
    assert len(targets.cache_for_engine(ctx.db.engine)) > 0

    await change(ctx, update(CommunityOffer).where(CommunityOffer.id == stage.offer_id).values(status="closed"))
    assert (await place(client, buyer, offer)).json()["error"]["code"] == "offer_not_open"
    await change(ctx, update(Listing).where(Listing.id == stage.listing_id).values(status="withdrawn"))
    assert (await place(client, buyer, listing)).json()["error"]["code"] == "listing_withdrawn"
    await change(ctx, update(Listing).where(Listing.id == stage.listing_id).values(status="active"))
    await change(ctx, update(LiveSession).where(LiveSession.id == stage.session_id).values(status="ended"))
    assert (await place(client, buyer, listing)).json()["error"]["code"] == "session_not_live"
    await assert_invariants(world, stage, initial_stock=1000, quota=100, allocation=500)


async def test_the_listing_guard_itself_refuses_once_the_session_ended(world, ctx):
    """A listing order has no offer for end_session to close: the guarded update checks the session too."""
    stage = await build_stage(world)
    await change(ctx, update(LiveSession).where(LiveSession.id == stage.session_id).values(status="ended"))
    async with ctx.db.transaction() as s:
        try:
            await reservation.reserve(
                session=s, offer_id=None, listing_id=stage.listing_id, session_id=stage.session_id, sku_id=stage.sku_id,
                quantity=1, now=ctx.clock.now(),
            )
        except DomainError as exc:
            refused = exc.code
        else:
            refused = None
    assert refused == "session_not_live"
    await assert_invariants(world, stage, initial_stock=1000, quota=100, allocation=500)


async def test_a_price_changed_mid_session_is_the_price_charged(client, world, ctx):
    stage = await build_stage(world, price_fen=6800, live_price_fen=8800)
    buyer = await bound_member(world, stage.leader)
    offer, listing = {"offer_id": stage.offer_id, "quantity": 1}, {"listing_id": stage.listing_id, "quantity": 1}
    assert (await place(client, buyer, offer)).json()["unit_price_fen"] == 6800
    assert (await place(client, buyer, listing)).json()["unit_price_fen"] == 8800
    await change(ctx, update(CommunityOffer).where(CommunityOffer.id == stage.offer_id).values(price_fen=5900))
    await change(ctx, update(Listing).where(Listing.id == stage.listing_id).values(live_price_fen=7900))
    repriced_offer = (await place(client, await bound_member(world, stage.leader), offer)).json()
    repriced_listing = (await place(client, buyer, listing)).json()
    assert (repriced_offer["unit_price_fen"], repriced_offer["total_fen"]) == (5900, 5900)
    assert (repriced_listing["unit_price_fen"], repriced_listing["total_fen"]) == (7900, 7900)


async def _product_name_recorded(client, world, stage) -> str:
    response = await place(client, await bound_member(world, stage.leader), {"offer_id": stage.offer_id, "quantity": 1})
    assert response.status_code == 201, response.text
    return response.json()["product_name"]


async def _product_of(ctx, stage) -> int:
    async with ctx.db.read() as s:
        return (await s.get(Sku, stage.sku_id)).product_id


async def test_a_room_event_drops_the_sessions_cached_facts_and_order_traffic_does_not(client, world, ctx):
    stage = await build_stage(world)
    assert await _product_name_recorded(client, world, stage) == "黄金奶油草莓"
    product_id = await _product_of(ctx, stage)
    await change(ctx, update(Product).where(Product.id == product_id).values(name="红颜草莓"))
    # No signal yet: the cached name is still used (within its time to live).
    assert await _product_name_recorded(client, world, stage) == "黄金奶油草莓"
    for topics in ({"live.stock"}, {"live.order_ticker", "live.stock"}, {"live.comment"}):
        signals.publish(room_stream(stage.session_id), frozenset(topics))
    signals.publish(room_stream(stage.session_id + 1000), frozenset())  # another room
    signals.publish("order:1", frozenset())  # not a room
    assert await _product_name_recorded(client, world, stage) == "黄金奶油草莓"
    signals.publish(room_stream(stage.session_id), frozenset({"live.stock", "live.listing_updated"}))
    assert await _product_name_recorded(client, world, stage) == "红颜草莓"
    await change(ctx, update(Product).where(Product.id == product_id).values(name="章姬草莓"))
    signals.publish(room_stream(stage.session_id), frozenset())  # topics unknown: anything may have changed
    assert await _product_name_recorded(client, world, stage) == "章姬草莓"


async def test_cached_facts_expire_after_their_time_to_live(client, world, ctx):
    stage = await build_stage(world)
    cache = targets.cache_for_engine(ctx.db.engine)
    now = [1000.0]
    cache.monotonic = lambda: now[0]
    assert await _product_name_recorded(client, world, stage) == "黄金奶油草莓"
    product_id = await _product_of(ctx, stage)
    await change(ctx, update(Product).where(Product.id == product_id).values(name="红颜草莓"))
    now[0] += cache.ttl_seconds - 0.01
    assert await _product_name_recorded(client, world, stage) == "黄金奶油草莓"
    now[0] += 0.02
    assert await _product_name_recorded(client, world, stage) == "红颜草莓"


def test_the_cache_on_its_own():
    now = [0.0]
    cache = targets.SaleCache(ttl_seconds=2.0, monotonic=lambda: now[0])
    cache.put("a", 1, session_id=7)
    cache.put("b", 2, session_id=8)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, 2, None)
    cache.on_committed(room_stream(7), frozenset({"live.stock"}))
    assert cache.get("a") == 1
    cache.on_committed(room_stream(7), frozenset({"live.offer_opened"}))
    assert (cache.get("a"), cache.get("b")) == (None, 2)
    now[0] = 2.0
    assert cache.get("b") is None and len(cache) == 0


async def test_listing_orders_racing_the_end_of_the_session_never_oversell(client, world, ctx):
    from linli.live import sessions as live_sessions

    stage = await build_stage(world, allocation=40, stock=40)
    buyers = [await bound_member(world, stage.leader) for _ in range(10)]

    async def buy(member) -> str:
        response = await place(client, member, {"listing_id": stage.listing_id, "quantity": 2})
        return "ok" if response.status_code == 201 else response.json()["error"]["code"]

    async def end() -> str:
        async with ctx.db.transaction() as s:
            await live_sessions.end_session(session=s, brand_id=stage.brand_id, session_id=stage.session_id, now=ctx.clock.now())
        return "ended"

    results = await asyncio.gather(*[buy(b) for b in buyers[:5]], end(), *[buy(b) for b in buyers[5:]])
    assert "ended" in results and set(results) <= {"ok", "ended", "session_not_live"}
    c = await assert_invariants(world, stage, initial_stock=40, quota=100, allocation=40)
    assert c.listing_sold == 2 * results.count("ok")
    # Once the session is ended nothing sells, cached or not.
    late = await place(client, buyers[0], {"listing_id": stage.listing_id, "quantity": 1})
    assert late.json()["error"]["code"] == "session_not_live"
