"""The claim rates over HTTP, counted by hand on orders picked up and claimed through after-sales itself: per
product and per leader, on the day the order was paid, an order with two claims counted once; who may read
them and the ranges refused. Also the claim and session-end roll-ups' idempotence and ordering."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from linli.catalog.models import Product, Sku
from linli.dashboards import kpi_rollups
from linli.dashboards.models import ProductDay, SessionFigures, SessionLeader
from linli.dashboards.rebuild import rebuild_rollups, rollups_agree
from linli.live.models import Listing
from linli.orders.models import Order
from linli.outbox.service import emit
from linli.worker import run_until_idle
from tests.aftersales.setup import decide, file_claim, mark_picked_up
from tests.dashboards import kpi_setup as kpi
from tests.ledger.helpers import buy
from tests.orders.setup import bound_member, build_stage

URL = "/api/v1/brands/{brand}/dashboard/claims"
NOV_30_LATE = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # 23:30 on 30 Nov in Shanghai
DEC_1_EARLY = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 Dec


async def _second_product(ctx, stage) -> int:
    """柑橘 listed in the stage's session at 49.90; returns its listing."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        product = Product(brand_id=stage.brand_id, name="沃柑", description="", images=[], created_at=now)
        s.add(product)
        await s.flush()
        sku = Sku(brand_id=stage.brand_id, product_id=product.id, name="2.5kg/箱", list_price_fen=5990, stock_quantity=100,
                  created_at=now)
        s.add(sku)
        await s.flush()
        listing = Listing(brand_id=stage.brand_id, session_id=stage.session_id, sku_id=sku.id, live_price_fen=4990,
                          allocation=100, created_at=now)
        s.add(listing)
        await s.flush()
        return listing.id


@pytest.fixture
async def claimed(ctx, world, clock, client):
    """o0 (草莓, 小李's, paid 30 Nov) and, on 1 Dec, o1 o2 (草莓, 小李's), o3 (草莓, 王姐's), o4 (沃柑, 小李's),
    o5 (沃柑, a walk-in's); all picked up. Claims: o1 twice (the first rejected), o3, o4, o0."""
    stage = await build_stage(world, per_member_limit=99, live_price_fen=8800)
    oranges = replace(stage, listing_id=await _second_product(ctx, stage))
    m1, m2 = await bound_member(world, stage.leader), await bound_member(world, stage.leader)
    m3, walk_in = await bound_member(world, stage.other_leader), await world.user()
    clock.set(NOV_30_LATE)
    o0 = await buy(ctx, stage, m1, offer=False)
    clock.set(DEC_1_EARLY)
    o1, o2 = await buy(ctx, stage, m1, offer=False), await buy(ctx, stage, m2, offer=False)
    o3 = await buy(ctx, stage, m3, offer=False)
    o4, o5 = await buy(ctx, oranges, m1, offer=False), await buy(ctx, oranges, walk_in, offer=False)
    await mark_picked_up(ctx, o0, o1, o2, o3, o4, o5)
    first = await file_claim(client, m1, o1, amount_fen=5000)  # over the instant limit: reviewed
    assert first.status_code == 201, first.text
    rejected = await decide(client, stage, first.json()["id"], decision="reject", reason="照片中商品完好")
    assert rejected.status_code == 200, rejected.text
    for member, order_id in ((m1, o1), (m3, o3), (m1, o4), (m1, o0)):
        filed = await file_claim(client, member, order_id, amount_fen=4000)
        assert filed.status_code == 201, filed.text
    await run_until_idle(ctx)
    return stage


async def _get(client, actor, brand: int, **params):
    query = {("from" if k == "date_from" else "to" if k == "date_to" else k): v for k, v in params.items()}
    return await client.get(URL.format(brand=brand), params=query, headers=actor.headers)


def _rows(items: list[dict]) -> list[tuple]:
    return [(i["name"], i["paid_lines"], i["claimed_lines"], i["claims"], i["rate_bp"]) for i in items]


def _totals(body: dict) -> tuple:
    t = body["totals"]
    return t["paid_lines"], t["claimed_lines"], t["claims"], t["rate_bp"]


async def test_claim_rates_per_product_and_leader(client, ctx, claimed):
    stage = claimed
    body = (await _get(client, stage.owner, stage.brand_id, date_from="2026-12-01", date_to="2026-12-01")).json()
    # 1 Dec: 草莓 o1 o2 o3, claimed o1 (twice) and o3; 沃柑 o4 o5, claimed o4. o0 was paid on 30 Nov.
    assert _totals(body) == (5, 3, 4, 6000)
    assert _rows(body["products"]) == [("黄金奶油草莓", 3, 2, 3, 6666), ("沃柑", 2, 1, 1, 5000)]
    # 小李: o1 o2 o4 (o1 and o4 claimed); 王姐: o3. The walk-in's o5 is nobody's.
    assert _rows(body["leaders"]) == [("小李", 3, 2, 3, 6666), ("王姐", 1, 1, 1, 10_000)]
    assert [i["id"] for i in body["leaders"]] == [stage.leader.leader_id, stage.other_leader.leader_id]

    # o0's claim, filed on 1 Dec, counts on its order's day.
    eve = (await _get(client, stage.owner, stage.brand_id, date_from="2026-11-30", date_to="2026-11-30")).json()
    assert _totals(eve) == (1, 1, 1, 10_000)
    assert _rows(eve["products"]) == [("黄金奶油草莓", 1, 1, 1, 10_000)]
    assert _rows(eve["leaders"]) == [("小李", 1, 1, 1, 10_000)]
    both = (await _get(client, stage.owner, stage.brand_id, date_from="2026-11-30", date_to="2026-12-01")).json()
    assert _totals(both) == (6, 4, 5, 6666)
    assert _rows(both["products"]) == [("黄金奶油草莓", 4, 3, 4, 7500), ("沃柑", 2, 1, 1, 5000)]

    quiet = (await _get(client, stage.owner, stage.brand_id, date_from="2026-10-01", date_to="2026-10-31")).json()
    assert (_totals(quiet), quiet["products"], quiet["leaders"]) == ((0, 0, 0, None), [], [])
    async with ctx.db.read() as s:
        assert await rollups_agree(session=s) == {}


async def test_a_claim_handled_before_its_payment_and_events_delivered_again(ctx, world):
    stage = await build_stage(world, live_price_fen=8800)
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, offer=False, work=False)
    claim_id = await kpi.write_claim(ctx, order_id, work=False)
    async with ctx.db.transaction() as s:  # claim.filed handled before order.paid (a retry reordered them)
        assert await kpi_rollups.record_claim(session=s, claim_id=claim_id, order_id=order_id) is True
        assert await s.scalar(select(ProductDay)) is None  # nothing to count it on yet
    await run_until_idle(ctx)
    second = await kpi.write_claim(ctx, order_id)
    async with ctx.db.read() as s:
        day = await s.scalar(select(ProductDay))
    assert (day.lines, day.claimed_lines, day.claims) == (1, 1, 2)

    await kpi.visit(ctx, stage.session_id, user=buyer, code=stage.leader.code)
    ctx.clock.advance(timedelta(minutes=1))
    await kpi.end(ctx, stage)
    async with ctx.db.read() as s:
        kept = [(r.views, r.entries, r.placed_orders, r.orders) for r in await s.scalars(select(SessionFigures))]
        leader = [(r.views, r.entries, r.placed_orders, r.orders) for r in await s.scalars(select(SessionLeader))]
    assert kept == [(1, 1, 1, 1)] and leader == [(1, 1, 1, 1)]
    async with ctx.db.transaction() as s:  # every event once more, and the services called directly
        order = await s.get(Order, order_id)
        emit(s, topic="order.paid", payload={"order_id": order.id}, now=ctx.clock.now())
        for claim in (claim_id, second):
            emit(s, topic="claim.filed", payload={"claim_id": claim, "order_id": order_id}, now=ctx.clock.now())
        emit(s, topic="live.session_ended", payload={"id": stage.session_id}, now=ctx.clock.now())
    await run_until_idle(ctx)
    async with ctx.db.transaction() as s:
        assert await kpi_rollups.record_claim(session=s, claim_id=second, order_id=order_id) is False
    async with ctx.db.read() as s:
        day = await s.scalar(select(ProductDay))
        again = [(r.views, r.entries, r.placed_orders, r.orders) for r in await s.scalars(select(SessionFigures))]
        assert await rollups_agree(session=s) == {}
    assert (day.lines, day.claimed_lines, day.claims) == (1, 1, 2) and again == kept


async def test_a_drifted_figure_is_reported_and_a_rebuild_repairs_it(ctx, claimed):
    stage = claimed
    async with ctx.db.transaction() as s:
        day = await s.scalar(select(ProductDay).where(ProductDay.claims == 3))
        day.claims += 1
    async with ctx.db.read() as s:
        assert await rollups_agree(session=s) == {"product_days": 1}
    async with ctx.db.transaction() as s:
        await rebuild_rollups(session=s, brand_id=stage.brand_id)
    async with ctx.db.read() as s:
        assert await rollups_agree(session=s) == {}
        assert (await s.scalar(select(ProductDay).where(ProductDay.claimed_lines == 2))).claims == 3


async def test_only_the_brands_staff_read_them(client, world, claimed):
    stage = claimed
    assert (await _get(client, stage.owner, stage.brand_id)).status_code == 200
    neighbour = await bound_member(world, stage.leader)
    foreign_staff = await world.staff(await world.brand(name="别家"))
    refused = [await _get(client, actor, stage.brand_id) for actor in (stage.leader.actor, neighbour, foreign_staff)]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(403, "staff_only")] * 3
    assert (await client.get(URL.format(brand=stage.brand_id))).status_code == 401


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"date_from": "2026-12-01", "date_to": "2026-11-01"}, "range_invalid"),
        ({"date_from": "2025-01-01", "date_to": "2026-12-01"}, "range_too_long"),
        ({"date_from": "2026-11-31"}, "date_invalid"),
        ({"date_to": "2026-12-01T00:00:00"}, "invalid_request"),
    ],
)
async def test_a_bad_range_is_a_clear_422(client, world, params, code):
    stage = await build_stage(world)
    answer = await _get(client, stage.owner, stage.brand_id, **params)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, code), answer.text
