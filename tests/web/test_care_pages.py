"""The care pages over HTTP, on the demo: staff set the birthday greeting and add a holiday on 营销 · 自动关怀 (a
refusal beside its field, nothing written); a member sets their birthday on 消息设置; leaders and neighbours never
open the console page, and a leader never sees a member's birthday."""

from __future__ import annotations

import re

from sqlalchemy import select

from linli.coupons.models import CouponTemplate
from linli.marketing.models import CareOccasion, MemberBirthday
from tests.web.workbench_scene import NEIGHBOUR_PHONE, XIAOLI_PHONE, load, sign_in_as


async def token_of(client, url: str) -> str:  # noqa: ANN001
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


async def occasions(ctx) -> list[tuple]:  # noqa: ANN001
    async with ctx.db.read() as s:
        return [(o.kind, o.name, o.month, o.day, o.year, o.enabled, o.coupon_template_id, o.greeting)
                for o in await s.scalars(select(CareOccasion).order_by(CareOccasion.id))]


async def test_staff_set_the_birthday_greeting_and_add_holidays(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login=None)
    page = f"/brands/{demo.brand_id}/console/marketing/care"
    listed = await client.get(page)
    assert listed.status_code == 200 and "自动关怀" in listed.text and 'aria-current="page">自动关怀' in listed.text
    token = await token_of(client, page)
    async with ctx.db.read() as s:
        template_id = await s.scalar(select(CouponTemplate.id).where(CouponTemplate.status == "active").order_by(CouponTemplate.id))
    refused = await client.post(f"{page}/birthday", data={"csrf_token": token, "greeting": "生日快乐{电话}", "enabled": "1"})
    assert refused.status_code == 422 and 'data-error-for="greeting"' in refused.text and "生日快乐{电话}" in refused.text
    unknown = await client.post(f"{page}/birthday", data={"csrf_token": token, "greeting": "生日快乐", "coupon_template_id": "999999"})
    assert unknown.status_code == 404 and 'data-error-for="coupon_template_id"' in unknown.text
    bad_day = await client.post(f"{page}/holidays", data={"csrf_token": token, "name": "中秋节", "month": "2", "day": "30",
                                                          "greeting": "中秋快乐"})
    assert bad_day.status_code == 422 and 'data-error-for="month"' in bad_day.text and 'value="中秋节"' in bad_day.text
    assert await occasions(ctx) == []
    saved = await client.post(f"{page}/birthday", data={"csrf_token": token, "greeting": "{昵称}生日快乐", "enabled": "1",
                                                        "coupon_template_id": str(template_id)})
    assert saved.status_code == 303 and saved.headers["location"] == f"{page}?done=birthday"
    added = await client.post(f"{page}/holidays", data={"csrf_token": token, "name": "中秋节", "month": "9", "day": "25",
                                                        "year": "2026", "greeting": "{品牌}祝您中秋快乐", "enabled": "1"})
    assert added.status_code == 303
    assert await occasions(ctx) == [("birthday", "生日", None, None, None, True, template_id, "{昵称}生日快乐"),
                                    ("holiday", "中秋节", 9, 25, 2026, True, None, "{品牌}祝您中秋快乐")]
    async with ctx.db.read() as s:
        holiday_id = await s.scalar(select(CareOccasion.id).where(CareOccasion.kind == "holiday"))
    off = await client.post(f"{page}/holidays/{holiday_id}/enabled", data={"csrf_token": token, "enabled": ""})
    assert off.status_code == 303 and (await occasions(ctx))[1][5] is False
    shown = await client.get(page)
    assert "2026年9月25日" in shown.text and "已停用" in shown.text


async def test_only_this_brands_staff_open_and_post_the_console_page(client, ctx):
    demo = await load(ctx)
    page = f"/brands/{demo.brand_id}/console/marketing/care"
    for phone in (NEIGHBOUR_PHONE, XIAOLI_PHONE):
        await sign_in_as(client, ctx, phone=phone)
        response = await client.get(page)
        assert response.status_code == 403 and "仅限本品牌员工操作" in response.text
        token = await token_of(client, "/me/settings")
        for url, data in ((f"{page}/birthday", {"greeting": "x", "enabled": "1"}),
                          (f"{page}/holidays", {"name": "x", "month": "1", "day": "1", "greeting": "x"}),
                          (f"{page}/holidays/1/enabled", {"enabled": ""})):
            assert (await client.post(url, data={"csrf_token": token, **data})).status_code == 403
    assert await occasions(ctx) == []


async def test_a_member_sets_their_birthday_and_the_leader_never_sees_it(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    token = await token_of(client, "/me/settings")
    form = f'data-testid="birthday-{demo.brand_id}"'
    assert form in (await client.get("/me/settings")).text
    bad = await client.post("/me/settings/birthday", data={"csrf_token": token, "brand_id": demo.brand_id, "month": "2",
                                                           "day": "30"})
    assert bad.status_code == 422 and 'data-error-for="month"' in bad.text
    assert (await client.post("/me/settings/birthday", data={"brand_id": demo.brand_id, "month": "2", "day": "1"})).status_code == 403
    async with ctx.db.read() as s:
        assert list(await s.scalars(select(MemberBirthday))) == []
    saved = await client.post("/me/settings/birthday", data={"csrf_token": token, "brand_id": demo.brand_id, "month": "2",
                                                             "day": "29", "year": ""})
    assert saved.status_code == 303
    shown = await client.get("/me/settings")
    assert 'name="month" type="text" value="2"' in shown.text and 'value="29"' in shown.text
    # 小李 (the neighbour's leader) reads their members' pages: the birthday is on none of them.
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    members_page = await client.get(f"/brands/{demo.brand_id}/leader/members")
    assert members_page.status_code == 200 and "2月29" not in members_page.text and "生日" not in members_page.text
    await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    token = await token_of(client, "/me/settings")
    cleared = await client.post("/me/settings/birthday", data={"csrf_token": token, "brand_id": demo.brand_id, "clear": "1"})
    assert cleared.status_code == 303
    async with ctx.db.read() as s:
        assert list(await s.scalars(select(MemberBirthday))) == []
