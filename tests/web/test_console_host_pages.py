"""The host's control panel over HTTP, on the demo's live strawberry evening: who may open it and post each action
(anonymous, a member, the leader 小李, another brand's staff), CSRF, what each action does in the database, and
the refusals beside their buttons (a double submit of 下一环节 advances once, opening an open offer, announcing
twice within 30 s)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from linli.live import sessions as live_sessions
from linli.live import visits
from linli.live.models import LiveSession
from linli.outbox.models import OutboxEvent
from tests.factories import make_live_session
from tests.web.conftest import csrf_of
from tests.web.host_scene import HostScene, host_scene, seen
from tests.web.test_workbench_pages import text_of
from tests.web.workbench_scene import become, sign_in_as

ACTIONS = ["start", "advance", "end", "open", "close", "announce"]


def action_of(scene: HostScene, name: str) -> tuple[str, dict[str, str]]:
    """Where each button posts and the fields its form sends (besides the CSRF token)."""
    return {
        "start": ("/start", {}),
        "advance": ("/advance", {"expected_phase": "1"}),
        "end": ("/end", {}),
        "open": (f"/offers/{scene.draft_offer_id}/open", {}),
        "close": (f"/offers/{scene.open_offer_id}/close", {}),
        "announce": (f"/offers/{scene.open_offer_id}/announce", {"note": "今晚现摘"}),
    }[name]


async def as_staff(client, ctx) -> str:
    await sign_in_as(client, ctx, login="youlin-owner")
    return csrf_of((await client.get("/me")).text)


async def post(client, scene: HostScene, token: str, name: str, **extra: str):
    path, data = action_of(scene, name)
    return await client.post(scene.panel + path, data={"csrf_token": token, **data, **extra})


async def test_staff_see_the_session_its_run_of_show_offers_stock_and_funnel(client, ctx):
    scene = await host_scene(ctx)
    await as_staff(client, ctx)
    response = await client.get(scene.panel)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = text_of(response.text)
    assert "主播控制台 · 黄金奶油草莓·邻里专场" in page and "直播状态 直播中" in page and "开播于：" in page
    assert "当前：社区专享团购" in page
    assert 'name="expected_phase" value="1"' in response.text  # the phase the host sees, sent with 下一环节
    assert f'href="/brands/{scene.demo.brand_id}/console/sessions/{scene.session_id}"' in response.text
    assert 'aria-current="page">直播场次' in response.text
    open_row = text_of(response.text.split(f'data-testid="host-offer-{scene.open_offer_id}"')[1].split("</tr>")[0])
    assert "云顶华府 小李 黄金奶油草莓" in open_row and "¥68.00" in open_row and "100 / 100" in open_row
    assert "进行中" in open_row
    draft_row = text_of(response.text.split(f'data-testid="host-offer-{scene.draft_offer_id}"')[1].split("</tr>")[0])
    assert "翠湖花园 王姐 爱媛果冻橙" in draft_row and "¥39.90" in draft_row and "20 / 20" in draft_row and "草稿" in draft_row
    # The demo's oranges: six neighbours bought 9 of 100 as the evening opened.
    assert f'data-listing-remaining="{scene.orange_listing_id}">91</strong> / 100' in response.text
    assert 'data-testid="funnel-orders">' in response.text and 'hx-trigger="every 5s"' in response.text
    assert "/static/web/host_panel.js" in response.text
    assert response.text.count('name="csrf_token"') >= 7  # every button is a form with the token


async def test_the_funnel_fragment_counts_views_entries_and_orders(client, ctx):
    scene = await host_scene(ctx)
    await as_staff(client, ctx)
    before = await client.get(scene.panel + "/funnel")
    assert before.status_code == 200 and "<html" not in before.text
    async with ctx.db.read() as s:
        funnel = await visits.funnel(session=s, brand_id=scene.demo.brand_id, session_id=scene.session_id)
    total = funnel.totals
    assert f'data-testid="funnel-orders">{total.orders}</strong>' in before.text and total.orders > 0
    async with ctx.db.transaction() as s:  # an anonymous viewer opens the room
        await visits.record_visit(session=s, session_id=scene.session_id, user_id=None, invite_code=None, now=ctx.clock.now())
    after = await client.get(scene.panel + "/funnel")
    assert f'data-testid="funnel-views">{total.views + 1}</strong>' in after.text


@pytest.mark.parametrize("who", ["anonymous", "member", "leader", "other-brand-staff"])
async def test_who_may_not_open_the_panel_or_post_its_buttons(client, ctx, world, who):
    scene = await host_scene(ctx)
    await become(client, ctx, world, who)
    token = csrf_of((await client.get("/signin" if who == "anonymous" else "/me")).text)
    before = await seen(ctx, scene.session_id)
    for path in (scene.panel, scene.panel + "/funnel"):
        response = await client.get(path)
        if who == "anonymous":
            assert response.status_code == 303 and response.headers["location"] == f"/signin?next={path}"
        else:
            assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
            assert "仅限本品牌员工操作" in text_of(response.text)
    for name in ACTIONS:
        response = await post(client, scene, token, name)
        if who == "anonymous":
            assert response.status_code == 303 and response.headers["location"] == f"/signin?next={scene.panel}", name
        else:
            assert response.status_code == 403 and "仅限本品牌员工操作" in text_of(response.text), name
    assert await seen(ctx, scene.session_id) == before  # nothing changed, no event written


@pytest.mark.parametrize("token", ["", "forged-token"])
async def test_every_button_needs_the_pages_csrf_token(client, ctx, token):
    scene = await host_scene(ctx)
    await as_staff(client, ctx)
    before = await seen(ctx, scene.session_id)
    for name in ACTIONS:
        response = await post(client, scene, token, name)
        assert response.status_code == 403 and "页面已过期或来源不明" in text_of(response.text), name
    assert await seen(ctx, scene.session_id) == before


async def test_unknown_or_another_brands_session_is_the_404_page(client, ctx, world):
    scene = await host_scene(ctx)
    other = await world.brand(name="鲜果邻里", slug="xianguo")
    theirs = await make_live_session(world, other, start=True)
    token = await as_staff(client, ctx)
    base = f"/brands/{scene.demo.brand_id}/console/sessions"
    for path in (f"{base}/999999/host", f"{base}/{theirs}/host", f"{base}/{theirs}/host/funnel"):
        response = await client.get(path)
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html"), path
    response = await client.post(f"{base}/{theirs}/host/advance", data={"csrf_token": token, "expected_phase": "0"})
    assert response.status_code == 404
    response = await client.post(scene.panel + "/offers/999999/open", data={"csrf_token": token})
    assert response.status_code == 404 and "社区专享价不存在" in text_of(response.text)
    async with ctx.db.read() as s:
        assert (await s.get(LiveSession, theirs)).current_phase == 0


async def test_advance_moves_on_once_and_a_double_submit_is_refused_beside_the_button(client, ctx):
    scene = await host_scene(ctx)
    token = await as_staff(client, ctx)
    before = await seen(ctx, scene.session_id)
    first = await post(client, scene, token, "advance")
    assert first.status_code == 303 and first.headers["location"] == scene.panel + "?done=advanced"
    assert (await seen(ctx, scene.session_id)).current_phase == 2
    done = await client.get(first.headers["location"])
    assert "当前：添加你的社区主理人" in text_of(done.text) and "已切换到下一环节" in text_of(done.text)
    assert "已是最后一个环节" in text_of(done.text)
    second = await post(client, scene, token, "advance")  # the same form again: expected phase 1
    assert second.status_code == 409
    assert 'data-error-for="advanced">环节已切换到「添加你的社区主理人」，未再次切换；请确认后再操作' in second.text
    after = await seen(ctx, scene.session_id)
    assert after.current_phase == 2 and after.room_events == before.room_events + 1  # one live.phase_changed


async def test_open_then_close_an_offer_and_each_twice_is_refused(client, ctx):
    scene = await host_scene(ctx)
    token = await as_staff(client, ctx)
    opened = await post(client, scene, token, "open")
    assert opened.status_code == 303 and opened.headers["location"] == f"{scene.panel}?done=opened&offer={scene.draft_offer_id}"
    assert (await seen(ctx, scene.session_id)).offers[scene.draft_offer_id] == "open"
    page = await client.get(opened.headers["location"])
    assert f'data-notice-for="offer-{scene.draft_offer_id}">专享价已开放' in page.text
    again = await post(client, scene, token, "open")
    assert again.status_code == 409
    assert f'data-error-for="offer-{scene.draft_offer_id}">专享价进行中，不能开放' in again.text
    events = (await seen(ctx, scene.session_id)).room_events

    closed = await client.post(f"{scene.panel}/offers/{scene.draft_offer_id}/close", data={"csrf_token": token})
    assert closed.status_code == 303
    assert (await seen(ctx, scene.session_id)).offers[scene.draft_offer_id] == "closed"
    twice = await client.post(f"{scene.panel}/offers/{scene.draft_offer_id}/close", data={"csrf_token": token})
    assert twice.status_code == 409 and "专享价已关闭，不能关闭" in text_of(twice.text)
    assert (await seen(ctx, scene.session_id)).room_events == events + 1  # one live.offer_closed, not two


async def test_announce_writes_the_banner_once_and_a_second_within_30_seconds_is_refused(client, ctx, clock):
    scene = await host_scene(ctx)
    token = await as_staff(client, ctx)
    first = await post(client, scene, token, "announce")
    assert first.status_code == 303 and first.headers["location"] == f"{scene.panel}?done=announced&offer={scene.open_offer_id}"
    async with ctx.db.read() as s:
        [event] = (await s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "live.offer_announced"))).all()
    assert event.payload["offer_id"] == scene.open_offer_id and event.payload["note"] == "今晚现摘"
    assert event.payload["banner"] == "接下来为云顶华府的邻居们带来专享价：黄金奶油草莓 ¥68.00，前 100 份，今晚现摘 @小李"
    clock.advance(timedelta(seconds=10))
    second = await post(client, scene, token, "announce", note="再播一次")
    assert second.status_code == 429
    assert f'data-error-for="offer-{scene.open_offer_id}">这条专享价刚播报过，请 20 秒后再播报' in second.text
    assert 'value="再播一次"' in second.text  # the note typed is kept
    assert (await seen(ctx, scene.session_id)).announced == 1
    too_long = await post(client, scene, token, "announce", note="长" * 51)
    assert too_long.status_code == 422 and "播报补充文字须为 1 到 50 个字" in text_of(too_long.text)


async def test_end_closes_the_open_offers_and_ending_twice_is_refused(client, ctx):
    scene = await host_scene(ctx)
    token = await as_staff(client, ctx)
    ended = await post(client, scene, token, "end")
    assert ended.status_code == 303
    after = await seen(ctx, scene.session_id)
    assert after.status == "ended" and after.offers == {scene.open_offer_id: "closed", scene.draft_offer_id: "draft"}
    page = text_of((await client.get(ended.headers["location"])).text)
    assert "直播状态 已结束" in page and "结束于：" in page and "直播已结束" in page
    again = await post(client, scene, token, "end")
    assert again.status_code == 409 and 'data-error-for="ended">直播已结束，不能结束' in again.text
    assert (await post(client, scene, token, "start")).status_code == 409


async def test_start_a_scheduled_session_once(client, ctx, world):
    scene = await host_scene(ctx)
    session_id = await make_live_session(world, scene.demo.brand_id, title="明晚的橙子")
    token = await as_staff(client, ctx)
    panel = f"/brands/{scene.demo.brand_id}/console/sessions/{session_id}/host"
    page = await client.get(panel)
    assert "直播状态 未开播" in text_of(page.text) and "当前：" not in text_of(page.text)
    started = await client.post(panel + "/start", data={"csrf_token": token})
    assert started.status_code == 303
    after = await seen(ctx, session_id)
    assert (after.status, after.current_phase) == ("live", 0)
    twice = await client.post(panel + "/start", data={"csrf_token": token})
    assert twice.status_code == 409 and 'data-error-for="started">' in twice.text
    assert (await seen(ctx, session_id)).room_events == after.room_events
    async with ctx.db.transaction() as s:  # the API's own transition still works without the page's guard
        await live_sessions.advance_phase(session=s, brand_id=scene.demo.brand_id, session_id=session_id, now=ctx.clock.now())
    assert (await seen(ctx, session_id)).current_phase == 1
