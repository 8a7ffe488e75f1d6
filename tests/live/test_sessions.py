"""Live sessions: creation with the default run-of-show, changes, every transition, lists and access."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sqlalchemy import func, select

from linli.live.models import LiveSession
from linli.outbox.models import OutboxEvent
from tests.conftest import START
from tests.factories import make_live_session
from tests.live.conftest import Scene
from tests.live.helpers import error_code, room_events, room_topics

LATER = (START + timedelta(hours=10)).isoformat()


def session_body(**overrides) -> dict:
    body = {
        "title": "黄金奶油草莓·源头直播",
        "scheduled_start_at": LATER,
        "stream_url": "https://live.example.com/room/8",
        "cover_url": "https://img.example.com/cover.jpg",
    }
    body.update(overrides)
    return body


async def create(client, scene: Scene, **overrides) -> dict:
    response = await client.post(scene.base, json=session_body(**overrides), headers=scene.operator.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def act(client, scene: Scene, session_id: int, action: str):
    return await client.post(f"{scene.base}/{session_id}/{action}", headers=scene.owner.headers)


async def row_counts(ctx) -> tuple[int, int]:
    async with ctx.db.read() as s:
        return (
            int(await s.scalar(select(func.count()).select_from(LiveSession)) or 0),
            int(await s.scalar(select(func.count()).select_from(OutboxEvent)) or 0),
        )


async def test_a_new_session_has_the_default_run_of_show(client, scene: Scene, ctx):
    body = await create(client, scene)
    assert body["status"] == "scheduled"
    assert body["current_phase"] is None
    assert body["scheduled_start_at"] == LATER.replace("+00:00", "Z")
    assert [(p["code"], p["minutes"]) for p in body["phases"]] == [("brand_story", 20), ("group_buy", 25), ("add_leader", 5)]
    assert all(p["title"] for p in body["phases"])
    assert "社区专享" in body["phases"][1]["title"]
    events = await room_events(ctx, body["id"])
    assert [e.topic for e in events] == ["live.session_scheduled"]
    assert events[0].payload["status"] == "scheduled"


async def test_custom_phases_and_an_empty_stream_url(client, scene: Scene):
    phases = [{"code": "tasting", "title": "试吃", "minutes": 10}, {"code": "flash_sale", "title": "秒杀", "minutes": 15}]
    body = await create(client, scene, phases=phases, stream_url="", cover_url="")
    assert body["phases"] == phases
    assert (body["stream_url"], body["cover_url"]) == ("", "")


async def test_bad_session_input_is_422_and_writes_nothing(client, scene: Scene, ctx):
    bad_inputs = [
        {"title": ""},
        {"title": "   "},
        {"title": "长" * 101},
        {"scheduled_start_at": "2026-11-20T20:00:00"},  # no time zone
        {"scheduled_start_at": (START - timedelta(days=3)).isoformat()},
        {"scheduled_start_at": (START + timedelta(days=400)).isoformat()},
        {"scheduled_start_at": "tomorrow"},
        {"stream_url": "rtmp://live.example.com/x"},
        {"cover_url": "javascript:alert(1)"},
        {"phases": []},
        {"phases": [{"code": "a", "title": "x", "minutes": 0}]},
        {"phases": [{"code": "a", "title": "x", "minutes": 601}]},
        {"phases": [{"code": "A B", "title": "x", "minutes": 5}]},
        {"phases": [{"code": "a", "title": "", "minutes": 5}]},
        {"phases": [{"code": "a", "title": "x", "minutes": 5}, {"code": "a", "title": "y", "minutes": 5}]},
        {"phases": [{"code": f"p{i}", "title": "x", "minutes": 5} for i in range(11)]},
    ]
    before = await row_counts(ctx)
    for overrides in bad_inputs:
        response = await client.post(scene.base, json=session_body(**overrides), headers=scene.owner.headers)
        assert response.status_code == 422, (overrides, response.text)
    assert await row_counts(ctx) == before


async def test_a_scheduled_session_can_be_changed(client, scene: Scene, ctx):
    body = await create(client, scene)
    url = f"{scene.base}/{body['id']}"
    response = await client.patch(url, json={"title": "草莓大棚直播", "cover_url": ""}, headers=scene.owner.headers)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["title"], changed["cover_url"], changed["stream_url"]) == ("草莓大棚直播", "", body["stream_url"])
    response = await client.patch(url, json={"phases": [{"code": "only", "title": "唯一环节", "minutes": 30}]}, headers=scene.owner.headers)
    assert [p["code"] for p in response.json()["phases"]] == ["only"]
    assert (await client.patch(url, json={"stream_url": "ftp://x"}, headers=scene.owner.headers)).status_code == 422
    assert await room_topics(ctx, body["id"]) == ["live.session_scheduled", "live.session_updated", "live.session_updated"]


async def test_the_whole_show_start_advance_end(client, scene: Scene, ctx, clock):
    session_id = (await create(client, scene))["id"]
    clock.advance(timedelta(minutes=1))
    started = await act(client, scene, session_id, "start")
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["status"] == "live"
    assert body["started_at"] == clock.now().isoformat().replace("+00:00", "Z")
    assert body["current_phase"]["index"] == 0 and body["current_phase"]["code"] == "brand_story"

    clock.advance(timedelta(minutes=20))
    second = (await act(client, scene, session_id, "advance")).json()
    assert (second["current_phase"]["index"], second["current_phase"]["code"]) == (1, "group_buy")
    third = (await act(client, scene, session_id, "advance")).json()
    assert third["current_phase"]["code"] == "add_leader"
    last = await act(client, scene, session_id, "advance")
    assert last.status_code == 409 and error_code(last) == "phase_last"

    ended = await act(client, scene, session_id, "end")
    assert ended.status_code == 200
    assert ended.json()["status"] == "ended" and ended.json()["ended_at"] is not None

    events = await room_events(ctx, session_id)
    assert [e.topic for e in events] == [
        "live.session_scheduled", "live.session_started", "live.phase_changed", "live.phase_changed", "live.session_ended",
    ]
    assert events[2].payload["current_phase"]["code"] == "group_buy"
    assert events[2].payload["previous_phase"] == 0
    assert [e.id for e in events] == sorted(e.id for e in events)


async def test_every_disallowed_transition_is_409(client, scene: Scene, ctx):
    scheduled = (await create(client, scene))["id"]
    live = (await create(client, scene))["id"]
    ended = (await create(client, scene))["id"]
    cancelled = (await create(client, scene))["id"]
    for session_id, steps in ((live, ["start"]), (ended, ["start", "end"]), (cancelled, ["cancel"])):
        for step in steps:
            assert (await act(client, scene, session_id, step)).status_code == 200

    disallowed = {
        scheduled: ["advance", "end"],
        live: ["start", "cancel"],
        ended: ["start", "advance", "end", "cancel"],
        cancelled: ["start", "advance", "end", "cancel"],
    }
    before = await row_counts(ctx)
    for session_id, actions in disallowed.items():
        for action in actions:
            response = await act(client, scene, session_id, action)
            assert response.status_code == 409, (session_id, action)
            assert error_code(response) == "session_status_invalid"
            assert response.json()["error"]["details"]["status"] in ("scheduled", "live", "ended", "cancelled")
        if session_id != scheduled:
            response = await client.patch(f"{scene.base}/{session_id}", json={"title": "改名"}, headers=scene.owner.headers)
            assert response.status_code == 409 and error_code(response) == "session_status_invalid"
    assert await row_counts(ctx) == before


async def test_public_lists_by_status(client, scene: Scene, clock):
    late = (await create(client, scene, title="晚场", scheduled_start_at=(START + timedelta(hours=12)).isoformat()))["id"]
    early = (await create(client, scene, title="早场", scheduled_start_at=(START + timedelta(hours=2)).isoformat()))["id"]
    live = (await create(client, scene, title="正在直播"))["id"]
    await act(client, scene, live, "start")
    gone = (await create(client, scene, title="取消场"))["id"]
    await act(client, scene, gone, "cancel")

    upcoming = (await client.get(scene.base, params={"status": "scheduled"})).json()
    assert [x["id"] for x in upcoming["items"]] == [early, late]  # soonest first
    assert [x["id"] for x in (await client.get(scene.base, params={"status": "live"})).json()["items"]] == [live]
    everything = (await client.get(scene.base)).json()
    assert everything["total"] == 3 and gone not in [x["id"] for x in everything["items"]]
    assert [x["id"] for x in (await client.get(scene.base, params={"status": "cancelled"})).json()["items"]] == [gone]
    assert (await client.get(scene.base, params={"status": "paused"})).status_code == 422
    assert (await client.get("/api/v1/brands/999999/live-sessions")).status_code == 404
    assert (await client.get(f"/api/v1/brands/{scene.other_brand}/live-sessions")).json()["total"] == 0


async def test_room_detail_is_public(client, scene: Scene):
    session_id = (await create(client, scene))["id"]
    response = await client.get(f"/api/v1/live-sessions/{session_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["session"]["id"] == session_id and body["listings"] == [] and body["offers"] == []
    missing = await client.get("/api/v1/live-sessions/999999")
    assert missing.status_code == 404 and error_code(missing) == "live_session_not_found"
    assert (await client.get("/api/v1/live-sessions/0")).status_code == 422


async def test_staff_routes_refuse_everyone_else(client, scene: Scene, world, ctx):
    session_id = await make_live_session(world, scene.brand)
    offer = {
        "listing_id": 1, "community_id": scene.community_a, "price_fen": 6800, "quota": 1, "per_member_limit": 1,
        "starts_at": START.isoformat(), "ends_at": LATER,
    }
    requests = [
        ("POST", "", session_body()),
        ("GET", f"/{session_id}", None),
        ("PATCH", f"/{session_id}", {"title": "改名"}),
        ("POST", f"/{session_id}/start", None),
        ("POST", f"/{session_id}/advance", None),
        ("POST", f"/{session_id}/end", None),
        ("POST", f"/{session_id}/cancel", None),
        ("POST", f"/{session_id}/listings", {"sku_id": scene.sku, "live_price_fen": 100, "allocation": 1}),
        ("PATCH", f"/{session_id}/listings/1", {"allocation": 2}),
        ("POST", f"/{session_id}/listings/1/withdraw", None),
        ("POST", f"/{session_id}/offers", offer),
        ("PATCH", f"/{session_id}/offers/1", {}),
        ("POST", f"/{session_id}/offers/1/open", None),
        ("POST", f"/{session_id}/offers/1/close", None),
        ("GET", f"/{session_id}/funnel", None),
    ]
    before = await row_counts(ctx)
    for method, path, body in requests:
        kwargs = {"json": body} if body is not None else {}
        url = scene.base + path
        assert (await client.request(method, url, **kwargs)).status_code == 401, (method, path)
        for actor in (scene.member, scene.li.actor, scene.other_owner):
            response = await client.request(method, url, headers=actor.headers, **kwargs)
            assert response.status_code == 403, (method, path, response.text)
            assert error_code(response) == "staff_only"
        if path:
            # The other brand's staff, on their own brand's path, find nothing of ours.
            theirs = await client.request(
                method, f"/api/v1/brands/{scene.other_brand}/live-sessions{path}", headers=scene.other_owner.headers, **kwargs
            )
            assert theirs.status_code == 404, (method, path, theirs.text)
            assert error_code(theirs) == "live_session_not_found"
    assert await row_counts(ctx) == before


async def test_advance_with_the_phase_the_host_saw_moves_once(client, scene: Scene, ctx):
    """The host panel sends the phase it showed: a double submit (or a second host) advances once."""
    from linli.errors import Conflict
    from linli.live import sessions as live_sessions

    session_id = (await create(client, scene))["id"]
    assert (await act(client, scene, session_id, "start")).status_code == 200
    async with ctx.db.transaction() as s:
        moved = await live_sessions.advance_phase(
            session=s, brand_id=scene.brand, session_id=session_id, now=ctx.clock.now(), expected_phase=0
        )
        assert moved.current_phase == 1
    with pytest.raises(Conflict) as refused:
        async with ctx.db.transaction() as s:
            await live_sessions.advance_phase(
                session=s, brand_id=scene.brand, session_id=session_id, now=ctx.clock.now(), expected_phase=0
            )
    assert refused.value.code == "phase_moved_on"
    assert refused.value.message == "环节已切换到「社区专享团购」，未再次切换；请确认后再操作"
    async with ctx.db.read() as s:
        assert (await s.get(LiveSession, session_id)).current_phase == 1
    assert (await room_topics(ctx, session_id)).count("live.phase_changed") == 1
