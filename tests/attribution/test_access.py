"""Who may call each attribution endpoint, and who may not (anonymous, members, leaders, other brands).

One table drives both directions; every refusal is checked to have written nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from linli.attribution import service as attribution
from linli.leaders import service as leaders
from tests.attribution.conftest import Scene, enter, table_counts
from tests.factories import Actor, LeaderRef, World


@dataclass
class Cast:
    scene: Scene
    ids: dict[str, int]
    actors: dict[str, Actor | None]
    other_brand: int
    other_leader: LeaderRef


@pytest.fixture
async def cast(ctx, world: World, scene: Scene) -> Cast:
    other_brand = await world.brand("鲜果铺")
    other_staff = await world.staff(other_brand)
    other_community = await world.community(other_brand, "枫林苑")
    other_leader = await world.leader(other_brand, other_community, approver=other_staff, name="老陈")
    member = await world.user()
    bound = await enter(ctx, member, scene.wang.code)
    await enter(ctx, member, scene.li.code)  # refused: 小李 is now in this member's trail
    async with ctx.db.transaction() as s:
        dispute = await attribution.open_dispute(
            session=s, brand_id=scene.brand_id, leader_id=scene.li.leader_id, member_id=bound.member_id,
            reason="我先邀请的", now=ctx.clock.now(),
        )
    return Cast(
        scene=scene,
        ids={"brand": scene.brand_id, "member": bound.member_id, "leader": scene.li.leader_id,
             "successor": scene.wang.leader_id, "dispute": dispute.id},
        actors={
            "anonymous": None,
            "member": member,
            "leader": scene.li.actor,
            "staff": scene.owner,
            "other_staff": other_staff,
            "other_leader": other_leader.actor,
        },
        other_brand=other_brand,
        other_leader=other_leader,
    )


POLICY = {"mode": "validity", "validity_days": 10, "protection_days": 1, "only_new_members": False}
ANYONE = {"member", "leader", "staff", "other_staff", "other_leader"}
LEADER = {"leader"}
STAFF = {"staff"}
# In the order the "may" test calls them: resolving the open dispute frees the slot for a new one,
# and the transfer (which needs the leader to exit first) comes last.
ENDPOINTS = [
    ("GET", "/api/v1/brands/{brand}/binding", None, ANYONE),
    ("GET", "/api/v1/brands/{brand}/binding-policy", None, {"staff", "leader"}),
    ("PUT", "/api/v1/brands/{brand}/binding-policy", POLICY, STAFF),
    ("GET", "/api/v1/brands/{brand}/leader/members", None, LEADER),
    ("GET", "/api/v1/brands/{brand}/leader/trail", None, LEADER),
    ("GET", "/api/v1/brands/{brand}/leader/disputes", None, LEADER),
    ("GET", "/api/v1/brands/{brand}/members/{member}/trail", None, STAFF),
    ("GET", "/api/v1/brands/{brand}/disputes", None, STAFF),
    ("POST", "/api/v1/brands/{brand}/disputes/{dispute}/resolve", {"decision": "rejected", "reason": "证据不足"}, STAFF),
    ("POST", "/api/v1/brands/{brand}/leader/disputes", {"member_id": "{member}", "reason": "是我的"}, LEADER),
    ("POST", "/api/v1/brands/{brand}/leaders/{leader}/transfer-members", {"successor_leader_id": "{successor}"}, STAFF),
]
CALLERS = ["anonymous", "member", "leader", "staff", "other_staff", "other_leader"]


def _fill(value, ids):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


async def test_who_may_not_call_each_endpoint(ctx, client, cast):
    before = await table_counts(ctx)
    checked = 0
    for method, path, body, allowed in ENDPOINTS + [("POST", "/api/v1/entries", {"invite_code": "{code}"}, ANYONE)]:
        for caller in CALLERS:
            if caller in allowed:
                continue
            actor = cast.actors[caller]
            ids = {**cast.ids, "code": cast.scene.li.code}
            response = await client.request(
                method, _fill(path, ids), json=_fill(body, ids), headers=actor.headers if actor else {}
            )
            expected = 401 if actor is None else 403
            assert response.status_code == expected, (method, path, caller, response.json())
            assert set(response.json()["error"]) == {"code", "message"}
            checked += 1
    assert checked == 51  # every refusal in the table was exercised
    assert await table_counts(ctx) == before


async def test_who_may_call_each_endpoint(ctx, client, world, cast):
    for method, path, body, allowed in ENDPOINTS:
        if path.endswith("transfer-members"):  # an exited leader's members move to the same community's successor
            async with ctx.db.transaction() as s:
                await leaders.exit_leader(
                    session=s, brand_id=cast.scene.brand_id, leader_id=cast.scene.li.leader_id, reason="退出",
                    actor_user_id=cast.scene.owner.user_id, now=ctx.clock.now(),
                )
            successor = await world.leader(cast.scene.brand_id, cast.scene.community_a, approver=cast.scene.owner)
            cast.ids["successor"] = successor.leader_id
        for caller in allowed:
            response = await client.request(
                method, _fill(path, cast.ids), json=_fill(body, cast.ids), headers=cast.actors[caller].headers
            )
            assert response.status_code in (200, 201), (method, path, caller, response.json())


async def test_brands_are_walled_off_from_each_other(ctx, client, cast):
    """Staff and leaders of another brand get nothing of this brand, even through their own brand's paths."""
    other = cast.actors["other_staff"].headers
    base = f"/api/v1/brands/{cast.other_brand}"
    before = await table_counts(ctx)
    trail = await client.get(f"{base}/members/{cast.ids['member']}/trail", headers=other)
    assert (trail.status_code, trail.json()["error"]["code"]) == (404, "member_not_found")
    resolve = await client.post(
        f"{base}/disputes/{cast.ids['dispute']}/resolve", json={"decision": "upheld", "reason": "x"}, headers=other
    )
    assert (resolve.status_code, resolve.json()["error"]["code"]) == (404, "dispute_not_found")
    transfer = await client.post(
        f"{base}/leaders/{cast.ids['leader']}/transfer-members",
        json={"successor_leader_id": cast.other_leader.leader_id}, headers=other,
    )
    assert (transfer.status_code, transfer.json()["error"]["code"]) == (404, "leader_not_found")
    assert (await client.get(f"{base}/disputes", headers=other)).json()["total"] == 0
    # The other brand's leader sees an empty trail and cannot claim this brand's member.
    leader = cast.actors["other_leader"].headers
    assert (await client.get(f"{base}/leader/trail", headers=leader)).json()["total"] == 0
    claim = await client.post(
        f"{base}/leader/disputes", json={"member_id": cast.ids["member"], "reason": "x"}, headers=leader
    )
    assert (claim.status_code, claim.json()["error"]["code"]) == (404, "dispute_member_not_found")
    # The member has no binding in the other brand.
    assert (await client.get(f"{base}/binding", headers=cast.actors["member"].headers)).json()["bound"] is False
    assert await table_counts(ctx) == before


async def test_unknown_brand_is_404(client, cast):
    for path in ("binding-policy", "binding", "leader/trail", "disputes"):
        response = await client.get(f"/api/v1/brands/999999/{path}", headers=cast.actors["staff"].headers)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "brand_not_found"), path
