"""Who may call each withdrawal route, and who may not (other leader, other brand's staff, member, anonymous);
refused requests — more than available, a negative amount, one key twice, a foreign approval — change nothing."""

from __future__ import annotations

import uuid

import pytest

from linli.payouts import service
from linli.worker import run_until_idle
from tests.orders.setup import bound_member
from tests.payouts.conftest import approve, ask, earn, error_code, snapshot, withdrawal


@pytest.fixture
async def people(ctx, world, stage, payout_sim):
    """小李 has a requested withdrawal and an approved one still in transfer; 王姐 is another leader; a member;
    another brand's owner."""
    await earn(ctx, world, stage)
    other_brand = await world.brand(name="别家优选")
    payout_sim.mode = "pending"
    in_transfer = await ask_ok(ctx, stage, key="in-transfer-1")
    async with ctx.db.transaction() as s:
        await service.approve(
            session=s, providers=ctx.payouts, provider_name="simulator", brand_id=stage.brand_id, withdrawal_id=in_transfer,
            actor_user_id=stage.owner.user_id, now=ctx.clock.now(),
        )
    await run_until_idle(ctx)
    return {
        "in_transfer": in_transfer,
        "withdrawal": (await ask_ok(ctx, stage)),
        "other_leader": stage.other_leader.actor,
        "member": await bound_member(world, stage.leader),
        "foreign_staff": await world.staff(other_brand),
    }


async def ask_ok(ctx, stage, key: str = "first-withdrawal") -> int:
    async with ctx.db.transaction() as s:
        requested = await service.request_withdrawal(
            session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, amount_fen=2_000,
            idempotency_key=key, now=ctx.clock.now(),
        )
    return requested.withdrawal.id


def routes(stage, withdrawal_id: int, in_transfer: int) -> dict[str, tuple[str, str, dict | None]]:
    b = f"/api/v1/brands/{stage.brand_id}"
    return {
        "my_policy": ("GET", f"{b}/leader/withdrawal-policy", None),
        "request": ("POST", f"{b}/leader/withdrawals", {"amount_fen": 1_000}),
        "my_list": ("GET", f"{b}/leader/withdrawals", None),
        "my_one": ("GET", f"{b}/leader/withdrawals/{withdrawal_id}", None),
        "policy": ("GET", f"{b}/withdrawal-policy", None),
        "put_policy": ("PUT", f"{b}/withdrawal-policy", {"min_amount_fen": 1000, "fee_bp": 0, "daily_cap_fen": 500_000}),
        "brand_list": ("GET", f"{b}/withdrawals", None),
        "approve": ("POST", f"{b}/withdrawals/{withdrawal_id}/approve", None),
        "reject": ("POST", f"{b}/withdrawals/{withdrawal_id}/reject", {"reason": "不符合规则"}),
        "sim_complete": ("POST", f"/api/v1/payouts/simulator/LLWD{in_transfer:010d}/complete", {"outcome": "paid"}),
    }


LEADER_ROUTES = {"my_policy", "request", "my_list", "my_one"}
STAFF_ROUTES = {"policy", "put_policy", "brand_list", "approve", "reject", "sim_complete"}


async def call(client, method: str, url: str, body, headers):  # noqa: ANN001, ANN201
    headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    return await client.request(method, url, json=body, headers=headers)


async def test_nobody_else_may_call_any_route_and_nothing_changes(ctx, stage, client, people):
    before = await snapshot(ctx)
    table = routes(stage, people["withdrawal"], people["in_transfer"])
    callers = {
        "anonymous": ({}, {name: 401 for name in table}),
        "member": (people["member"].headers, {name: 403 for name in table}),
        "other_leader": (people["other_leader"].headers, {**{n: 403 for n in STAFF_ROUTES}, "my_one": 404}),
        "foreign_staff": (people["foreign_staff"].headers, {name: 403 for name in table}),
        "owner": (stage.owner.headers, {name: 403 for name in LEADER_ROUTES}),
        "leader": (stage.leader.actor.headers, {name: 403 for name in STAFF_ROUTES}),
    }
    for who, (headers, expected) in callers.items():
        for name, status in expected.items():
            method, url, body = table[name]
            if who == "other_leader" and name in ("my_list", "my_policy", "request"):
                continue  # their own, allowed (checked below)
            r = await call(client, method, url, body, headers)
            assert r.status_code == status, (who, name, r.text)
    # 王姐 sees only her own (none); the simulator's approval route is the brand's staff only.
    mine = await client.get(table["my_list"][1], headers=people["other_leader"].headers)
    assert mine.status_code == 200 and mine.json()["items"] == []
    assert await snapshot(ctx) == before


async def test_the_leader_and_the_staff_may(ctx, stage, client, people):
    table = routes(stage, people["withdrawal"], people["in_transfer"])
    for name in ("my_policy", "my_list", "my_one"):
        assert (await call(client, *table[name], stage.leader.actor.headers)).status_code == 200
    for name in ("policy", "brand_list", "put_policy"):
        assert (await call(client, *table[name], stage.owner.headers)).status_code == 200
    operator = await stage_operator(ctx, stage)
    assert (await call(client, *table["approve"], operator.headers)).status_code == 200


async def stage_operator(ctx, stage):  # noqa: ANN201
    from tests.factories import World

    return await World(ctx).staff(stage.brand_id, role="operator")


async def test_refused_requests_change_nothing(ctx, world, stage, client, people):
    leader = stage.leader.actor
    before = await snapshot(ctx)
    cases = [
        (await ask(client, stage, leader, 6_201), 409, "withdrawal_exceeds_available"),  # 10,200 − 2 × 2,000 left
        (await ask(client, stage, leader, -100), 422, "invalid_request"),
        (await ask(client, stage, leader, 0), 422, "invalid_request"),
        (await ask(client, stage, leader, 999), 422, "withdrawal_below_minimum"),
        (await ask(client, stage, leader, 2_500, key="first-withdrawal"), 409, "withdrawal_key_reused"),
        (await client.post(f"/api/v1/brands/{stage.brand_id}/leader/withdrawals", json={"amount_fen": "1000元"},
                           headers={**leader.headers, "Idempotency-Key": uuid.uuid4().hex}), 422, "invalid_request"),
        (await client.post(f"/api/v1/brands/{stage.brand_id}/leader/withdrawals", json={"amount_fen": 1_000},
                           headers=leader.headers), 422, "invalid_request"),  # no Idempotency-Key
        (await approve(client, stage, people["foreign_staff"], people["withdrawal"]), 403, "staff_only"),
        (await client.get(f"/api/v1/brands/{stage.brand_id}/withdrawals?status=paidd", headers=stage.owner.headers),
         422, "withdrawal_status_filter_invalid"),
        (await approve(client, stage, stage.owner, 999_999), 404, "withdrawal_not_found"),
    ]
    for response, status, code in cases:
        assert (response.status_code, error_code(response)) == (status, code), response.text
    assert await snapshot(ctx) == before
    # The same key with the same amount returns the same withdrawal (200), writing nothing.
    replay = await ask(client, stage, leader, 2_000, key="first-withdrawal")
    assert replay.status_code == 200 and replay.json()["id"] == people["withdrawal"]
    assert await snapshot(ctx) == before


async def test_a_foreign_brands_staff_cannot_approve_through_their_own_brand(ctx, world, stage, client, people):
    """Another brand's owner names 小李's withdrawal under their own brand: 404, nothing changes."""
    from tests.orders.setup import build_stage

    other = await build_stage(world)
    before = await snapshot(ctx)
    r = await client.post(f"/api/v1/brands/{other.brand_id}/withdrawals/{people['withdrawal']}/approve", headers=other.owner.headers)
    assert r.status_code == 404 and error_code(r) == "withdrawal_not_found"
    r = await client.get(f"/api/v1/brands/{other.brand_id}/leader/withdrawals/{people['withdrawal']}", headers=other.leader.actor.headers)
    assert r.status_code == 404
    assert await snapshot(ctx) == before
    await run_until_idle(ctx)
    assert (await withdrawal(ctx, people["withdrawal"])).status == "requested"
