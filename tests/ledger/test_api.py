"""The commission endpoints: what a leader sees of their own money, and who may see or change what."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.ledger.helpers import buy, complete, refund, settle
from tests.orders.setup import bound_member, build_stage

NEXT_MIDNIGHT = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


@pytest.fixture
async def scene(ctx, world, clock):
    stage = await build_stage(world, quota=100, per_member_limit=20)
    buyer = await world.user(phone="13812345678", name="张小红")
    from linli.attribution import service as attribution

    async with ctx.db.transaction() as s:
        await attribution.enter_with_code(session=s, user_id=buyer.user_id, raw_code=stage.leader.code, now=clock.now())
    settled = await buy(ctx, stage, buyer, quantity=2)
    pending = await buy(ctx, stage, await bound_member(world, stage.leader), quantity=1)
    await buy(ctx, stage, await bound_member(world, stage.other_leader), offer=False)
    await complete(ctx, settled)
    await refund(ctx, pending, 3_400)
    clock.set(NEXT_MIDNIGHT)
    await settle(ctx)
    other_brand = await world.brand("鲜果铺")
    other_staff = await world.staff(other_brand)
    operator = await world.staff(stage.brand_id, role="operator")
    return dict(stage=stage, settled=settled, pending=pending, buyer=buyer, other_staff=other_staff, operator=operator)


async def test_a_leader_sees_their_balances_and_every_line_with_its_rule(client, scene):
    stage = scene["stage"]
    response = await client.get(f"/api/v1/brands/{stage.brand_id}/leader/commission", headers=stage.leader.actor.headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["leader_id"] == stage.leader.leader_id
    assert data["balances"] == {"pending_fen": 1_020 - 510, "available_fen": 2_040, "withdrawing_fen": 0}
    assert data["total"] == 2 and [line["order_id"] for line in data["items"]] == [scene["pending"], scene["settled"]]
    pending, settled = data["items"]
    assert settled["member_phone"] == "138****5678" and settled["member_name"] == "张**"
    assert (settled["paid_fen"], settled["rule"], settled["rate_bp"], settled["commission_fen"], settled["status"]) == (
        13_600, "live_base", 1500, 2_040, "settled"
    )
    assert settled["rule_text"] == "直播间订单基础佣金率" and settled["rule_version"] == 1
    assert settled["available_from_date"] == "2026-11-21" and settled["status_text"] == "可提现"
    assert (pending["refunded_fen"], pending["clawed_back_fen"], pending["net_fen"], pending["available_from"]) == (
        3_400, 510, 510, None
    )
    only_pending = await client.get(
        f"/api/v1/brands/{stage.brand_id}/leader/commission?status=pending", headers=stage.leader.actor.headers
    )
    assert [line["order_id"] for line in only_pending.json()["items"]] == [scene["pending"]]
    bad = await client.get(f"/api/v1/brands/{stage.brand_id}/leader/commission?status=nope", headers=stage.leader.actor.headers)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "commission_status_filter_invalid")


async def test_each_leader_sees_only_their_own(client, scene):
    stage = scene["stage"]
    response = await client.get(f"/api/v1/brands/{stage.brand_id}/leader/commission", headers=stage.other_leader.actor.headers)
    data = response.json()
    assert data["leader_id"] == stage.other_leader.leader_id and data["total"] == 1
    assert data["balances"]["pending_fen"] == 1_320
    assert scene["settled"] not in [line["order_id"] for line in data["items"]]
    # A leader cannot read another leader's commission through the staff route.
    response = await client.get(
        f"/api/v1/brands/{stage.brand_id}/leaders/{stage.leader.leader_id}/commission", headers=stage.other_leader.actor.headers
    )
    assert (response.status_code, response.json()["error"]["code"]) == (403, "staff_only")


READ_ACCESS = [
    ("anonymous", "leader", 401),
    ("member", "leader", 403),
    ("owner", "leader", 403),  # staff are not leaders: they use the staff route
    ("other_staff", "leader", 403),
    ("anonymous", "staff", 401),
    ("member", "staff", 403),
    ("other_staff", "staff", 403),
    ("owner", "staff", 200),
    ("operator", "staff", 200),
]


def _actors(scene) -> dict:  # noqa: ANN001
    stage = scene["stage"]
    return {"anonymous": None, "member": scene["buyer"], "owner": stage.owner, "other_staff": scene["other_staff"],
            "operator": scene["operator"], "leader": stage.leader.actor}


async def test_who_may_read_commission(client, scene):
    stage = scene["stage"]
    actors = _actors(scene)
    for who, route, status in READ_ACCESS:
        path = (
            f"/api/v1/brands/{stage.brand_id}/leader/commission" if route == "leader"
            else f"/api/v1/brands/{stage.brand_id}/leaders/{stage.leader.leader_id}/commission"
        )
        actor = actors[who]
        response = await client.get(path, headers=actor.headers if actor else {})
        assert response.status_code == status, (who, route, response.text)
        if status == 200:
            assert response.json()["balances"]["available_fen"] == 2_040


async def test_staff_of_a_brand_cannot_reach_a_leader_of_another(client, world, scene):
    stage = scene["stage"]
    other_brand = await world.brand("果然鲜")
    staff = await world.staff(other_brand)
    community = await world.community(other_brand, "枫林苑")
    outsider = await world.leader(other_brand, community, approver=staff, name="老陈")
    response = await client.get(
        f"/api/v1/brands/{stage.brand_id}/leaders/{outsider.leader_id}/commission", headers=stage.owner.headers
    )
    assert (response.status_code, response.json()["error"]["code"]) == (404, "leader_not_found")
    response = await client.get("/api/v1/brands/999999/leader/commission", headers=stage.leader.actor.headers)
    assert response.status_code == 404


RULES_ACCESS = [
    ("leader", "GET", "", 200),
    ("owner", "GET", "", 200),
    ("member", "GET", "", 403),
    ("other_staff", "GET", "", 403),
    ("anonymous", "GET", "", 401),
    ("leader", "PUT", "", 403),
    ("member", "PUT", "", 403),
    ("other_staff", "PUT", "", 403),
    ("anonymous", "PUT", "", 401),
    ("leader", "GET", "/versions", 403),
    ("owner", "GET", "/versions", 200),
    ("operator", "PUT", "", 200),  # last: the one change that goes through
]


async def test_only_staff_change_rules_and_leaders_may_read_them(client, scene):
    stage = scene["stage"]
    actors = _actors(scene)
    body = {
        "live_rate_bp": 1600, "off_session_rate_bp": 1000, "referral_rate_bp": 200, "referral_months": 12,
        "self_purchase_counts": True, "settlement_window_days": 1,
    }
    for who, method, path, status in RULES_ACCESS:
        actor = actors[who]
        response = await client.request(
            method, f"/api/v1/brands/{stage.brand_id}/commission-rules{path}", json=body if method == "PUT" else None,
            headers=actor.headers if actor else {},
        )
        assert response.status_code == status, (who, method, path, response.text)
        current = await client.get(f"/api/v1/brands/{stage.brand_id}/commission-rules", headers=stage.owner.headers)
        changed = status == 200 and method == "PUT"
        assert current.json()["live_rate_bp"] == (1600 if changed else 1500)
        assert current.json()["version"] == (2 if changed else 1)
