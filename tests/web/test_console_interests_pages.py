"""The console's 营销 · 兴趣小组 pages over HTTP, on the demo: staff read 水果控 with the neighbours the worker found,
create a group (a refusal beside its field, what was typed kept, nothing written), recompute and archive one;
only this brand's staff open or post them."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from linli.catalog.models import Category
from linli.marketing.models import InterestGroup, InterestMember
from linli.worker import run_until_idle
from tests.web.workbench_scene import NEIGHBOUR_PHONE, XIAOLI_PHONE, load, sign_in_as


async def token_of(client, url: str) -> str:  # noqa: ANN001
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


async def groups(ctx) -> list[tuple[str, int]]:  # noqa: ANN001
    async with ctx.db.read() as s:
        return [(g.name, g.member_count) for g in await s.scalars(select(InterestGroup).order_by(InterestGroup.id))]


async def test_staff_read_create_recompute_and_archive_groups(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login=None)
    page = f"/brands/{demo.brand_id}/console/marketing/interest-groups"
    [(name, count)] = await groups(ctx)
    async with ctx.db.read() as s:
        fruit_group = await s.scalar(select(InterestGroup))
        found = await s.scalar(select(func.count()).select_from(InterestMember).where(InterestMember.group_id == fruit_group.id))
        fruit = await s.scalar(select(Category.id).where(Category.name == "时令水果"))
    assert name == "水果控" and count == found > 0  # the demo's buyers of fruit, found by the worker
    listed = await client.get(page)
    assert "近 30 天在「时令水果」的消费占比 ≥ 50%，至少 1 单" in listed.text
    detail = await client.get(f"{page}/{fruit_group.id}")
    assert detail.status_code == 200 and detail.text.count("****") == found  # phones masked

    token = await token_of(client, page)
    refused = await client.post(page, data={
        "csrf_token": token, "name": "轻食", "window_days": "90", "share_percent": "30", "min_focus_orders": "1",
        "form_key": "web-aaaaaaaaaaaaaaaaaaaaaaaa"})
    assert refused.status_code == 422 and 'data-error-for="category_ids"' in refused.text and 'value="轻食"' in refused.text
    bad_share = await client.post(page, data={
        "csrf_token": token, "name": "轻食", "category_ids": str(fruit), "window_days": "90", "share_percent": "三成",
        "min_focus_orders": "1", "form_key": "web-aaaaaaaaaaaaaaaaaaaaaaab"})
    assert bad_share.status_code == 422 and 'data-error-for="share_percent"' in bad_share.text
    assert len(await groups(ctx)) == 1
    form = {"csrf_token": token, "name": "水果大户", "category_ids": str(fruit), "window_days": "30", "share_percent": "10",
            "min_focus_orders": "1", "min_focus_yuan": "100", "form_key": "web-aaaaaaaaaaaaaaaaaaaaaaac"}
    created = await client.post(page, data=form)
    assert created.status_code == 303 and created.headers["location"] == f"{page}?done=created"
    assert (await client.post(page, data=form)).status_code == 303  # sent twice, created once
    await run_until_idle(ctx)
    names = [n for n, _ in await groups(ctx)]
    assert names == ["水果控", "水果大户"]
    async with ctx.db.read() as s:
        big = await s.scalar(select(InterestGroup).where(InterestGroup.name == "水果大户"))
    assert big.min_focus_fen == 10000 and big.min_share_bp == 1000 and big.computed_at is not None

    again = await client.post(f"{page}/{big.id}/recompute", data={"csrf_token": token})
    assert again.status_code == 303 and again.headers["location"] == f"{page}/{big.id}?done=recomputed"
    archived = await client.post(f"{page}/{big.id}/archive", data={"csrf_token": token})
    assert archived.status_code == 303
    assert dict(await groups(ctx))["水果大户"] == 0


async def test_only_this_brands_staff_open_and_post_the_pages(client, ctx):
    demo = await load(ctx)
    page = f"/brands/{demo.brand_id}/console/marketing/interest-groups"
    async with ctx.db.read() as s:
        group_id = await s.scalar(select(InterestGroup.id))
    for phone in (NEIGHBOUR_PHONE, XIAOLI_PHONE):
        await sign_in_as(client, ctx, phone=phone)
        for url in (page, f"{page}/{group_id}"):
            response = await client.get(url)
            assert response.status_code == 403 and "仅限本品牌员工操作" in response.text
    token = await token_of(client, f"/brands/{demo.brand_id}/leader")
    before = await groups(ctx)
    for action in ("recompute", "archive"):
        assert (await client.post(f"{page}/{group_id}/{action}", data={"csrf_token": token})).status_code == 403
    assert await groups(ctx) == before
    await sign_in_as(client, ctx, login=None)
    assert (await client.get(f"{page}/999999")).status_code == 404


async def test_staff_push_to_a_groups_members_from_its_page_once(client, ctx):
    from linli.notifications.models import PushContent

    demo = await load(ctx)
    await sign_in_as(client, ctx, login=None)
    async with ctx.db.read() as s:
        group = await s.scalar(select(InterestGroup))
    page = f"/brands/{demo.brand_id}/console/marketing/interest-groups/{group.id}"
    shown = await client.get(page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', shown.text).group(1)
    key = re.search(r'name="form_key" value="([^"]+)"', shown.text).group(1)
    refused = await client.post(f"{page}/pushes", data={"csrf_token": token, "form_key": key, "title": "", "body": "x", "tag": "value"})
    assert refused.status_code == 422 and 'data-error-for="title"' in refused.text
    form = {"csrf_token": token, "form_key": key, "title": "草莓的三种吃法", "body": "草莓奶昔、草莓大福、草莓沙拉", "tag": "value"}
    for _ in range(2):  # a double submit pushes once
        sent = await client.post(f"{page}/pushes", data=form)
        assert sent.status_code == 303 and sent.headers["location"] == f"{page}?done=pushed"
    async with ctx.db.read() as s:
        contents = list(await s.scalars(select(PushContent).where(PushContent.kind == "interest_group")))
    assert [(c.title, c.tag) for c in contents] == [("草莓的三种吃法", "value")]
