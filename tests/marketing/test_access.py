"""Who may call each campaign-kit route, and who may not."""

from __future__ import annotations

from tests.factories import World
from tests.marketing.conftest import Scene, scheduled_session
from tests.marketing.helpers import kits_of, snapshot, work


async def test_staff_routes_are_for_this_brands_staff_only(client, scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    await work(ctx)
    base = f"/api/v1/brands/{scene.brand}"
    calls = [
        ("GET", f"{base}/copy-templates", None),
        ("POST", f"{base}/copy-templates", {"name": "x", "body": "{团长}"}),
        ("GET", f"{base}/live-sessions/{session_id}/campaign", None),
        ("PUT", f"{base}/live-sessions/{session_id}/campaign/template", {"copy_template_id": None}),
        ("GET", f"{base}/live-sessions/{session_id}/kits", None),
    ]
    before = await snapshot(ctx)
    for method, url, body in calls:
        assert (await client.request(method, url, json=body)).status_code == 401
        for actor in (scene.member, scene.leader.actor, scene.other_owner, scene.other_leader.actor):
            response = await client.request(method, url, json=body, headers=actor.headers)
            assert response.status_code == 403, (method, url, response.text)
    assert await snapshot(ctx) == before
    for actor in (scene.owner, scene.operator):
        listed = await client.get(f"{base}/live-sessions/{session_id}/kits", headers=actor.headers)
        assert listed.status_code == 200 and listed.json()["total"] == 2


async def test_a_leader_reads_only_their_own_kits(client, scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    await work(ctx)
    made = await kits_of(ctx, session_id)
    mine, theirs = made[scene.leader.leader_id], made[scene.second.leader_id]
    url = f"/api/v1/brands/{scene.brand}/leader/kits"
    assert (await client.get(url)).status_code == 401
    for actor in (scene.member, scene.owner, scene.other_leader.actor):
        assert (await client.get(url, headers=actor.headers)).status_code == 403
    assert [k["id"] for k in (await client.get(url, headers=scene.leader.actor.headers)).json()["items"]] == [mine.id]
    # Another leader's poster, or one asked for under another brand, is not there.
    poster = f"/api/v1/brands/{scene.brand}/leader/kits/{theirs.id}/poster.png"
    assert (await client.get(poster, headers=scene.leader.actor.headers)).status_code == 404
    assert (await client.get(poster, headers=scene.owner.headers)).status_code == 403
    elsewhere = f"/api/v1/brands/{scene.other_brand}/leader/kits/{mine.id}/poster.png"
    assert (await client.get(elsewhere, headers=scene.other_leader.actor.headers)).status_code == 404
