"""The console's 直播场次 over HTTP on the demo: who may open the list and a session and post their forms, CSRF,
what each form writes (times typed as the brand's wall clock, stored UTC; money typed in yuan), and refusals
beside their fields with what was typed kept."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from linli.demo.cast import OPERATOR_LOGIN, STRAWBERRY_TITLE
from linli.live import sessions
from linli.live.models import CommunityOffer, Listing, LiveSession
from linli.web.forms import local_input
from tests.web.conftest import csrf_of
from tests.web.test_console_catalog_pages import (
    WHO_MAY_NOT, a_sku, assert_refused, error_for, form_key_of, kept, token_for,
)
from tests.web.test_workbench_pages import other_brand_leader, text_of
from tests.web.workbench_scene import become, load, sign_in_as

TZ = "Asia/Shanghai"


def sessions_path(brand_id: int) -> str:
    return f"/brands/{brand_id}/console/sessions"


def session_path(brand_id: int, session_id: int) -> str:
    return f"{sessions_path(brand_id)}/{session_id}"


async def scheduled(ctx, brand_id: int, title: str = "赣南脐橙·果园直播") -> LiveSession:
    async with ctx.db.transaction() as s:
        return await sessions.create_session(
            session=s, brand_id=brand_id, now=ctx.clock.now(),
            data=sessions.SessionInput(title=title, scheduled_start_at=ctx.clock.now() + timedelta(days=1)),
        )


async def strawberry(ctx, brand_id: int) -> LiveSession:
    async with ctx.db.read() as s:
        return await s.scalar(select(LiveSession).where(LiveSession.brand_id == brand_id, LiveSession.title == STRAWBERRY_TITLE))


async def reread(ctx, session_id: int) -> LiveSession:
    async with ctx.db.read() as s:
        return await s.get(LiveSession, session_id)


async def counts(ctx) -> tuple[int, ...]:
    async with ctx.db.read() as s:
        return tuple([int(await s.scalar(select(func.count()).select_from(m)) or 0) for m in (LiveSession, Listing, CommunityOffer)])


async def owner_token(client, ctx, path: str, login: str = "youlin-owner") -> str:
    await sign_in_as(client, ctx, login=login)
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def test_staff_see_the_brands_sessions_in_the_brands_time(client, ctx):
    demo = await load(ctx)
    live = await strawberry(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login="youlin-owner")
    page = await client.get(sessions_path(demo.brand_id))
    assert page.status_code == 200 and 'aria-current="page">直播场次' in page.text
    row = re.search(rf'data-testid="session-{live.id}">(.*?)</tr>', page.text, re.S)
    assert row is not None
    cells = text_of(row.group(1))
    local = live.scheduled_start_at.astimezone(ZoneInfo(TZ))
    assert STRAWBERRY_TITLE in cells and "直播中" in cells and f"{local.month}月{local.day}日 {local:%H:%M}" in cells
    assert "已结束" in text_of(page.text)  # last week's grapes


async def test_a_session_page_shows_the_run_of_show_listings_offers_and_the_host_link(client, ctx):
    demo = await load(ctx)
    live = await strawberry(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login=OPERATOR_LOGIN)  # any staff role, as the API's staff view
    page = await client.get(session_path(demo.brand_id, live.id))
    assert page.status_code == 200
    assert f'href="/brands/{demo.brand_id}/console/sessions/{live.id}/host"' in page.text and "主播控制台" in page.text
    body = text_of(page.text)
    assert "品牌故事" in body and "结束直播" in body and "开播</button>" not in page.text
    async with ctx.db.read() as s:
        [listing, *_] = (await s.scalars(select(Listing).where(Listing.session_id == live.id))).all()
        [offer, *_] = (await s.scalars(select(CommunityOffer).where(CommunityOffer.session_id == live.id))).all()
    listing_row = text_of(re.search(rf'data-testid="listing-{listing.id}">(.*?)</tr>', page.text, re.S).group(1))
    assert f"¥{listing.live_price_fen // 100}." in listing_row and str(listing.allocation) in listing_row
    offer_row = text_of(re.search(rf'data-testid="offer-{offer.id}">(.*?)</tr>', page.text, re.S).group(1))
    assert "云顶华府" in offer_row and f"¥{offer.price_fen // 100}." in offer_row
    assert 'data-testid="edit-form"' not in page.text  # a live session is not edited, only moved on


@pytest.mark.parametrize("who", WHO_MAY_NOT)
async def test_who_may_not_open_the_session_pages_or_post_their_forms(client, ctx, world, who):
    demo = await load(ctx)
    live = await scheduled(ctx, demo.brand_id)
    sku = await a_sku(ctx, demo.brand_id)
    await become(client, ctx, world, who)
    assert_refused(await client.get(sessions_path(demo.brand_id)), who, sessions_path(demo.brand_id))
    here = session_path(demo.brand_id, live.id)
    assert_refused(await client.get(here), who, here)
    before = await counts(ctx)
    token = await token_for(client, who)
    start = local_input(ctx.clock.now() + timedelta(days=2), TZ)
    posts = {
        sessions_path(demo.brand_id): {"title": "别人建的场次", "scheduled_start": start},
        here: {"title": "改掉标题", "scheduled_start": start},
        here + "/phases": {"phase_code": "only", "phase_title": "唯一环节", "phase_minutes": "5", "phase_order": "1"},
        here + "/start": {}, here + "/cancel": {},
        here + "/listings": {"listing_sku_id": str(sku.id), "listing_price": "9.9", "listing_allocation": "10"},
    }
    for path, body in posts.items():
        posted = await client.post(path, data={"csrf_token": token, **body})
        assert_refused(posted, who, sessions_path(demo.brand_id) if path == sessions_path(demo.brand_id) else here)
    assert await counts(ctx) == before
    after = await reread(ctx, live.id)
    assert (after.title, after.status, len(after.phases)) == ("赣南脐橙·果园直播", "scheduled", 3)


async def test_unknown_and_another_brands_session_are_the_404_page(client, ctx, world):
    demo = await load(ctx)
    other, _ = await other_brand_leader(world)
    theirs = await scheduled(ctx, other)
    token = await owner_token(client, ctx, sessions_path(demo.brand_id))
    for session_id in (999999, theirs.id):
        page = await client.get(session_path(demo.brand_id, session_id))
        assert page.status_code == 404 and "直播场次不存在" in text_of(page.text)
        posted = await client.post(session_path(demo.brand_id, session_id) + "/cancel", data={"csrf_token": token})
        assert posted.status_code == 404 and posted.headers["content-type"].startswith("text/html")
    assert (await reread(ctx, theirs.id)).status == "scheduled"


@pytest.mark.parametrize("token", ["", "forged"])
async def test_a_post_without_a_valid_token_changes_nothing(client, ctx, token):
    demo = await load(ctx)
    live = await scheduled(ctx, demo.brand_id)
    sku = await a_sku(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login="youlin-owner")
    here = session_path(demo.brand_id, live.id)
    before = await counts(ctx)
    start = local_input(ctx.clock.now() + timedelta(days=2), TZ)
    for path, body in {
        sessions_path(demo.brand_id): {"title": "新场次", "scheduled_start": start},
        here: {"title": "改掉标题", "scheduled_start": start}, here + "/start": {}, here + "/cancel": {},
        here + "/phases": {"phase_code": "only", "phase_title": "唯一环节", "phase_minutes": "5"},
        here + "/listings": {"listing_sku_id": str(sku.id), "listing_price": "9.9", "listing_allocation": "10"},
        here + "/offers": {"offer_price": "9.9"},
    }.items():
        posted = await client.post(path, data={"csrf_token": token, **body})
        assert posted.status_code == 403 and "页面已过期或来源不明" in text_of(posted.text)
    assert await counts(ctx) == before
    assert (await reread(ctx, live.id)).title == "赣南脐橙·果园直播"


async def test_scheduling_a_session_reads_the_brands_wall_clock(client, ctx):
    demo = await load(ctx)
    token = await owner_token(client, ctx, sessions_path(demo.brand_id))
    when = (ctx.clock.now() + timedelta(days=3)).astimezone(ZoneInfo(TZ)).replace(hour=20, minute=0)
    body = {"csrf_token": token, "title": "赣南脐橙·果园直播", "scheduled_start": when.strftime("%Y-%m-%dT%H:%M"), "stream_url": ""}
    created = await client.post(sessions_path(demo.brand_id), data=body)
    assert created.status_code == 303
    async with ctx.db.read() as s:
        live = await s.scalar(select(LiveSession).where(LiveSession.title == "赣南脐橙·果园直播"))
    assert created.headers["location"] == session_path(demo.brand_id, live.id) + "?done=created"
    assert live.status == "scheduled" and live.scheduled_start_at == when  # 20:00 in Shanghai is 12:00 UTC
    assert live.scheduled_start_at.astimezone(UTC).hour == 12
    assert [p["code"] for p in live.phases] == ["brand_story", "group_buy", "add_leader"]
    page = await client.get(sessions_path(demo.brand_id))
    assert f"{when.month}月{when.day}日 20:00" in text_of(page.text)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"scheduled_start": "明晚八点"}, "scheduled_start", "请填写开播时间（年-月-日 时:分）"),
        ({"scheduled_start": "2020-01-01T20:00"}, "scheduled_start", "开播时间须在一天前到一年后之间"),
        ({"title": " "}, "title", "直播标题须为 1 到 100 个字"),
        ({"stream_url": "rtmp://x"}, "stream_url", "直播流地址必须是 http(s) 开头的网址"),
    ],
)
async def test_a_refused_session_says_why_beside_the_field(client, ctx, change, field, message):
    demo = await load(ctx)
    token = await owner_token(client, ctx, sessions_path(demo.brand_id))
    before = await counts(ctx)
    body = {"title": "新场次", "scheduled_start": local_input(ctx.clock.now() + timedelta(days=1), TZ), "stream_url": "", **change}
    refused = await client.post(sessions_path(demo.brand_id), data={"csrf_token": token, **body})
    assert refused.status_code == 422 and error_for(refused.text, field) == message
    assert kept(refused.text, "scheduled_start") == body["scheduled_start"] and kept(refused.text, "title") == body["title"]
    assert await counts(ctx) == before


async def test_editing_a_scheduled_session_and_not_a_live_one(client, ctx):
    demo = await load(ctx)
    live = await scheduled(ctx, demo.brand_id)
    here = session_path(demo.brand_id, live.id)
    token = await owner_token(client, ctx, here)
    later = ctx.clock.now() + timedelta(days=5)
    body = {
        "csrf_token": token, "title": "赣南脐橙·果园夜场", "scheduled_start": local_input(later, TZ),
        "stream_url": "https://live.example.com/oranges", "cover_url": "rtmp://bad",
    }
    refused = await client.post(here, data=body)
    assert refused.status_code == 422 and error_for(refused.text, "cover_url") == "封面图地址必须是 http(s) 开头的网址"
    assert kept(refused.text, "title") == "赣南脐橙·果园夜场"
    assert (await reread(ctx, live.id)).title == "赣南脐橙·果园直播"
    saved = await client.post(here, data={**body, "cover_url": ""})
    assert saved.status_code == 303 and saved.headers["location"] == here + "?done=saved"
    after = await reread(ctx, live.id)
    assert (after.title, after.stream_url) == ("赣南脐橙·果园夜场", "https://live.example.com/oranges")
    assert after.scheduled_start_at == later.replace(second=0, microsecond=0)
    on_air = await strawberry(ctx, demo.brand_id)
    no = await client.post(session_path(demo.brand_id, on_air.id), data={**body, "cover_url": ""})
    assert no.status_code == 409 and error_for(no.text, "transition") == "直播直播中，不能修改"
    assert (await reread(ctx, on_air.id)).title == STRAWBERRY_TITLE


async def test_the_run_of_show_is_edited_reordered_added_to_and_cut(client, ctx):
    demo = await load(ctx)
    live = await scheduled(ctx, demo.brand_id)
    here = session_path(demo.brand_id, live.id)
    token = await owner_token(client, ctx, here)
    # Rows as the form sends them: the three defaults (the first cleared: removed), then the empty row filled in.
    rows = [("", "", "", ""), ("group_buy", "社区专享团购", "30", "3"), ("add_leader", "添加团长", "5", "1"),
            ("qa", "答疑", "10", "2")]
    data = {"csrf_token": token, "phase_order": [r[3] for r in rows], "phase_code": [r[0] for r in rows],
            "phase_title": [r[1] for r in rows], "phase_minutes": [r[2] for r in rows]}
    saved = await client.post(here + "/phases", data=data)
    assert saved.status_code == 303 and saved.headers["location"] == here + "?done=phases"
    assert (await reread(ctx, live.id)).phases == [
        {"code": "add_leader", "title": "添加团长", "minutes": 5}, {"code": "qa", "title": "答疑", "minutes": 10},
        {"code": "group_buy", "title": "社区专享团购", "minutes": 30},
    ]
    bad = {**data, "phase_code": ["", "group_buy", "Add-Leader", "qa"]}
    refused = await client.post(here + "/phases", data=bad)
    assert refused.status_code == 422
    assert error_for(refused.text, "phases") == "环节代码只能是小写字母开头的字母、数字和下划线"
    assert 'value="Add-Leader"' in refused.text  # what was typed stays
    minutes = await client.post(here + "/phases", data={**data, "phase_minutes": ["", "半小时", "5", "10"]})
    assert minutes.status_code == 422 and error_for(minutes.text, "phases") == "环节时长（分钟）须为整数"
    assert [p["code"] for p in (await reread(ctx, live.id)).phases] == ["add_leader", "qa", "group_buy"]


async def test_start_and_end_move_a_session_once(client, ctx):
    demo = await load(ctx)
    live = await scheduled(ctx, demo.brand_id)
    here = session_path(demo.brand_id, live.id)
    token = await owner_token(client, ctx, here)
    started = await client.post(here + "/start", data={"csrf_token": token})
    assert started.status_code == 303 and started.headers["location"] == here + "?done=start"
    first = await reread(ctx, live.id)
    assert first.status == "live" and first.started_at is not None
    ctx.clock.advance(timedelta(minutes=1))
    again = await client.post(here + "/start", data={"csrf_token": token})  # a double click
    assert again.status_code == 409 and error_for(again.text, "transition") == "直播直播中，不能开播"
    assert (await reread(ctx, live.id)).started_at == first.started_at
    ended = await client.post(here + "/end", data={"csrf_token": token})
    assert ended.status_code == 303 and (await reread(ctx, live.id)).status == "ended"
    page = await client.get(ended.headers["location"])
    assert "直播已结束" in text_of(page.text) and 'data-testid="listing-form"' not in page.text
    twice = await client.post(here + "/end", data={"csrf_token": token})
    assert twice.status_code == 409 and error_for(twice.text, "transition") == "直播已结束，不能结束"
    other = await scheduled(ctx, demo.brand_id, title="取消的场次")
    cancelled = await client.post(session_path(demo.brand_id, other.id) + "/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303 and (await reread(ctx, other.id)).status == "cancelled"


async def test_a_listing_at_a_live_price_and_its_refusals(client, ctx):
    demo = await load(ctx)
    live = await scheduled(ctx, demo.brand_id)
    sku = await a_sku(ctx, demo.brand_id)
    here = session_path(demo.brand_id, live.id)
    token = await owner_token(client, ctx, here)
    body = {"csrf_token": token, "listing_sku_id": str(sku.id), "listing_price": "29.9", "listing_allocation": "120",
            "listing_limit": "2"}
    refused = await client.post(here + "/listings", data={**body, "listing_price": "二十"})
    assert refused.status_code == 422 and error_for(refused.text, "listing_price") == "请输入直播价（元），最多两位小数"
    assert kept(refused.text, "listing_allocation") == "120"
    too_many = await client.post(here + "/listings", data={**body, "listing_limit": "100"})
    assert too_many.status_code == 422 and error_for(too_many.text, "listing_limit") == "每人限购须在 1 到 99 之间"
    added = await client.post(here + "/listings", data=body)
    assert added.status_code == 303 and added.headers["location"] == here + "?done=listing#listings"
    twice = await client.post(here + "/listings", data=body)  # a double click mounts it once
    assert twice.status_code == 409 and error_for(twice.text, "listing_sku_id") == "该规格已挂载到本场直播"
    async with ctx.db.read() as s:
        [listing] = (await s.scalars(select(Listing).where(Listing.session_id == live.id))).all()
    assert (listing.sku_id, listing.live_price_fen, listing.allocation, listing.per_member_limit) == (sku.id, 2990, 120, 2)
    page = await client.get(here)
    assert "¥29.90" in text_of(re.search(rf'data-testid="listing-{listing.id}">(.*?)</tr>', page.text, re.S).group(1))


async def test_a_community_offer_for_xiaolis_neighbours_and_its_refusals(client, ctx):
    demo = await load(ctx)
    live = await scheduled(ctx, demo.brand_id)
    sku = await a_sku(ctx, demo.brand_id)
    here = session_path(demo.brand_id, live.id)
    token = await owner_token(client, ctx, here)
    await client.post(here + "/listings", data={"csrf_token": token, "listing_sku_id": str(sku.id), "listing_price": "29.9",
                                                "listing_allocation": "100"})
    async with ctx.db.read() as s:
        listing = await s.scalar(select(Listing).where(Listing.session_id == live.id))
    starts = (ctx.clock.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    body = {
        "csrf_token": token, "offer_listing_id": str(listing.id), "offer_community_id": str(demo.xiaoli_community_id),
        "offer_title": "云顶华府专享", "offer_price": "25", "offer_quota": "50", "offer_limit": "2",
        "offer_starts_at": local_input(starts, TZ), "offer_ends_at": local_input(starts + timedelta(hours=2), TZ),
    }
    for change, field, message, status in [
        ({"offer_quota": "500"}, "offer_quota", "专享名额不能超过直播商品的分配数量 100", 422),
        ({"offer_ends_at": local_input(starts - timedelta(hours=1), TZ)}, "offer_ends_at", "专享价开始时间须早于结束时间", 422),
        ({"offer_starts_at": "2026/12/01 20:00"}, "offer_starts_at", "请填写开始时间（年-月-日 时:分）", 422),
        ({"offer_price": "-1"}, "offer_price", "请输入专享价（元），最多两位小数", 422),
        ({"offer_community_id": ""}, "offer_community_id", "请选择小区", 422),
    ]:
        refused = await client.post(here + "/offers", data={**body, **change})
        assert refused.status_code == status and error_for(refused.text, field) == message, field
        assert kept(refused.text, "offer_title") == "云顶华府专享"
    assert await offers_in(ctx, live.id) == 0
    created = await client.post(here + "/offers", data=body)
    assert created.status_code == 303 and created.headers["location"] == here + "?done=offer#offers"
    async with ctx.db.read() as s:
        [offer] = (await s.scalars(select(CommunityOffer).where(CommunityOffer.session_id == live.id))).all()
    assert (offer.community_id, offer.leader_id, offer.price_fen, offer.quota, offer.per_member_limit, offer.status) == (
        demo.xiaoli_community_id, demo.xiaoli_leader_id, 2500, 50, 2, "draft")
    assert (offer.starts_at, offer.ends_at, offer.title) == (starts, starts + timedelta(hours=2), "云顶华府专享")
    page = await client.get(here)
    row = text_of(re.search(rf'data-testid="offer-{offer.id}">(.*?)</tr>', page.text, re.S).group(1))
    assert "云顶华府" in row and "¥25.00" in row and "草稿" in row


async def offers_in(ctx, session_id: int) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(CommunityOffer).where(CommunityOffer.session_id == session_id)))


async def test_a_double_click_schedules_one_session_and_makes_one_offer(client, ctx):
    demo = await load(ctx)
    token = await owner_token(client, ctx, sessions_path(demo.brand_id))
    page = (await client.get(sessions_path(demo.brand_id))).text
    when = (ctx.clock.now() + timedelta(days=3)).astimezone(ZoneInfo(TZ)).replace(hour=20, minute=0)
    body = {"csrf_token": token, "form_key": form_key_of(page, "session-form"), "title": "赣南脐橙·果园直播",
            "scheduled_start": when.strftime("%Y-%m-%dT%H:%M"), "stream_url": ""}
    first = await client.post(sessions_path(demo.brand_id), data=body)
    second = await client.post(sessions_path(demo.brand_id), data=body)
    assert first.status_code == second.status_code == 303 and first.headers["location"] == second.headers["location"]
    async with ctx.db.read() as s:
        [live] = (await s.scalars(select(LiveSession).where(LiveSession.title == "赣南脐橙·果园直播"))).all()

    here = session_path(demo.brand_id, live.id)
    sku = await a_sku(ctx, demo.brand_id)
    await client.post(here + "/listings", data={"csrf_token": token, "listing_sku_id": str(sku.id), "listing_price": "29.9",
                                                "listing_allocation": "100"})
    async with ctx.db.read() as s:
        listing = await s.scalar(select(Listing).where(Listing.session_id == live.id))
    page = (await client.get(here)).text
    starts = (ctx.clock.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    offer = {
        "csrf_token": token, "form_key": form_key_of(page, "offer-form"), "offer_listing_id": str(listing.id),
        "offer_community_id": str(demo.xiaoli_community_id), "offer_title": "云顶华府专享", "offer_price": "25",
        "offer_quota": "50", "offer_limit": "2", "offer_starts_at": local_input(starts, TZ),
        "offer_ends_at": local_input(starts + timedelta(hours=2), TZ),
    }
    refused = await client.post(here + "/offers", data={**offer, "offer_price": "-1"})  # nothing made: the key lives on
    assert refused.status_code == 422 and f'value="{offer["form_key"]}"' in refused.text
    made = [await client.post(here + "/offers", data=offer) for _ in range(2)]
    assert [r.status_code for r in made] == [303, 303] and made[0].headers["location"] == here + "?done=offer#offers"
    assert await offers_in(ctx, live.id) == 1
