"""The console's 营销 · 话术模板 and a session's 直播作战包 pages over HTTP, on the demo: staff write a template
(an unknown placeholder is refused beside the text, nothing written), choose it for tonight and upload a cover;
the worker then remakes every leader's kit in place. Only this brand's staff open or post them."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from linli.demo.cast import STRAWBERRY_TITLE
from linli.live.models import LiveSession
from linli.marketing.models import CampaignKit, CopyTemplate
from linli.worker import run_until_idle
from tests.web.workbench_scene import NEIGHBOUR_PHONE, XIAOLI_PHONE, load, sign_in_as


async def csrf_of(client, url: str) -> str:  # noqa: ANN001
    import re

    page = await client.get(url)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


async def strawberry(ctx) -> LiveSession:  # noqa: ANN001
    async with ctx.db.read() as s:
        return await s.scalar(select(LiveSession).where(LiveSession.title == STRAWBERRY_TITLE))


async def kits(ctx, session_id: int) -> list[tuple[int, int, str]]:  # noqa: ANN001
    async with ctx.db.read() as s:
        rows = await s.scalars(select(CampaignKit).where(CampaignKit.session_id == session_id).order_by(CampaignKit.id))
        return [(k.id, k.version, k.copy_text) for k in rows]


async def templates(ctx) -> list[tuple[str, str]]:  # noqa: ANN001
    async with ctx.db.read() as s:
        return [(t.name, t.body) for t in await s.scalars(select(CopyTemplate).order_by(CopyTemplate.id))]


async def test_staff_write_a_template_choose_it_and_upload_a_cover(client, ctx):
    demo = await load(ctx)
    live = await strawberry(ctx)
    await sign_in_as(client, ctx, login=None)
    page = f"/brands/{demo.brand_id}/console/marketing"
    token = await csrf_of(client, page)
    before = await templates(ctx)

    refused = await client.post(f"{page}/templates", data={
        "csrf_token": token, "name": "今晚", "body": "{团长}邀您 {优惠券}", "form_key": "web-0123456789abcdef01234567"})
    assert refused.status_code == 422
    assert "未知的占位符「{优惠券}」" in refused.text and 'data-error-for="body"' in refused.text
    assert "{团长}邀您 {优惠券}" in refused.text  # what was typed is kept
    assert await templates(ctx) == before

    created = await client.post(f"{page}/templates", data={
        "csrf_token": token, "name": "今晚", "body": "{小区}的邻居，{团长}今晚等你：{邀请链接}", "form_key": "web-0123456789abcdef01234568"})
    assert created.status_code == 303 and created.headers["location"] == f"{page}?done=created"
    again = await client.post(f"{page}/templates", data={
        "csrf_token": token, "name": "今晚", "body": "{小区}的邻居，{团长}今晚等你：{邀请链接}", "form_key": "web-0123456789abcdef01234568"})
    assert again.status_code == 303  # sent twice, created once
    assert [name for name, _ in await templates(ctx)] == [*(n for n, _ in before), "今晚"]
    listed = await client.get(page)
    assert "今晚" in listed.text and "{邀请链接}" in listed.text

    kits_page = f"/brands/{demo.brand_id}/console/sessions/{live.id}/kits"
    before_kits = await kits(ctx, live.id)
    async with ctx.db.read() as s:
        chosen = await s.scalar(select(CopyTemplate.id).where(CopyTemplate.name == "今晚"))
    response = await client.post(f"{kits_page}/template", data={"csrf_token": token, "copy_template_id": str(chosen)})
    assert response.status_code == 303 and response.headers["location"] == f"{kits_page}?done=template"
    await run_until_idle(ctx)
    after = await kits(ctx, live.id)
    assert [k[0] for k in after] == [k[0] for k in before_kits]  # remade in place
    assert all(version == old + 1 for (_, version, _), (_, old, _) in zip(after, before_kits, strict=True))
    assert any(text.startswith("云顶华府的邻居，小李今晚等你：") for _, _, text in after)

    not_image = await client.post(f"{kits_page}/cover", data={"csrf_token": token}, files={"cover": ("x.gif", b"GIF89a....", "image/gif")})
    assert not_image.status_code == 422 and "只能上传 JPG、PNG 或 WebP 图片" in not_image.text and 'data-error-for="cover"' in not_image.text
    buffer = io.BytesIO()
    Image.new("RGB", (600, 400), (10, 120, 200)).save(buffer, format="JPEG")
    uploaded = await client.post(f"{kits_page}/cover", data={"csrf_token": token}, files={"cover": ("c.jpg", buffer.getvalue(), "image/jpeg")})
    assert uploaded.status_code == 303
    await run_until_idle(ctx)
    shown = await client.get(kits_page)
    assert "已上传封面" in shown.text and "第 3 版" in shown.text


async def test_only_this_brands_staff_open_and_post_the_pages(client, ctx):
    demo = await load(ctx)
    live = await strawberry(ctx)
    pages = [f"/brands/{demo.brand_id}/console/marketing", f"/brands/{demo.brand_id}/console/sessions/{live.id}/kits"]
    for phone in (NEIGHBOUR_PHONE, XIAOLI_PHONE):
        await sign_in_as(client, ctx, phone=phone)
        for url in pages:
            response = await client.get(url)
            assert response.status_code == 403 and "仅限本品牌员工操作" in response.text, url
        # A leader's valid CSRF token does not make them staff: refused, nothing written.
        token = await csrf_of(client, f"/brands/{demo.brand_id}/leader") if phone == XIAOLI_PHONE else None
        if token:
            before = await templates(ctx)
            posted = await client.post(f"{pages[0]}/templates", data={"csrf_token": token, "name": "x", "body": "{团长}"})
            assert posted.status_code == 403 and await templates(ctx) == before
    await sign_in_as(client, ctx, login=None)
    for url in pages:
        assert (await client.get(url)).status_code == 200
    unknown = await client.get(f"/brands/{demo.brand_id}/console/sessions/999999/kits")
    assert unknown.status_code == 404
