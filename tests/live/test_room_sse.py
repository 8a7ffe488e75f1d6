"""The real-time room over Server-Sent Events: snapshot, ordered events with ids, resume, end of stream.

httpx's ASGITransport hands back a response only once its body is complete, so the HTTP tests read
finite streams (`max_seconds=0`, or a session that is over); the tests that interleave writes with a
connected viewer drive the same generator the route streams (`linli.live.room.room_events`).
"""

from __future__ import annotations

from contextlib import aclosing
from datetime import timedelta

from linli.live import room
from linli.live import comments as live_comments
from linli.live import service as live
from linli.live import sessions as live_sessions
from linli.outbox.models import OutboxEvent
from tests.factories import World, make_bound_member, make_listing, make_live_session, make_offer
from tests.live.conftest import Scene
from tests.live.helpers import error_code, parse_sse, place, room_events

FAST = {"poll_seconds": 0.01}


async def flash_sale(world: World, scene: Scene) -> tuple[int, int, int]:
    """A live session with one listing and 小李's open offer; one of his neighbours bought 2."""
    session_id = await make_live_session(world, scene.brand, start=True)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku, allocation=500)
    offer_id = await make_offer(world, scene.brand, session_id, listing_id, scene.community_a, quota=100, open_now=True)
    buyer = await make_bound_member(world, scene.li, name="王小明")
    await place(world.ctx, buyer, offer_id=offer_id, quantity=2)
    return session_id, listing_id, offer_id


async def stream(client, session_id: int, *, headers: dict | None = None, **params) -> list[dict]:
    response = await client.get(f"/api/v1/live-sessions/{session_id}/events", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    return parse_sse(response.text)


async def test_snapshot_on_connect(client, scene: Scene, world: World, ctx):
    session_id, listing_id, offer_id = await flash_sale(world, scene)
    events = await stream(client, session_id, max_seconds=0)
    assert [e["event"] for e in events] == ["snapshot"]
    snap = events[0]
    stored = await room_events(ctx, session_id)
    assert snap["id"] == snap["data"]["as_of_event_id"] == stored[-1].id
    data = snap["data"]
    assert data["session"]["status"] == "live"
    assert data["session"]["current_phase"]["code"] == "brand_story"
    assert [(x["id"], x["remaining"]) for x in data["listings"]] == [(listing_id, 498)]
    [offer] = data["offers"]
    assert (offer["id"], offer["remaining"], offer["price_fen"], offer["community_name"], offer["leader_name"]) == (
        offer_id, 98, 6800, "云顶华府", "小李",
    )
    assert offer["eligible"] is None


async def test_events_arrive_in_order_with_their_outbox_ids(client, scene: Scene, world: World, ctx):
    session_id, listing_id, offer_id = await flash_sale(world, scene)
    events = await stream(client, session_id, headers={"Last-Event-ID": "0"}, max_seconds=0)
    stored = await room_events(ctx, session_id)
    assert events[0]["event"] == "snapshot" and events[0]["id"] is None  # a resume keeps the browser's last id
    assert [(e["id"], e["event"]) for e in events[1:]] == [(x.id, x.topic) for x in stored]
    assert [e["event"] for e in events[1:]] == [
        "live.session_scheduled", "live.session_started", "live.listing_added", "live.offer_opened", "live.stock",
        "live.order_ticker",
    ]
    stock, ticker = events[-2]["data"], events[-1]["data"]
    assert stock == {"listing_id": listing_id, "listing_remaining": 498, "offer_id": offer_id, "offer_remaining": 98}
    assert (ticker["name"], ticker["community"], ticker["quantity"]) == ("王**", "云顶华府", 2)


async def test_last_event_id_resumes_after_it(client, scene: Scene, world: World, ctx):
    session_id, _, _ = await flash_sale(world, scene)
    stored = await room_events(ctx, session_id)
    opened = next(x for x in stored if x.topic == "live.offer_opened")

    by_header = await stream(client, session_id, headers={"Last-Event-ID": str(opened.id)}, max_seconds=0)
    assert [e["event"] for e in by_header] == ["snapshot", "live.stock", "live.order_ticker"]
    by_query = await stream(client, session_id, last_event_id=str(opened.id), max_seconds=0)
    assert [e["event"] for e in by_query] == ["snapshot", "live.stock", "live.order_ticker"]
    caught_up = await stream(client, session_id, headers={"Last-Event-ID": str(stored[-1].id)}, max_seconds=0)
    assert [e["event"] for e in caught_up] == ["snapshot"]
    # Something that is not an event id is ignored: a fresh connection.
    garbage = await stream(client, session_id, headers={"Last-Event-ID": "abc"}, max_seconds=0)
    assert [(e["event"], e["id"]) for e in garbage] == [("snapshot", stored[-1].id)]


async def test_a_finished_session_sends_session_ended_and_closes(client, scene: Scene, world: World, ctx):
    session_id, _, offer_id = await flash_sale(world, scene)
    async with ctx.db.transaction() as s:
        await live_sessions.end_session(session=s, brand_id=scene.brand, session_id=session_id, now=ctx.clock.now())

    events = await stream(client, session_id)  # no max_seconds: the stream ends by itself
    assert [e["event"] for e in events] == ["snapshot", "session_ended"]
    assert events[0]["data"]["session"]["status"] == "ended" and events[0]["data"]["offers"] == []
    assert events[-1]["data"] == {"session_id": session_id, "status": "ended"}

    stored = await room_events(ctx, session_id)
    replay = await stream(client, session_id, headers={"Last-Event-ID": str(stored[-4].id)})
    assert [e["event"] for e in replay] == [
        "snapshot", "live.order_ticker", "live.offer_closed", "live.session_ended", "session_ended",
    ]
    assert replay[2]["data"]["offer_id"] == offer_id

    cancelled = await make_live_session(world, scene.brand)
    async with ctx.db.transaction() as s:
        await live_sessions.cancel_session(session=s, brand_id=scene.brand, session_id=cancelled, now=ctx.clock.now())
    events = await stream(client, cancelled)
    assert [e["event"] for e in events] == ["snapshot", "session_ended"]
    assert events[-1]["data"]["status"] == "cancelled"


async def test_unknown_session_is_404_before_streaming(client):
    response = await client.get("/api/v1/live-sessions/999999/events")
    assert response.status_code == 404 and error_code(response) == "live_session_not_found"
    assert (await client.get("/api/v1/live-sessions/1/events", params={"max_seconds": -1})).status_code == 422


async def test_a_connected_viewer_sees_the_show_live(scene: Scene, world: World, ctx, clock):
    """Writes committed while a viewer is connected reach them in order; the end of the show closes the stream."""
    session_id, listing_id, offer_id = await flash_sale(world, scene)
    neighbour = await make_bound_member(world, scene.li, name="李四")
    chunks: list[str] = []
    async with aclosing(room.room_events(ctx=ctx, session_id=session_id, **FAST)) as body:
        chunks.append(await anext(body))  # retry
        chunks.append(await anext(body))  # snapshot
        async with ctx.db.transaction() as s:
            await live_sessions.advance_phase(session=s, brand_id=scene.brand, session_id=session_id, now=clock.now())
        chunks.append(await anext(body))
        async with ctx.db.transaction() as s:
            await live_comments.post_comment(session=s, session_id=session_id, user_id=neighbour.user_id, body="小李推荐的肯定错不了！", now=clock.now())
        chunks.append(await anext(body))
        await place(ctx, neighbour, offer_id=offer_id, quantity=1)
        async with ctx.db.transaction() as s:
            await live_sessions.end_session(session=s, brand_id=scene.brand, session_id=session_id, now=clock.now())
        chunks.extend([chunk async for chunk in body])  # ends by itself after session_ended

    assert chunks[0].startswith("retry: ")
    events = parse_sse("".join(chunks))
    assert [e["event"] for e in events] == [
        "snapshot", "live.phase_changed", "live.comment", "live.stock", "live.order_ticker", "live.offer_closed",
        "live.session_ended", "session_ended",
    ]
    ids = [e["id"] for e in events[1:-1]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert events[1]["data"]["current_phase"]["code"] == "group_buy"
    assert (events[2]["data"]["name"], events[2]["data"]["body"]) == ("李*", "小李推荐的肯定错不了！")
    assert events[3]["data"]["offer_remaining"] == 97


async def test_heartbeat_and_disconnect(scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand, start=True)
    body = room.room_events(ctx=ctx, session_id=session_id, max_seconds=0, heartbeat_seconds=0, **FAST)
    text = "".join([chunk async for chunk in body])
    assert ": heartbeat\n\n" in text

    calls = 0

    async def gone() -> bool:
        nonlocal calls
        calls += 1
        return True

    body = room.room_events(ctx=ctx, session_id=session_id, is_disconnected=gone, **FAST)
    events = parse_sse("".join([chunk async for chunk in body]))
    assert [e["event"] for e in events] == ["snapshot"] and calls == 1


async def test_a_late_commit_is_sent_once(scene: Scene, world: World, ctx, clock):
    """An event that becomes visible after one with a higher id (PostgreSQL hands ids out at insert) still
    reaches a connected viewer, once. Simulated with explicit ids on both databases."""
    session_id = await make_live_session(world, scene.brand, start=True)
    stream_name = live.room_stream(session_id)

    async def write(event_id: int, topic: str) -> None:
        async with ctx.db.transaction() as s:
            s.add(
                OutboxEvent(
                    id=event_id, topic=topic, stream=stream_name, payload={"n": event_id}, created_at=clock.now(),
                    available_at=clock.now(),
                )
            )

    async with aclosing(room.room_events(ctx=ctx, session_id=session_id, lookback_seconds=60, **FAST)) as body:
        await anext(body)
        snap = parse_sse(await anext(body))[0]
        base = snap["data"]["as_of_event_id"]
        await write(base + 1000, "live.first")
        first = parse_sse(await anext(body))
        await write(base + 500, "live.late")
        late = parse_sse(await anext(body))
        await write(base + 1001, "live.next")
        after = parse_sse(await anext(body))
    assert [(e["id"], e["event"]) for e in first] == [(base + 1000, "live.first")]
    assert [(e["id"], e["event"]) for e in late] == [(base + 500, "live.late")]
    assert [(e["id"], e["event"]) for e in after] == [(base + 1001, "live.next")]  # the late one is not repeated


async def test_snapshot_has_the_last_comments(client, scene: Scene, world: World, ctx, clock):
    session_id = await make_live_session(world, scene.brand, start=True)
    for name, text in (("张三", "来了来了"), ("李四", "草莓看着好甜")):
        viewer = await world.user(name=name)
        async with ctx.db.transaction() as s:
            await live_comments.post_comment(session=s, session_id=session_id, user_id=viewer.user_id, body=text, now=clock.now())
        clock.advance(timedelta(seconds=1))
    [snap] = await stream(client, session_id, max_seconds=0)
    assert [(c["name"], c["body"]) for c in snap["data"]["comments"]] == [("张*", "来了来了"), ("李*", "草莓看着好甜")]
