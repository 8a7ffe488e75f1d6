"""The attribution API end to end: what each party sees, bad input, pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli.leaders import invite_codes
from linli.leaders import service as leaders
from linli.security import mask_phone
from tests.attribution.conftest import enter, table_counts


def error_code(response):
    return response.status_code, response.json()["error"]["code"]


# --- policy ----------------------------------------------------------------------------------


async def test_policy_defaults_update_and_who_changed_it(client, scene, ctx):
    path = f"/api/v1/brands/{scene.brand_id}/binding-policy"
    default = (await client.get(path, headers=scene.owner.headers)).json()
    assert default == {
        "mode": "permanent", "validity_days": 30, "protection_days": 0, "only_new_members": False,
        "is_default": True, "updated_at": None, "updated_by_user_id": None,
    }
    body = {"mode": "last_touch", "validity_days": 30, "protection_days": 7, "only_new_members": True}
    updated = await client.put(path, json=body, headers=scene.owner.headers)
    assert updated.status_code == 200
    seen_by_leader = (await client.get(path, headers=scene.li.actor.headers)).json()
    assert seen_by_leader == {
        **body, "is_default": False, "updated_at": ctx.clock.now().isoformat().replace("+00:00", "Z"),
        "updated_by_user_id": scene.owner.user_id,
    }


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"mode": "forever"}, "binding_mode_invalid"),
        ({"validity_days": 0}, "validity_days_invalid"),
        ({"validity_days": 3651}, "validity_days_invalid"),
        ({"protection_days": -1}, "protection_days_invalid"),
        ({"protection_days": 3651}, "protection_days_invalid"),
        ({"validity_days": "thirty"}, "invalid_request"),
        ({"only_new_members": None}, "invalid_request"),
    ],
)
async def test_bad_policy_values_are_422_and_change_nothing(client, scene, ctx, change, code):
    path = f"/api/v1/brands/{scene.brand_id}/binding-policy"
    body = {"mode": "validity", "validity_days": 30, "protection_days": 0, "only_new_members": False, **change}
    before = await table_counts(ctx)
    response = await client.put(path, json=body, headers=scene.owner.headers)
    assert error_code(response) == (422, code)
    assert response.json()["error"]["message"]
    assert await table_counts(ctx) == before
    assert (await client.get(path, headers=scene.owner.headers)).json()["is_default"] is True


async def test_policy_bounds_are_accepted(client, scene):
    path = f"/api/v1/brands/{scene.brand_id}/binding-policy"
    for body in (
        {"mode": "validity", "validity_days": 1, "protection_days": 0, "only_new_members": False},
        {"mode": "validity", "validity_days": 3650, "protection_days": 3650, "only_new_members": False},
    ):
        assert (await client.put(path, json=body, headers=scene.owner.headers)).status_code == 200


# --- entries ---------------------------------------------------------------------------------


async def test_entry_binds_and_the_member_sees_their_leader(client, world, scene, ctx):
    member = await world.user()
    mine = f"/api/v1/brands/{scene.brand_id}/binding"
    assert (await client.get(mine, headers=member.headers)).json()["bound"] is False

    response = await client.post("/api/v1/entries", json={"invite_code": scene.li.code}, headers=member.headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["result"], body["reason"], body["brand_id"]) == ("bound", "first_entry", scene.brand_id)
    leader = body["binding"]["leader"]
    assert leader == {
        "id": scene.li.leader_id, "name": "小李", "badge": "云顶华府·优邻优选社区主理人",
        "community_id": scene.community_a, "community_name": "云顶华府",
    }
    assert (await client.get(mine, headers=member.headers)).json() == body["binding"]
    assert body["binding"]["source"] == "invite_code"


async def test_refused_entry_is_200_for_the_member(client, world, scene):
    member = await world.user()
    await client.post("/api/v1/entries", json={"invite_code": scene.li.code}, headers=member.headers)
    response = await client.post("/api/v1/entries", json={"invite_code": scene.wang.code}, headers=member.headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["result"], body["reason"]) == ("refused", "already_bound")
    assert "归属不变" in body["message"]
    assert body["binding"]["leader"]["id"] == scene.li.leader_id


async def test_self_binding_is_409_and_writes_nothing(client, scene, ctx):
    before = await table_counts(ctx)
    response = await client.post("/api/v1/entries", json={"invite_code": scene.li.code}, headers=scene.li.actor.headers)
    assert error_code(response) == (409, "self_binding")
    assert await table_counts(ctx) == before


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("malformed", 422, "invite_code_malformed"),
        ("ambiguous", 422, "invite_code_malformed"),
        ("empty", 422, "invalid_request"),
        ("unknown", 404, "invite_code_unknown"),
        ("revoked", 410, "invite_code_revoked"),
        ("rotated_past_grace", 410, "invite_code_expired"),
        ("leader_suspended", 410, "leader_inactive"),
    ],
)
async def test_unusable_codes_are_4xx_and_write_nothing(client, world, scene, ctx, case, status, code):
    raw = {"malformed": "abc", "ambiguous": "ABCD0O1I", "empty": "", "unknown": "ZZZZZZZZ"}.get(case, scene.li.code)
    async with ctx.db.transaction() as s:
        now = ctx.clock.now()
        if case == "revoked":
            await invite_codes.revoke_all(session=s, leader_id=scene.li.leader_id, now=now)
        elif case == "rotated_past_grace":
            await invite_codes.rotate(session=s, leader_id=scene.li.leader_id, grace_hours=1, now=now)
        elif case == "leader_suspended":
            await leaders.suspend(
                session=s, brand_id=scene.brand_id, leader_id=scene.li.leader_id, reason="核查中",
                actor_user_id=scene.owner.user_id, now=now,
            )
    if case == "rotated_past_grace":
        ctx.clock.advance(timedelta(hours=1))
    member = await world.user()
    before = await table_counts(ctx)
    response = await client.post("/api/v1/entries", json={"invite_code": raw}, headers=member.headers)
    assert error_code(response) == (status, code)
    assert await table_counts(ctx) == before  # not even a membership


async def test_a_rotated_code_works_during_its_grace_period(client, world, scene, ctx):
    async with ctx.db.transaction() as s:
        await invite_codes.rotate(session=s, leader_id=scene.li.leader_id, grace_hours=24, now=ctx.clock.now())
    member = await world.user()
    response = await client.post("/api/v1/entries", json={"invite_code": scene.li.code}, headers=member.headers)
    assert response.json()["result"] == "bound"


# --- what leaders and staff see --------------------------------------------------------------


async def test_a_leader_sees_only_their_own_members_masked_and_paginated(client, world, scene, ctx):
    li_members = []
    for _ in range(5):
        member = await world.user()
        li_members.append((await enter(ctx, member, scene.li.code), member))
        ctx.clock.advance(timedelta(minutes=1))
    wang_member = await world.user()
    await enter(ctx, wang_member, scene.wang.code)

    path = f"/api/v1/brands/{scene.brand_id}/leader/members"
    pages = [(await client.get(path, params={"page": p, "page_size": 2}, headers=scene.li.actor.headers)).json()
             for p in (1, 2, 3)]
    assert [page["total"] for page in pages] == [5, 5, 5]
    items = [item for page in pages for item in page["items"]]
    newest_first = [outcome.member_id for outcome, _ in reversed(li_members)]
    assert [item["member_id"] for item in items] == newest_first
    first = items[0]
    newest_member = li_members[-1][1]
    assert first["phone"] == mask_phone(newest_member.phone) and "****" in first["phone"]
    assert newest_member.phone not in str(pages)
    assert first["source"] == "invite_code" and first["expires_at"] is None

    wang_view = (await client.get(path, headers=scene.wang.actor.headers)).json()
    assert wang_view["total"] == 1
    assert wang_view["items"][0]["phone"] == mask_phone(wang_member.phone)


async def test_a_leaders_trail_shows_their_events_only_with_the_other_leader_masked(client, world, scene, ctx):
    await set_last_touch_over_http(client, scene)
    ours = await world.user()
    await enter(ctx, ours, scene.li.code)  # li: bound (in)
    await enter(ctx, ours, scene.wang.code)  # li: rebound away to wang (out)
    theirs = await world.user()
    await enter(ctx, theirs, scene.wang.code)  # nothing to do with li
    await enter(ctx, theirs, scene.wang.code)  # already_yours: records nothing

    path = f"/api/v1/brands/{scene.brand_id}/leader/trail"
    li_trail = (await client.get(path, headers=scene.li.actor.headers)).json()
    assert li_trail["total"] == 2
    moved, bound = li_trail["items"]  # newest first
    assert (bound["kind"], bound["direction"], bound["invite_code"]) == ("bound", "in", scene.li.code)
    assert bound["leader"]["name"] == "小李"
    assert (moved["kind"], moved["reason"], moved["direction"]) == ("rebound", "last_touch", "out")
    assert moved["leader"]["name"] == "王*"  # another leader by masked name only
    assert moved["invite_code"] is None  # and not their code
    assert moved["actor_user_id"] is None
    assert moved["member"]["phone"] == mask_phone(ours.phone)
    assert moved["reason_text"]

    wang_trail = (await client.get(path, headers=scene.wang.actor.headers)).json()
    assert wang_trail["total"] == 2
    phones = {item["member"]["phone"] for item in wang_trail["items"]}
    assert phones == {mask_phone(ours.phone), mask_phone(theirs.phone)}


async def set_last_touch_over_http(client, scene):
    body = {"mode": "last_touch", "validity_days": 30, "protection_days": 0, "only_new_members": False}
    path = f"/api/v1/brands/{scene.brand_id}/binding-policy"
    response = await client.put(path, json=body, headers=scene.owner.headers)
    assert response.status_code == 200


async def test_staff_read_a_members_whole_trail_with_names_and_a_masked_phone(client, world, scene, ctx):
    member = await world.user()
    first = await enter(ctx, member, scene.li.code)
    await enter(ctx, member, scene.wang.code)
    path = f"/api/v1/brands/{scene.brand_id}/members/{first.member_id}/trail"
    trail = (await client.get(path, params={"page_size": 1}, headers=scene.owner.headers)).json()
    assert (trail["total"], len(trail["items"])) == (2, 1)
    refused = trail["items"][0]
    assert (refused["kind"], refused["reason"], refused["direction"]) == ("refused", "already_bound", None)
    assert refused["leader"]["name"] == "王姐" and refused["previous_leader"]["name"] == "小李"
    assert refused["invite_code"] == scene.wang.code and refused["actor_user_id"] == member.user_id
    assert refused["member"]["phone"] == mask_phone(member.phone)
    page2 = (await client.get(path, params={"page": 2, "page_size": 1}, headers=scene.owner.headers)).json()
    assert page2["items"][0]["kind"] == "bound"
    unknown = await client.get(f"/api/v1/brands/{scene.brand_id}/members/999999/trail", headers=scene.owner.headers)
    assert error_code(unknown) == (404, "member_not_found")


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 0}, {"page_size": 101}])
async def test_bad_paging_is_422(client, scene, params):
    response = await client.get(
        f"/api/v1/brands/{scene.brand_id}/leader/members", params=params, headers=scene.li.actor.headers
    )
    assert error_code(response) == (422, "invalid_request")


# --- transfer and disputes over HTTP ---------------------------------------------------------


async def test_transfer_over_http(client, world, scene, ctx):
    member = await world.user()
    bound = await enter(ctx, member, scene.li.code)
    path = f"/api/v1/brands/{scene.brand_id}/leaders/{scene.li.leader_id}/transfer-members"
    staff = scene.owner.headers
    not_exited = await client.post(path, json={"successor_leader_id": scene.wang.leader_id}, headers=staff)
    assert error_code(not_exited) == (409, "transfer_leader_not_exited")

    async with ctx.db.transaction() as s:
        await leaders.exit_leader(
            session=s, brand_id=scene.brand_id, leader_id=scene.li.leader_id, reason="搬家",
            actor_user_id=scene.owner.user_id, now=ctx.clock.now(),
        )
    before = await table_counts(ctx)
    other = await client.post(path, json={"successor_leader_id": scene.wang.leader_id}, headers=staff)
    assert error_code(other) == (422, "transfer_other_community")
    assert await table_counts(ctx) == before

    successor = await world.leader(scene.brand_id, scene.community_a, approver=scene.owner, name="小周")
    moved = await client.post(path, json={"successor_leader_id": successor.leader_id}, headers=staff)
    assert moved.json() == {"transferred": 1}
    seen = (await client.get(f"/api/v1/brands/{scene.brand_id}/binding", headers=member.headers)).json()
    assert (seen["leader"]["id"], seen["leader"]["name"], seen["source"]) == (successor.leader_id, "小周", "transfer")
    members_path = f"/api/v1/brands/{scene.brand_id}/leader/members"
    succ_members = (await client.get(members_path, headers=successor.actor.headers)).json()
    assert [item["member_id"] for item in succ_members["items"]] == [bound.member_id]


async def test_disputes_over_http(client, world, scene, ctx):
    member = await world.user()
    bound = await enter(ctx, member, scene.wang.code)
    await enter(ctx, member, scene.li.code)
    stranger = await enter(ctx, await world.user(), scene.wang.code)
    claims = f"/api/v1/brands/{scene.brand_id}/leader/disputes"
    li, wang = scene.li.actor.headers, scene.wang.actor.headers

    probe = await client.post(claims, json={"member_id": stranger.member_id, "reason": "试试"}, headers=li)
    assert error_code(probe) == (404, "dispute_member_not_found")
    blank = await client.post(claims, json={"member_id": bound.member_id, "reason": "   "}, headers=li)
    assert error_code(blank) == (422, "reason_required")
    opened = await client.post(claims, json={"member_id": bound.member_id, "reason": "她是我楼下邻居"}, headers=li)
    assert opened.status_code == 201
    dispute = opened.json()
    assert dispute["status"] == "open" and dispute["bound_leader"]["name"] == "王*"
    assert dispute["member"]["phone"] == mask_phone(member.phone)
    again = await client.post(claims, json={"member_id": bound.member_id, "reason": "再申诉"}, headers=li)
    assert error_code(again) == (409, "dispute_exists")
    own = await client.post(claims, json={"member_id": bound.member_id, "reason": "x"}, headers=wang)
    assert error_code(own) == (409, "dispute_own_member")

    assert (await client.get(claims, headers=li)).json()["total"] == 1
    assert (await client.get(claims, headers=wang)).json()["total"] == 0

    queue = f"/api/v1/brands/{scene.brand_id}/disputes"
    listed = (await client.get(queue, params={"status": "open"}, headers=scene.owner.headers)).json()
    assert [d["id"] for d in listed["items"]] == [dispute["id"]]
    assert listed["items"][0]["claimant"]["name"] == "小李" and listed["items"][0]["bound_leader"]["name"] == "王姐"
    bad_filter = await client.get(queue, params={"status": "pending"}, headers=scene.owner.headers)
    assert error_code(bad_filter) == (422, "dispute_status_filter_invalid")

    resolve = f"{queue}/{dispute['id']}/resolve"
    no_reason = await client.post(resolve, json={"decision": "upheld"}, headers=scene.owner.headers)
    assert error_code(no_reason) == (422, "invalid_request")
    upheld = await client.post(resolve, json={"decision": "upheld", "reason": "有聊天记录为证"}, headers=scene.owner.headers)
    assert upheld.status_code == 200
    assert (upheld.json()["status"], upheld.json()["resolution_reason"]) == ("upheld", "有聊天记录为证")
    twice = await client.post(resolve, json={"decision": "rejected", "reason": "改主意"}, headers=scene.owner.headers)
    assert error_code(twice) == (409, "dispute_closed")

    seen = (await client.get(f"/api/v1/brands/{scene.brand_id}/binding", headers=member.headers)).json()
    assert (seen["leader"]["id"], seen["source"]) == (scene.li.leader_id, "dispute")
    assert (await client.get(queue, params={"status": "open"}, headers=scene.owner.headers)).json()["total"] == 0
    trail = (await client.get(f"/api/v1/brands/{scene.brand_id}/leader/trail", headers=li)).json()
    assert (trail["items"][0]["kind"], trail["items"][0]["reason"], trail["items"][0]["note"]) == (
        "transferred", "dispute_upheld", f"申诉 #{dispute['id']}",
    )
