"""Claim rates per product, per wave and per leader over the brand's business days."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from linli.aftersales import service
from linli.aftersales.models import DeliveredOrder
from linli.errors import InvalidInput
from linli.worker import run_until_idle
from tests.aftersales.setup import decide, error_code, file_claim, mark_picked_up
from tests.ledger.helpers import assert_audit_ok, buy
from tests.orders.setup import bound_member

TODAY = {"start": "2026-11-20", "end": "2026-11-20"}  # START is 10:00 on 2026-11-20 in Asia/Shanghai


@pytest.fixture
async def figures(ctx, client, world, stage):
    """小李's member: two 68-yuan orders in wave 1, one claimed (20 yuan refunded at once) and one claim rejected
    on the other; 王姐's member: one 88-yuan order in wave 2, no claim."""
    mine = await bound_member(world, stage.leader)
    hers = await bound_member(world, stage.other_leader)
    first, second = await buy(ctx, stage, mine), await buy(ctx, stage, mine)
    other = await buy(ctx, stage, hers, offer=False)
    waves = await mark_picked_up(ctx, first, second, other)  # one wave per pickup point
    wave_one, wave_two = waves[first], waves[other]
    assert waves[second] == wave_one != wave_two
    assert (await file_claim(client, mine, first, amount_fen=2000)).json()["decision"] == "instant"
    rejected = await file_claim(client, mine, second, amount_fen=6000)
    assert (await decide(client, stage, rejected.json()["id"], decision="reject", reason="无问题")).status_code == 200
    await run_until_idle(ctx)
    await assert_audit_ok(ctx)
    return {"wave_one": wave_one, "wave_two": wave_two}


async def test_rates_by_leader(ctx, client, stage, figures):
    response = await client.get(f"/api/v1/brands/{stage.brand_id}/claim-rates", params={**TODAY, "by": "leader"},
                                headers=stage.owner.headers)
    assert response.status_code == 200, response.text
    by_leader = {row["key"]: row for row in response.json()["items"]}
    assert by_leader[stage.leader.leader_id] == {
        "key": stage.leader.leader_id, "name": "小李", "delivered_orders": 2, "paid_fen": 13600, "claims": 2, "refunded_claims": 1,
        "refunded_fen": 2000, "claim_rate_bp": 10000, "refund_rate_bp": 1471,  # 2000 / 13600 = 14.71%
    }
    assert by_leader[stage.other_leader.leader_id] == {
        "key": stage.other_leader.leader_id, "name": "王姐", "delivered_orders": 1, "paid_fen": 8800, "claims": 0, "refunded_claims": 0,
        "refunded_fen": 0, "claim_rate_bp": 0, "refund_rate_bp": 0,
    }
    own = await client.get(f"/api/v1/brands/{stage.brand_id}/leader/claim-rate", params=TODAY,
                           headers=stage.leader.actor.headers)
    assert own.json() == by_leader[stage.leader.leader_id]


async def test_rates_by_wave_and_product(ctx, stage, figures):
    async with ctx.db.read() as s:
        waves = await service.claim_rates(session=s, brand_id=stage.brand_id, by="wave", start=date(2026, 11, 20), end=date(2026, 11, 20))
        products = await service.claim_rates(session=s, brand_id=stage.brand_id, by="product", start=date(2026, 11, 20), end=date(2026, 11, 20))
    assert [(w.key, w.delivered_orders, w.claims, w.refunded_fen, w.claim_rate_bp) for w in waves] == [
        (figures["wave_one"], 2, 2, 2000, 10000), (figures["wave_two"], 1, 0, 0, 0)]
    [product] = products  # one product on the stage
    assert (product.delivered_orders, product.paid_fen, product.claims, product.claim_rate_bp, product.refund_rate_bp) == (
        3, 22400, 2, 6667, 893)  # 2/3 and 2000/22400 rounded half up


async def test_rates_name_what_they_count(ctx, client, stage, figures):
    """Each row names its product, its wave's community or its leader, so staff need not look ids up."""
    url = f"/api/v1/brands/{stage.brand_id}/claim-rates"

    async def names(by: str) -> list[tuple[int | None, str | None, int]]:
        response = await client.get(url, params={**TODAY, "by": by}, headers=stage.owner.headers)
        assert response.status_code == 200, response.text
        return [(row["key"], row["name"], row["claims"]) for row in response.json()["items"]]

    [(product_id, product_name, claims)] = await names("product")
    assert (product_name, claims) == ("黄金奶油草莓", 2) and product_id is not None
    assert await names("wave") == [(figures["wave_one"], "云顶华府", 2), (figures["wave_two"], "翠湖花园", 0)]
    assert sorted(await names("leader")) == sorted(
        [(stage.leader.leader_id, "小李", 2), (stage.other_leader.leader_id, "王姐", 0)]
    )


async def test_a_period_without_the_days_is_empty_and_bad_ranges_are_refused(ctx, client, stage, figures):
    async with ctx.db.read() as s:
        before = await service.claim_rates(session=s, brand_id=stage.brand_id, by="leader", start=date(2026, 11, 19), end=date(2026, 11, 19))
        assert before == []
        with pytest.raises(InvalidInput):
            await service.claim_rates(session=s, brand_id=stage.brand_id, by="leader", start=date(2026, 11, 20), end=date(2026, 11, 19))
        with pytest.raises(InvalidInput):
            await service.claim_rates(session=s, brand_id=stage.brand_id, by="leader", start=date(2025, 1, 1), end=date(2026, 11, 19))
    url = f"/api/v1/brands/{stage.brand_id}/claim-rates"
    bad_by = await client.get(url, params={**TODAY, "by": "colour"}, headers=stage.owner.headers)
    assert bad_by.status_code == 422 and error_code(bad_by) == "claim_rate_dimension_invalid"
    bad_date = await client.get(url, params={"start": "2026-13-01", "end": "2026-11-20"}, headers=stage.owner.headers)
    assert bad_date.status_code == 422


async def test_a_replayed_completion_counts_once(ctx, stage, figures):
    async with ctx.db.transaction() as s:
        order_ids = list(await s.scalars(select(DeliveredOrder.order_id)))
        for order_id in order_ids:
            await service.record_delivery(session=s, order_id=order_id)
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(DeliveredOrder)) == 3
