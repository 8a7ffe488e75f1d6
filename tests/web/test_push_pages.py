"""The push and community-group pages over HTTP, on the demo: who may open and post each (CSRF included), what
they show, their refusals beside their fields with what was typed kept, and a double submit doing its thing once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from linli.community import group_pushes
from linli.community import service as community
from linli.community.models import CommunityGroup
from linli.demo.cast import YUNDING_JOIN_URL
from linli.notifications import pushes
from linli.notifications.models import ChannelMute, Push, PushContent
from linli.worker import run_until_idle
from tests.qr import scan
from tests.web.conftest import csrf_of
from tests.web.test_member_pages import TWO_ORDERS_PHONE, UNBOUND_PHONE
from tests.web.test_workbench_pages import hidden, text_of
from tests.web.workbench_scene import WANGJIE_PHONE, XIAOLI_PHONE, become, load, sign_in_as

CONSOLE = ["/console/pushes", "/console/groups"]


async def group_of(ctx, community_name: str) -> CommunityGroup | None:  # noqa: ANN001
    from linli.brands.models import Community

    async with ctx.db.read() as s:
        return await s.scalar(
            select(CommunityGroup).join(Community, Community.id == CommunityGroup.community_id).where(Community.name == community_name)
        )


async def held_push(ctx, demo) -> int:  # noqa: ANN001
    """A commerce push to 云顶华府's group, held (the group has no messages yet: 1 of 1 is over 30%)."""
    group = await group_of(ctx, "云顶华府")
    async with ctx.db.transaction() as s:
        done = await group_pushes.enqueue_for_group(
            session=s, brand_id=demo.brand_id, group_id=group.id, title="草莓专场 68 元", body="今晚 8 点开抢", tag="commerce",
            kind="group_post", dedupe_key="held-1", now=ctx.clock.now(), base_url=ctx.settings.public_base_url,
        )
    assert done.held and done.pushes
    return done.pushes[0].id


@pytest.mark.parametrize("who", ["anonymous", "member", "leader", "other-brand-staff"])
async def test_who_may_not_open_the_console_push_and_group_pages(client, ctx, world, who):
    demo = await load(ctx)
    group = await group_of(ctx, "云顶华府")
    await become(client, ctx, world, who)
    for page in [*CONSOLE, f"/console/groups/{group.id}"]:
        path = f"/brands/{demo.brand_id}{page}"
        got = await client.get(path)
        if who == "anonymous":
            assert got.status_code == 303 and got.headers["location"] == f"/signin?next={path}", page
            continue
        assert got.status_code == 403 and "仅限本品牌员工操作" in text_of(got.text), page


@pytest.mark.parametrize("who", ["owner", "operator"])
async def test_staff_see_the_pushes_with_their_state_and_release_what_was_held(client, ctx, world, who):
    demo = await load(ctx)
    push_id = await held_push(ctx, demo)
    await become(client, ctx, world, who)
    page = await client.get(f"/brands/{demo.brand_id}/console/pushes?state=held")
    assert page.status_code == 200 and "<h1>推送</h1>" in page.text
    row = text_of(re.search(rf'data-testid="push-{push_id}">(.*?)</tr>', page.text, re.S).group(1))
    assert "草莓专场 68 元" in row and "商业内容" in row and "已暂扣" in row and "超过上限 30%" in row
    assert "云顶华府·优邻优选品质生活圈" in row
    token = csrf_of(page.text)
    refused = await client.post(f"/brands/{demo.brand_id}/console/pushes/{push_id}/release", data={})
    assert refused.status_code == 403  # no CSRF token: nothing released
    still = await client.post(f"/brands/{demo.brand_id}/console/pushes/{push_id}/release", data={"csrf_token": token})
    assert still.status_code == 409 and "仍不能放行" in text_of(still.text)
    assert 'id="f-decision-%d-error"' % push_id in still.text
    gone = await client.post(f"/brands/{demo.brand_id}/console/pushes/{push_id}/discard", data={"csrf_token": token})
    assert gone.status_code == 303 and gone.headers["location"].endswith("state=held&done=discarded")
    twice = await client.post(f"/brands/{demo.brand_id}/console/pushes/{push_id}/discard", data={"csrf_token": token})
    assert twice.status_code == 409 and "没有被暂扣" in text_of(twice.text)
    async with ctx.db.read() as s:
        assert (await s.get(Push, push_id)).state == "discarded"
    after = await client.get(f"/brands/{demo.brand_id}/console/pushes?state=discarded")
    assert f'data-testid="push-{push_id}"' in after.text and "已丢弃" in text_of(after.text)
    bad = await client.get(f"/brands/{demo.brand_id}/console/pushes?state=lost")
    assert bad.status_code == 422 and "状态只能是" in text_of(bad.text)


async def test_the_brands_robot_is_checked_beside_its_field_and_shown_masked(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    token = csrf_of((await client.get(f"/brands/{demo.brand_id}/console/pushes")).text)
    url = f"/brands/{demo.brand_id}/console/push-settings"
    bad = await client.post(url, data={"csrf_token": token, "wecom_webhook_url": "https://evil.example/hook"})
    assert bad.status_code == 422 and 'id="f-wecom_webhook_url-error"' in bad.text
    assert 'value="https://evil.example/hook"' in bad.text  # kept as typed
    good = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0a1b2c3d-demo-9f8e"
    saved = await client.post(url, data={"csrf_token": token, "wecom_webhook_url": good})
    assert saved.status_code == 303
    shown = await client.get(saved.headers["location"])
    assert "品牌群机器人已保存" in text_of(shown.text) and "key=****9f8e" in shown.text and good not in shown.text


async def test_staff_make_a_group_change_it_and_push_to_it_once(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    listing = await client.get(f"/brands/{demo.brand_id}/console/groups")
    assert listing.status_code == 200
    assert "云顶华府·优邻优选品质生活圈" in listing.text and "翠湖花园·优邻优选品质生活圈" in listing.text
    jinxiu = re.search(r'data-testid="create-(\d+)"', listing.text).group(1)  # 锦绣江南 has no group yet
    token = csrf_of(listing.text)
    made = await client.post(f"/brands/{demo.brand_id}/console/groups", data={"csrf_token": token, "community_id": jinxiu})
    again = await client.post(f"/brands/{demo.brand_id}/console/groups", data={"csrf_token": token, "community_id": jinxiu})
    assert made.status_code == again.status_code == 303 and made.headers["location"] == again.headers["location"]
    page = await client.get(made.headers["location"])
    assert "锦绣江南·优邻优选品质生活圈" in page.text
    url = made.headers["location"]
    bad = await client.post(url, data={"csrf_token": token, "name": "锦绣江南邻居群", "join_url": "http://x.example/j",
                                       "ceiling": "30", "window": "10"})
    assert bad.status_code == 422 and 'id="f-join_url-error"' in bad.text and 'value="锦绣江南邻居群"' in bad.text
    bad_ceiling = await client.post(url, data={"csrf_token": token, "name": "锦绣江南邻居群", "join_url": "",
                                               "ceiling": "三成", "window": "10"})
    assert bad_ceiling.status_code == 422 and 'id="f-ceiling-error"' in bad_ceiling.text
    saved = await client.post(url, data={"csrf_token": token, "name": "锦绣江南邻居群", "join_url": "https://work.weixin.qq.com/gm/jx",
                                         "ceiling": "40", "window": "5"})
    assert saved.status_code == 303
    shown = await client.get(saved.headers["location"])
    assert "锦绣江南邻居群" in shown.text and 'value="40"' in shown.text and "最近 5 条" in text_of(shown.text)
    key = hidden(shown.text, "dedupe_key")
    form = {"csrf_token": token, "title": "邻居晒单：草莓蛋糕", "body": "黄阿姨的草莓蛋糕做法", "tag": "value", "link": "",
            "dedupe_key": key}
    first = await client.post(f"{url}/pushes", data=form)
    second = await client.post(f"{url}/pushes", data=form)  # a double submit
    assert first.status_code == second.status_code == 303 and first.headers["location"].endswith("done=pushed")
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(PushContent).where(PushContent.title == "邻居晒单：草莓蛋糕")) == 1
    untagged = await client.post(f"{url}/pushes", data={**form, "tag": "ads", "dedupe_key": "web-other"})
    assert untagged.status_code == 422 and 'id="f-tag-error"' in untagged.text and "邻居晒单：草莓蛋糕" in untagged.text
    other = await client.get(f"/brands/{demo.brand_id}/console/groups/999999")
    assert other.status_code == 404


async def test_xiaoli_sees_his_groups_link_and_qr_and_wangjie_sets_hers(client, ctx, world):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/group")
    assert page.status_code == 200 and "云顶华府·优邻优选品质生活圈" in page.text and YUNDING_JOIN_URL in page.text
    invited = int(re.search(r'data-testid="invited">(\d+)<', page.text).group(1))
    assert invited > 0  # the demo's buyers were invited after paying
    qr = await client.get(f"/brands/{demo.brand_id}/leader/group/qr.png")
    assert qr.status_code == 200 and scan(qr.content) == YUNDING_JOIN_URL
    client.cookies.clear()
    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    hers = await client.get(f"/brands/{demo.brand_id}/leader/group")
    assert "翠湖花园·优邻优选品质生活圈" in hers.text and 'data-testid="no-link"' in hers.text
    assert (await client.get(f"/brands/{demo.brand_id}/leader/group/qr.png")).status_code == 409
    token = csrf_of(hers.text)
    bad = await client.post(f"/brands/{demo.brand_id}/leader/group", data={"csrf_token": token, "join_url": "weixin://x"})
    assert bad.status_code == 422 and 'id="f-join_url-error"' in bad.text and 'value="weixin://x"' in bad.text
    link = "https://work.weixin.qq.com/gm/cuihu"
    saved = await client.post(f"/brands/{demo.brand_id}/leader/group", data={"csrf_token": token, "join_url": link})
    assert saved.status_code == 303 and link in (await client.get(saved.headers["location"])).text
    for who in ("member", "owner"):
        client.cookies.clear()
        await become(client, ctx, world, who)
        got = await client.get(f"/brands/{demo.brand_id}/leader/group")
        assert got.status_code == 403 and "仅限本品牌在任团长操作" in text_of(got.text)


async def test_a_buyer_finds_the_invitation_and_the_group_an_unbound_neighbour_none(client, ctx):
    await load(ctx)
    group = await group_of(ctx, "云顶华府")
    await sign_in_as(client, ctx, phone=TWO_ORDERS_PHONE)
    inbox = await client.get("/me/inbox")
    assert "邀请您加入「云顶华府·优邻优选品质生活圈」" in inbox.text and 'href="/me/groups"' in inbox.text
    page = await client.get("/me/groups")
    assert page.status_code == 200 and f'data-testid="group-{group.id}"' in page.text and YUNDING_JOIN_URL in page.text
    qr = await client.get(f"/me/groups/{group.id}/qr.png")
    assert qr.status_code == 200 and scan(qr.content) == YUNDING_JOIN_URL
    client.cookies.clear()
    await sign_in_as(client, ctx, phone=UNBOUND_PHONE)
    none = await client.get("/me/groups")
    assert 'data-testid="no-groups"' in none.text and YUNDING_JOIN_URL not in none.text
    assert (await client.get(f"/me/groups/{group.id}/qr.png")).status_code == 404
    client.cookies.clear()
    assert (await client.get("/me/groups")).status_code == 303


async def test_a_member_mutes_sms_for_the_brand_and_the_choice_sticks(client, ctx, world):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=TWO_ORDERS_PHONE)
    page = await client.get("/me/settings")
    assert page.status_code == 200 and f'data-testid="brand-{demo.brand_id}"' in page.text
    assert "交易消息总会发到" in text_of(page.text)
    token = csrf_of(page.text)
    refused = await client.post("/me/settings", data={"brand_id": demo.brand_id, "muted": "sms"})
    assert refused.status_code == 403
    saved = await client.post("/me/settings", data={"csrf_token": token, "brand_id": demo.brand_id, "muted": "sms"})
    assert saved.status_code == 303
    shown = await client.get(saved.headers["location"])
    assert re.search(r'value="sms" checked', shown.text) and not re.search(r'value="inbox" checked', shown.text)
    bad = await client.post("/me/settings", data={"csrf_token": token, "brand_id": demo.brand_id, "muted": "wecom"})
    assert bad.status_code == 422
    other_brand = await world.brand(name="别家", slug="other-brand")
    stranger = await client.post("/me/settings", data={"csrf_token": token, "brand_id": other_brand, "muted": "sms"})
    assert stranger.status_code == 404
    async with ctx.db.read() as s:
        assert [m.channel for m in await s.scalars(select(ChannelMute))] == ["sms"]


async def test_every_new_page_answers_without_a_server_error_after_the_worker_ran(client, ctx):
    demo = await load(ctx)
    await held_push(ctx, demo)
    await run_until_idle(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    for state in ("", "pending", "held", "failed", "sent", "skipped", "discarded"):
        page = await client.get(f"/brands/{demo.brand_id}/console/pushes?state={state}")
        assert page.status_code == 200, state
    group = await group_of(ctx, "云顶华府")
    async with ctx.db.read() as s:
        counts = await pushes.state_counts(session=s, brand_id=demo.brand_id)
        invited = await community.invited_count(session=s, group_id=group.id)
    assert counts["held"] == invited > 0  # a group without a robot: one held 站内信 per invited neighbour
