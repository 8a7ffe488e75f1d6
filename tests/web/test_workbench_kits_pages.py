"""The leader's 作战包 page over HTTP, on the demo: 小李 sees tonight's kit (poster, copy, link); only an active
leader of the brand opens it, and only their own poster downloads."""

from __future__ import annotations

from sqlalchemy import select

from linli.context import AppContext
from linli.demo import WANGJIE_PHONE, XIAOLI_PHONE
from linli.demo.cast import STRAWBERRY_TITLE
from linli.live.models import LiveSession
from linli.marketing.models import CampaignKit
from tests.qr import scan
from tests.web.workbench_scene import NEIGHBOUR_PHONE, Demo, load, sign_in_as


async def xiaoli_kit(ctx: AppContext, demo: Demo) -> CampaignKit:
    async with ctx.db.read() as s:
        live = await s.scalar(select(LiveSession).where(LiveSession.title == STRAWBERRY_TITLE))
        kit = await s.scalar(
            select(CampaignKit).where(CampaignKit.session_id == live.id, CampaignKit.leader_id == demo.xiaoli_leader_id)
        )
        assert kit is not None and kit.status == "current"
        return kit


async def test_xiaoli_reads_tonights_kit(client, ctx):
    demo = await load(ctx)
    kit = await xiaoli_kit(ctx, demo)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/kits")
    assert page.status_code == 200, page.text
    assert STRAWBERRY_TITLE in page.text and kit.copy_text in page.text and kit.invite_link in page.text
    assert f"/brands/{demo.brand_id}/leader/kits/{kit.id}/poster.png" in page.text
    assert "阳光玫瑰青提" not in page.text  # last week's session ended: its kit is withdrawn
    poster = await client.get(f"/brands/{demo.brand_id}/leader/kits/{kit.id}/poster.png")
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/png"
    assert scan(poster.content) == kit.invite_link


async def test_only_this_brands_active_leader_opens_it_and_only_their_own_poster(client, ctx):
    demo = await load(ctx)
    kit = await xiaoli_kit(ctx, demo)
    page, poster = f"/brands/{demo.brand_id}/leader/kits", f"/brands/{demo.brand_id}/leader/kits/{kit.id}/poster.png"
    anonymous = await client.get(page)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin?next=/")
    await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    assert (await client.get(page)).status_code == 403
    assert (await client.get(poster)).status_code == 403
    await sign_in_as(client, ctx, login=None)  # the brand's owner: staff, not a leader
    refused = await client.get(page)
    assert refused.status_code == 403 and "团长" in refused.text
    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    assert (await client.get(page)).status_code == 200
    theirs = await client.get(poster)  # 王姐 asking for 小李's poster
    assert theirs.status_code == 404 and "作战包不存在" in theirs.text
