"""Real concurrent buyers against one offer: sold == min(quota, demand), nothing oversold, stock never negative."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.orders.setup import assert_invariants, bound_member, build_stage


@pytest.mark.parametrize(("quota", "buyers"), [(10, 30), (25, 20)])
async def test_concurrent_buyers_never_oversell(client, world, quota, buyers):
    stage = await build_stage(world, quota=quota, per_member_limit=1, allocation=1000, stock=1000)
    members = [await bound_member(world, stage.leader) for _ in range(buyers)]

    async def buy(member):
        return await client.post(
            "/api/v1/orders",
            json={"offer_id": stage.offer_id, "quantity": 1},
            headers={**member.headers, "Idempotency-Key": uuid.uuid4().hex},
        )

    responses = await asyncio.gather(*(buy(m) for m in members))
    statuses = sorted(r.status_code for r in responses)
    won = statuses.count(201)
    assert won == min(quota, buyers)
    assert all(r.json()["error"]["code"] == "offer_sold_out" for r in responses if r.status_code != 201)
    c = await assert_invariants(world, stage, initial_stock=1000, quota=quota, allocation=1000)
    assert c.offer_sold == won


async def test_one_member_racing_itself_respects_the_limit_and_the_key(client, world):
    stage = await build_stage(world, quota=50, per_member_limit=2)
    member = await bound_member(world, stage.leader)
    same_key = uuid.uuid4().hex

    async def buy(key):
        return await client.post(
            "/api/v1/orders",
            json={"offer_id": stage.offer_id, "quantity": 1},
            headers={**member.headers, "Idempotency-Key": key},
        )

    replays = await asyncio.gather(*(buy(same_key) for _ in range(6)))
    assert {r.json()["id"] for r in replays} == {replays[0].json()["id"]}
    others = await asyncio.gather(*(buy(uuid.uuid4().hex) for _ in range(6)))
    assert sorted(r.status_code for r in others).count(201) == 1  # limit 2, one already held
    c = await assert_invariants(world, stage, initial_stock=1000, quota=50, allocation=500)
    assert c.offer_sold == 2
