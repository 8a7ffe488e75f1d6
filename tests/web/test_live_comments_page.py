"""The live room's comments and visits over HTTP: who may post (anonymous → 登录后发言 / sign-in, CSRF), what
is stored and streamed (`live.comment`), the service's length and rate limits beside the field with the text
kept, a room that is not live; and `?code=` recording the visit and the entry as the API's visit endpoint
does (the funnel's views each time, entries once per viewer, a bad code counts nothing)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from linli.attribution import service as attribution
from linli.live import sessions as live_sessions
from linli.live import visits
from linli.live.models import RoomComment
from tests.factories import make_bound_member
from tests.web.conftest import csrf_of, sign_in_by_sms
from tests.web.test_live_room_page import RoomScene, room  # noqa: F401 - the live room fixture


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def error_beside(html: str, field: str) -> str:
    found = re.search(rf'data-error-for="{field}">([^<]*)<', html)
    assert found is not None, f"no error beside {field}"
    return found.group(1)


async def comment_bodies(ctx, session_id: int) -> list[str]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(RoomComment.body).where(RoomComment.session_id == session_id).order_by(RoomComment.id)))


async def test_anonymous_reads_comments_and_is_asked_to_sign_in(client, ctx, world, room: RoomScene):
    sid = room.web.session_id
    page = await client.get(f"/live/{sid}")
    assert "登录后发言" in text_of(page.text) and f'href="/signin?next=/live/{sid}"' in page.text
    assert 'data-testid="comment-form"' not in page.text and "还没有人发言" in text_of(page.text)
    posted = await client.post(f"/live/{sid}/comments", data={"csrf_token": csrf_of(page.text), "body": "你好"})
    assert posted.status_code == 303 and posted.headers["location"] == f"/signin?next=/live/{sid}"
    assert await comment_bodies(ctx, sid) == []


async def test_a_member_posts_a_comment_everyone_reads_and_the_stream_carries(client, ctx, world, room: RoomScene):
    sid = room.web.session_id
    member = await make_bound_member(world, room.web.li, name="张三")
    await sign_in_by_sms(client, ctx, member.phone)
    page = await client.get(f"/live/{sid}")
    assert 'data-testid="comment-form"' in page.text and 'maxlength="100"' in page.text
    for data in ({"body": "小李推荐的肯定错不了！"}, {"body": "小李推荐的肯定错不了！", "csrf_token": "forged"}):
        refused = await client.post(f"/live/{sid}/comments", data=data)
        assert refused.status_code == 403 and "页面已过期" in text_of(refused.text)
    assert await comment_bodies(ctx, sid) == []
    posted = await client.post(f"/live/{sid}/comments", data={"csrf_token": csrf_of(page.text), "body": "  小李推荐的肯定错不了！ "})
    assert posted.status_code == 303 and posted.headers["location"] == f"/live/{sid}#comments"
    assert await comment_bodies(ctx, sid) == ["小李推荐的肯定错不了！"]
    again = await client.get(f"/live/{sid}")
    assert "张* ：小李推荐的肯定错不了！" in text_of(again.text) and 'data-testid="no-comments" hidden' in again.text
    # Another viewer, anonymous, reads it too; and the room's stream carries it as live.comment.
    client.cookies.clear()
    assert "张* ：小李推荐的肯定错不了！" in text_of((await client.get(f"/live/{sid}")).text)
    stream = await client.get(f"/api/v1/live-sessions/{sid}/events?last_event_id=0&max_seconds=0.5")
    assert "event: live.comment" in stream.text and "小李推荐的肯定错不了！" in stream.text


async def test_limits_are_shown_beside_the_field_with_the_text_kept(client, ctx, world, room: RoomScene):
    sid = room.web.session_id
    member = await make_bound_member(world, room.web.li)
    await sign_in_by_sms(client, ctx, member.phone)
    token = csrf_of((await client.get(f"/live/{sid}")).text)
    long_text = "草" * 101
    too_long = await client.post(f"/live/{sid}/comments", data={"csrf_token": token, "body": long_text})
    assert too_long.status_code == 422 and error_beside(too_long.text, "body") == "评论须为 1 到 100 个字"
    assert f'value="{long_text}"' in too_long.text
    empty = await client.post(f"/live/{sid}/comments", data={"csrf_token": token, "body": "   "})
    assert empty.status_code == 422 and error_beside(empty.text, "body") == "评论须为 1 到 100 个字"
    first = await client.post(f"/live/{sid}/comments", data={"csrf_token": token, "body": "第一条"})
    assert first.status_code == 303
    fast = await client.post(f"/live/{sid}/comments", data={"csrf_token": token, "body": "第二条"})
    assert fast.status_code == 429 and error_beside(fast.text, "body") == "发言太快了，请 3 秒后再试"
    assert 'value="第二条"' in fast.text
    for n in range(9):  # 10 a minute: nine more, 4 seconds apart, then the eleventh is refused
        ctx.clock.advance(timedelta(seconds=4))
        assert (await client.post(f"/live/{sid}/comments", data={"csrf_token": token, "body": f"第 {n} 条"})).status_code == 303
    ctx.clock.advance(timedelta(seconds=4))
    eleventh = await client.post(f"/live/{sid}/comments", data={"csrf_token": token, "body": "还想说"})
    assert eleventh.status_code == 429 and error_beside(eleventh.text, "body") == "每分钟最多发言 10 次，请稍后再试"
    assert len(await comment_bodies(ctx, sid)) == 10


async def test_no_comments_when_the_room_is_not_live_and_unknown_rooms_are_404(client, ctx, world, room: RoomScene):
    sid = room.web.session_id
    member = await make_bound_member(world, room.web.li)
    await sign_in_by_sms(client, ctx, member.phone)
    token = csrf_of((await client.get(f"/live/{sid}")).text)
    async with ctx.db.transaction() as s:
        await live_sessions.end_session(session=s, brand_id=room.web.brand_id, session_id=sid, now=ctx.clock.now())
    ended = await client.get(f"/live/{sid}")
    assert "直播未在进行中，暂不能评论" in text_of(ended.text)
    assert re.search(r'data-testid="comment-form".*?<button type="submit" class="primary" disabled>发送</button>', ended.text, re.S)
    refused = await client.post(f"/live/{sid}/comments", data={"csrf_token": token, "body": "还在吗"})
    assert refused.status_code == 409 and error_beside(refused.text, "body") == "直播未在进行中，暂不能评论"
    assert 'value="还在吗"' in refused.text
    unknown = await client.post("/live/999999/comments", data={"csrf_token": token, "body": "你好"})
    assert unknown.status_code == 404 and 'data-testid="error-page"' in unknown.text
    assert await comment_bodies(ctx, sid) == []


async def funnel_row(ctx, brand_id: int, session_id: int, leader_id: int | None) -> tuple[int, int]:
    async with ctx.db.read() as s:
        result = await visits.funnel(session=s, brand_id=brand_id, session_id=session_id)
    rows = [(r.views, r.entries) for r in result.rows if r.leader_id == leader_id]
    return rows[0] if rows else (0, 0)  # a leader appears once someone came through their code


async def test_opening_the_room_through_a_code_counts_views_and_one_entry_per_viewer(client, ctx, world, room: RoomScene):
    web = room.web
    sid, li = web.session_id, web.li
    assert await funnel_row(ctx, web.brand_id, sid, li.leader_id) == (0, 0)
    anonymous = await client.get(f"/live/{sid}?code={li.code}")
    assert anonymous.status_code == 200
    assert await funnel_row(ctx, web.brand_id, sid, li.leader_id) == (1, 0)  # a view, no entry without sign-in
    assert f"/signin?next=/live/{sid}%3Fcode%3D{li.code}" in anonymous.text  # signing in comes back through the code
    await client.get(f"/live/{sid}")
    assert await funnel_row(ctx, web.brand_id, sid, None) == (1, 0)  # without a code: the row of no leader

    newcomer = await world.user(name="新邻居")
    await sign_in_by_sms(client, ctx, newcomer.phone)
    first = await client.get(f"/live/{sid}?code={li.code}")
    assert "绑定成功，之后的订单都算在这位团长名下" in text_of(first.text)
    assert await funnel_row(ctx, web.brand_id, sid, li.leader_id) == (2, 1)
    async with ctx.db.read() as s:
        binding = await attribution.member_binding(session=s, brand_id=web.brand_id, user_id=newcomer.user_id, now=ctx.clock.now())
    assert binding is not None and binding.leader_id == li.leader_id
    second = await client.get(f"/live/{sid}?code={li.code}")
    assert "您已是这位团长的邻居" in text_of(second.text)
    assert await funnel_row(ctx, web.brand_id, sid, li.leader_id) == (3, 1)  # entries: once per viewer

    wang_neighbour_page = await client.get(f"/live/{sid}?code={web.wang.code}")  # bound to 小李 already
    assert wang_neighbour_page.status_code == 200 and "归属不变" in text_of(wang_neighbour_page.text)
    assert await funnel_row(ctx, web.brand_id, sid, web.wang.leader_id) == (1, 1)

    bad = await client.get(f"/live/{sid}?code=ZZZZZZZZ")
    assert bad.status_code == 200 and "邀请码不存在" in text_of(bad.text)  # the room is still shown
    async with ctx.db.read() as s:
        total = (await visits.funnel(session=s, brand_id=web.brand_id, session_id=sid)).totals
    assert (total.views, total.entries) == (5, 2)  # the bad code counted nothing
    assert (await client.get("/live/999999?code=" + li.code)).status_code == 404


async def test_a_leader_opening_their_own_link_is_counted_never_bound(client, ctx, room: RoomScene):
    web = room.web
    client.cookies.set("linli_session", web.li.actor.token)
    page = await client.get(f"/live/{web.session_id}?code={web.li.code}")
    assert "这是您自己的邀请码，本次进入已计入浏览，不做绑定" in text_of(page.text)
    assert await funnel_row(ctx, web.brand_id, web.session_id, web.li.leader_id) == (1, 1)
    async with ctx.db.read() as s:
        assert await attribution.member_binding(
            session=s, brand_id=web.brand_id, user_id=web.li.actor.user_id, now=ctx.clock.now()
        ) is None
