"""Announcing an open offer to its community with the leader's name (接下来为云顶华府的邻居们……@小李)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from linli.outbox.models import OutboxEvent
from tests.factories import World, make_bound_member, make_listing, make_live_session, make_offer
from tests.live.conftest import Scene
from tests.live.helpers import error_code, parse_sse, place, room_events

TOPIC = "live.offer_announced"


async def open_offer(world: World, scene: Scene, *, community: int | None = None, quota: int = 100) -> tuple[int, int]:
    session_id = await make_live_session(world, scene.brand, start=True)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku)
    offer_id = await make_offer(
        world, scene.brand, session_id, listing_id, community or scene.community_a, quota=quota, open_now=True
    )
    return session_id, offer_id


def announce_url(scene: Scene, session_id: int, offer_id: int, *, brand: int | None = None) -> str:
    return f"/api/v1/brands/{brand or scene.brand}/live-sessions/{session_id}/offers/{offer_id}/announce"


async def event_count(ctx) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(OutboxEvent)) or 0)


async def test_an_announcement_reaches_every_viewer_with_the_leaders_name(client, scene: Scene, world: World, ctx):
    session_id, offer_id = await open_offer(world, scene)
    buyer = await make_bound_member(world, scene.li, name="王小明")
    await place(ctx, buyer, offer_id=offer_id, quantity=2)

    response = await client.post(announce_url(scene, session_id, offer_id), headers=scene.operator.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["banner"] == "接下来为云顶华府的邻居们带来专享价：黄金奶油草莓 ¥68.00，仅剩 98 份 @小李"

    viewer = await client.get(
        f"/api/v1/live-sessions/{session_id}/events", params={"max_seconds": 0}, headers={"Last-Event-ID": "0"}
    )
    announced = [e for e in parse_sse(viewer.text) if e["event"] == TOPIC]
    assert len(announced) == 1
    [stored] = [e for e in await room_events(ctx, session_id) if e.topic == TOPIC]
    assert announced[0]["id"] == stored.id
    data = announced[0]["data"]
    assert data == body
    assert {k: data[k] for k in (
        "session_id", "offer_id", "community_id", "community_name", "leader_id", "leader_name", "leader_badge",
        "product_name", "price_fen", "quota", "remaining", "note",
    )} == {
        "session_id": session_id, "offer_id": offer_id, "community_id": scene.community_a, "community_name": "云顶华府",
        "leader_id": scene.li.leader_id, "leader_name": "小李", "leader_badge": "云顶华府·优邻优选社区主理人",
        "product_name": "黄金奶油草莓", "price_fen": 6800, "quota": 100, "remaining": 98, "note": None,
    }


async def test_a_fresh_offer_says_first_n_and_carries_the_hosts_note(client, scene: Scene, world: World, ctx):
    session_id, offer_id = await open_offer(world, scene)
    response = await client.post(
        announce_url(scene, session_id, offer_id), json={"note": "  今晚现摘，明天到自提点  "}, headers=scene.owner.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["note"] == "今晚现摘，明天到自提点"
    assert response.json()["banner"] == (
        "接下来为云顶华府的邻居们带来专享价：黄金奶油草莓 ¥68.00，前 100 份，今晚现摘，明天到自提点 @小李"
    )


async def test_a_double_click_announces_once_then_again_after_30_seconds(client, scene: Scene, world: World, ctx, clock):
    session_id, offer_id = await open_offer(world, scene)
    url = announce_url(scene, session_id, offer_id)
    first = await client.post(url, headers=scene.owner.headers)
    assert first.status_code == 201, first.text
    before = await event_count(ctx)
    clock.advance(timedelta(seconds=29))
    again = await client.post(url, headers=scene.operator.headers)
    assert again.status_code == 429 and error_code(again) == "offer_announce_rate_limited"
    assert again.json()["error"]["details"]["retry_after_seconds"] == 1
    assert await event_count(ctx) == before
    # Another offer of the same session is not held back by the first one's announcement.
    other_listing = await make_listing(world, scene.brand, session_id, scene.sku_2)
    other = await make_offer(world, scene.brand, session_id, other_listing, scene.community_b, open_now=True)
    assert (await client.post(announce_url(scene, session_id, other), headers=scene.owner.headers)).status_code == 201
    clock.advance(timedelta(seconds=1))
    assert (await client.post(url, headers=scene.owner.headers)).status_code == 201
    topics = [(e.topic, e.payload.get("offer_id")) for e in await room_events(ctx, session_id) if e.topic == TOPIC]
    assert topics == [(TOPIC, offer_id), (TOPIC, other), (TOPIC, offer_id)]


async def test_only_an_open_offer_of_a_live_session_is_announced(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand, start=True)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku)
    draft = await make_offer(world, scene.brand, session_id, listing_id, scene.community_a)
    sold_out = await make_offer(world, scene.brand, session_id, listing_id, scene.community_b, quota=1, open_now=True)
    await place(ctx, await make_bound_member(world, scene.wang), offer_id=sold_out, quantity=1)
    closed_listing = await make_listing(world, scene.brand, session_id, scene.sku_2)
    closed = await make_offer(world, scene.brand, session_id, closed_listing, scene.community_a, open_now=True)
    await client.post(f"{scene.base}/{session_id}/offers/{closed}/close", headers=scene.owner.headers)
    scheduled = await make_live_session(world, scene.brand)
    before = await event_count(ctx)

    cases = [
        (announce_url(scene, session_id, draft), 409, "offer_status_invalid"),
        (announce_url(scene, session_id, closed), 409, "offer_status_invalid"),
        (announce_url(scene, session_id, sold_out), 409, "offer_sold_out"),
        (announce_url(scene, session_id, 999_999), 404, "offer_not_found"),
        (announce_url(scene, scheduled, draft), 404, "offer_not_found"),
        (announce_url(scene, 999_999, draft), 404, "live_session_not_found"),
    ]
    for url, status, code in cases:
        response = await client.post(url, headers=scene.owner.headers)
        assert (response.status_code, error_code(response)) == (status, code), (url, response.text)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["error"]["message"])
    for note in ("", "   ", "x" * 51, "换行\n不行"):
        response = await client.post(announce_url(scene, session_id, sold_out), json={"note": note}, headers=scene.owner.headers)
        assert response.status_code == 422, (note, response.text)
    assert await event_count(ctx) == before


async def test_an_ended_session_announces_nothing(client, scene: Scene, world: World, ctx):
    session_id, offer_id = await open_offer(world, scene)
    await client.post(f"{scene.base}/{session_id}/end", headers=scene.owner.headers)
    before = await event_count(ctx)
    response = await client.post(announce_url(scene, session_id, offer_id), headers=scene.owner.headers)
    assert response.status_code == 409 and error_code(response) == "session_not_live"
    assert await event_count(ctx) == before


async def test_who_may_announce(client, scene: Scene, world: World, ctx):
    session_id, offer_id = await open_offer(world, scene)
    url = announce_url(scene, session_id, offer_id)
    neighbour = await make_bound_member(world, scene.li)  # before counting: a first binding emits member.bound
    before = await event_count(ctx)
    assert (await client.post(url)).status_code == 401
    for actor in (scene.li.actor, neighbour, scene.member, scene.other_owner):
        response = await client.post(url, headers=actor.headers)
        assert response.status_code == 403 and error_code(response) == "staff_only", response.text
    # Another brand's staff under their own brand's path: the session is not theirs.
    foreign = await client.post(announce_url(scene, session_id, offer_id, brand=scene.other_brand), headers=scene.other_owner.headers)
    assert foreign.status_code == 404 and error_code(foreign) == "live_session_not_found"
    assert await event_count(ctx) == before
