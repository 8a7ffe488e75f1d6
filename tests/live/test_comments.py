"""Room comments: length limits, rate limits counted in stored comments, only while live."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from linli.live.models import RoomComment
from tests.factories import World, make_live_session
from tests.live.conftest import Scene
from tests.live.helpers import error_code, room_events


def url(session_id: int) -> str:
    return f"/api/v1/live-sessions/{session_id}/comments"


async def comment_count(ctx) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(RoomComment)) or 0)


async def test_a_comment_reaches_the_room_with_a_masked_name(client, scene: Scene, world: World, ctx, clock):
    session_id = await make_live_session(world, scene.brand, start=True)
    response = await client.post(url(session_id), json={"body": "  小李推荐的肯定错不了！ "}, headers=scene.member.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["body"]) == ("张*", "小李推荐的肯定错不了！")
    event = (await room_events(ctx, session_id))[-1]
    assert event.topic == "live.comment"
    assert event.payload == {
        "comment_id": body["comment_id"], "name": "张*", "body": "小李推荐的肯定错不了！",
        "created_at": clock.now().isoformat().replace("+00:00", "Z"),
    }
    nameless = await world.user(name="")  # gets a default nickname, masked like any other
    response = await client.post(url(session_id), json={"body": "好"}, headers=nameless.headers)
    assert response.status_code == 201 and response.json()["name"][1:] == "*" * (len(response.json()["name"]) - 1)


async def test_comment_length_is_checked_after_stripping(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand, start=True)
    for bad in ("", "    ", "\n\t ", "好" * 101, "坏\x00字"):
        response = await client.post(url(session_id), json={"body": bad}, headers=scene.member.headers)
        assert response.status_code == 422, repr(bad)
    assert (await client.post(url(session_id), json={}, headers=scene.member.headers)).status_code == 422
    assert await comment_count(ctx) == 0
    exactly = await client.post(url(session_id), json={"body": "  " + "好" * 100 + "  "}, headers=scene.member.headers)
    assert exactly.status_code == 201


async def test_rate_limits_per_user(client, scene: Scene, world: World, ctx, clock):
    session_id = await make_live_session(world, scene.brand, start=True)
    first = await client.post(url(session_id), json={"body": "1"}, headers=scene.member.headers)
    assert first.status_code == 201
    clock.advance(timedelta(seconds=2))
    too_fast = await client.post(url(session_id), json={"body": "2"}, headers=scene.member.headers)
    assert too_fast.status_code == 429 and error_code(too_fast) == "comment_rate_limited"
    # Someone else is not slowed down by it.
    assert (await client.post(url(session_id), json={"body": "我也来"}, headers=scene.li.actor.headers)).status_code == 201

    for n in range(2, 11):  # 9 more, 3 seconds apart: 10 within the minute
        clock.advance(timedelta(seconds=3) if n > 2 else timedelta(seconds=1))
        response = await client.post(url(session_id), json={"body": str(n)}, headers=scene.member.headers)
        assert response.status_code == 201, (n, response.text)
    clock.advance(timedelta(seconds=3))  # 30 s after the first: the 11th in a minute
    eleventh = await client.post(url(session_id), json={"body": "11"}, headers=scene.member.headers)
    assert eleventh.status_code == 429 and error_code(eleventh) == "comment_rate_limited"
    assert await comment_count(ctx) == 11  # 10 of the member's, 1 of the leader's: refusals wrote nothing
    clock.advance(timedelta(seconds=31))  # the first has left the window
    assert (await client.post(url(session_id), json={"body": "12"}, headers=scene.member.headers)).status_code == 201


async def test_comments_only_while_live_and_only_logged_in(client, scene: Scene, world: World, ctx):
    scheduled = await make_live_session(world, scene.brand)
    response = await client.post(url(scheduled), json={"body": "开播了吗"}, headers=scene.member.headers)
    assert response.status_code == 409 and error_code(response) == "session_not_live"
    ended = await make_live_session(world, scene.brand, start=True)
    await client.post(f"{scene.base}/{ended}/end", headers=scene.owner.headers)
    response = await client.post(url(ended), json={"body": "结束了"}, headers=scene.member.headers)
    assert response.status_code == 409 and error_code(response) == "session_not_live"

    live_now = await make_live_session(world, scene.brand, start=True)
    assert (await client.post(url(live_now), json={"body": "匿名"})).status_code == 401
    missing = await client.post(url(999999), json={"body": "你好"}, headers=scene.member.headers)
    assert missing.status_code == 404 and error_code(missing) == "live_session_not_found"
    assert await comment_count(ctx) == 0
