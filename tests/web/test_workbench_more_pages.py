"""The rest of the leader's workbench over HTTP — my members, the attribution trail, disputes, statements and
arrival — who may open each page and post each form, masking, CSRF; the members page and its disputes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from linli.accounts import service as accounts
from linli.accounts.models import User
from linli.attribution import service as attribution
from linli.attribution.models import Dispute
from linli.demo.cast import neighbour
from linli.fulfillment.models import DeliveryWave
from linli.leaders import invite_codes
from linli.leaders import service as leaders
from linli.members import service as members
from linli.web.visitor import SESSION_COOKIE
from tests.web.conftest import csrf_of
from tests.web.test_workbench_pages import other_brand_leader, text_of
from tests.web.workbench_scene import NEIGHBOUR_PHONE, WANGJIE_PHONE, XIAOLI_PHONE, load, sign_in_as

PAGES = ["/members", "/statements", "/statements.csv?period=day", "/members?page=2", "/statements?period=month"]
ELEVEN_DIGITS = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def dispute_form(html: str) -> str:
    return re.search(r'data-testid="dispute-form">(.*?)</form>', html, re.S).group(1)


async def sign_in(client, ctx, world, who: str) -> None:
    if who == "member":
        await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    elif who == "staff":
        await sign_in_as(client, ctx, login="youlin-owner")
    elif who == "other-brand-leader":
        _, ref = await other_brand_leader(world)
        client.cookies.set(SESSION_COOKIE, ref.actor.token)


async def demo_wave_id(ctx, community_id: int) -> int:
    async with ctx.db.read() as s:
        return await s.scalar(select(DeliveryWave.id).where(DeliveryWave.community_id == community_id))


async def dispute_count(ctx) -> int:
    async with ctx.db.read() as s:
        return await s.scalar(select(func.count()).select_from(Dispute))


async def member_id_of(ctx, brand_id: int, phone: str) -> int:
    async with ctx.db.read() as s:
        user = await accounts.find_user_by_phone(session=s, phone=phone)
        return (await members.find_member(session=s, brand_id=brand_id, user_id=user.id)).id


@pytest.mark.parametrize("who", ["anonymous", "member", "staff", "other-brand-leader"])
async def test_who_may_not_open_the_pages_or_post_the_forms(client, ctx, world, who):
    demo = await load(ctx)
    wave_id = await demo_wave_id(ctx, demo.xiaoli_community_id)
    await sign_in(client, ctx, world, who)
    for page in PAGES:
        path = f"/brands/{demo.brand_id}/leader{page}"
        response = await client.get(path)
        if who == "anonymous":
            assert response.status_code == 303, path
            assert response.headers["location"].startswith(f"/signin?next=/brands/{demo.brand_id}/leader/"), path
        else:
            assert response.status_code == 403, path
            assert response.headers["content-type"].startswith("text/html"), path
            assert "仅限本品牌在任团长操作" in text_of(response.text), path
    token = csrf_of((await client.get("/signin" if who == "anonymous" else "/me")).text)
    member_id = await member_id_of(ctx, demo.brand_id, NEIGHBOUR_PHONE)
    for path, data in (("disputes", {"member_id": str(member_id), "reason": "是我先邀请的"}),
                       (f"delivery-waves/{wave_id}/arrive", {})):
        refused = await client.post(f"/brands/{demo.brand_id}/leader/{path}", data={"csrf_token": token, **data})
        if who == "anonymous":
            assert refused.status_code == 303 and refused.headers["location"].startswith("/signin?next="), path
        else:
            assert refused.status_code == 403 and "仅限本品牌在任团长操作" in text_of(refused.text), (who, path)
    assert await dispute_count(ctx) == 0


async def test_xiaoli_may_not_open_another_brands_pages(client, ctx, world):
    await load(ctx)
    other, _ = await other_brand_leader(world)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    for page in PAGES:
        assert (await client.get(f"/brands/{other}/leader{page}")).status_code == 403, page
    assert (await client.get("/brands/999999/leader/members")).status_code == 404


async def test_xiaoli_sees_his_members_masked_and_how_they_came(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/members")
    assert page.status_code == 200
    assert not ELEVEN_DIGITS.search(page.text)  # no phone in full anywhere on the page
    members_part = re.search(r'data-testid="members">(.*?)</section>', page.text, re.S).group(1)
    shown = re.findall(r'data-testid="member-phone">([^<]*)<', members_part)
    assert len(shown) == 14 and "139****0001" in shown and "139****0014" in shown
    assert "139****0015" not in page.text  # 王姐's neighbour is not 小李's
    assert "绑定邻居（14）" in text_of(page.text) and "通过邀请码绑定" in text_of(page.text)
    trail = text_of(re.search(r'data-testid="trail">(.*?)</section>', page.text, re.S).group(1))
    assert "首次通过邀请码进入，完成绑定" in trail
    # Neighbour 01 opened 王姐's link and was refused: 小李 reads it, 王姐's name masked as the API masks it.
    assert "已绑定其他团长，本次进入不改变归属" in trail
    assert "王*（翠湖花园）的邀请码，仍归属 小李" in trail and "王姐（翠湖花园）" not in trail


async def test_wangjie_sees_her_own_members_never_xiaolis(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/members")
    members_part = re.search(r'data-testid="members">(.*?)</section>', page.text, re.S).group(1)
    shown = re.findall(r'data-testid="member-phone">([^<]*)<', members_part)
    assert sorted(shown) == sorted(f"139****{n:04d}" for n in range(15, 23))
    assert not ELEVEN_DIGITS.search(page.text)
    # Only neighbour 01 (refused to her) appears in her trail; 小李's other neighbours do not appear at all.
    assert "139****0002" not in page.text
    assert "139****0001" in dispute_form(page.text)


async def test_members_are_paginated(client, ctx):
    demo = await load(ctx)
    async with ctx.db.transaction() as s:  # 13 more neighbours come in through 王姐: 21 members, two pages
        wang = await accounts.find_user_by_phone(session=s, phone=WANGJIE_PHONE)
        leader = await leaders.find_open_leader_for_user(session=s, brand_id=demo.brand_id, user_id=wang.id)
        code = (await invite_codes.current_code(session=s, leader_id=leader.id)).code
        for index in range(23, 36):
            user = await accounts.find_user_by_phone(session=s, phone=neighbour(index)[0])
            await attribution.enter_with_code(session=s, user_id=user.id, raw_code=code, now=ctx.clock.now())
    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    first = await client.get(f"/brands/{demo.brand_id}/leader/members")
    second = await client.get(f"/brands/{demo.brand_id}/leader/members?page=2")
    phones = [re.findall(r'data-testid="member-phone">([^<]*)<', r.text) for r in (first, second)]
    assert (len(phones[0]), len(phones[1])) == (20, 1) and not set(phones[0]) & set(phones[1])
    assert "第 1 / 2 页" in text_of(first.text) and 'href="?page=2&trail_page=1"' in first.text
    assert "第 2 / 2 页" in text_of(second.text)


async def test_wangjie_opens_one_dispute_by_a_double_submit(client, ctx):
    demo = await load(ctx)
    claimed = await member_id_of(ctx, demo.brand_id, NEIGHBOUR_PHONE)  # 小李's, refused to 王姐
    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/members")
    form = {"csrf_token": csrf_of(page.text), "member_id": str(claimed), "reason": "邻居先扫的是我的码"}
    first = await client.post(f"/brands/{demo.brand_id}/leader/disputes", data=form)
    assert first.status_code == 303 and first.headers["location"].startswith(f"/brands/{demo.brand_id}/leader/members?opened=")
    second = await client.post(f"/brands/{demo.brand_id}/leader/disputes", data=form)
    assert second.status_code == 409
    assert "已有待处理的申诉" in re.search(r'data-error-for="member_id">([^<]*)<', second.text).group(1)
    async with ctx.db.read() as s:
        rows = (await s.scalars(select(Dispute))).all()
    assert [(d.member_id, d.status, d.reason) for d in rows] == [(claimed, "open", "邻居先扫的是我的码")]
    shown = await client.get(first.headers["location"])
    disputes = text_of(re.search(r'id="disputes"(.*?)</section>', shown.text, re.S).group(1))
    assert "申诉已提交" in disputes and "待处理" in disputes and "邻居先扫的是我的码" in disputes
    assert "139****0001" in disputes and not ELEVEN_DIGITS.search(shown.text)
    assert "当时归属 小*" in disputes  # the other leader masked, as the API shows a leader's view

    # Once staff reject it, her page shows the state and the reason.
    async with ctx.db.transaction() as s:
        owner = await s.scalar(select(User).where(User.login_name == "youlin-owner"))
        await attribution.resolve_dispute(session=s, brand_id=demo.brand_id, dispute_id=rows[0].id, decision="rejected",
                                          reason="邻居确认先扫了小李的码", actor_user_id=owner.id, now=ctx.clock.now())
    later = text_of((await client.get(f"/brands/{demo.brand_id}/leader/members")).text)
    assert "申诉驳回" in later and "邻居确认先扫了小李的码" in later


@pytest.mark.parametrize(("who", "reason", "field", "status", "message"), [
    ("refused", "  ", "reason", 422, "请填写申诉理由"),
    ("refused", "长" * 501, "reason", 422, "原因不能超过 500 字"),
    ("own", "是我的", "member_id", 409, "该用户已绑定您"),
    ("stranger", "是我的", "member_id", 404, "没有找到与您有关的该用户"),
    ("none", "是我的", "member_id", 422, "请选择要申诉的邻居"),
])
async def test_a_refused_dispute_is_told_beside_the_field_and_opens_nothing(client, ctx, who, reason, field, status, message):
    demo = await load(ctx)
    phones = {"refused": NEIGHBOUR_PHONE, "own": neighbour(15)[0], "stranger": neighbour(2)[0]}
    member_id = str(await member_id_of(ctx, demo.brand_id, phones[who])) if who in phones else ""
    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/members")
    refused = await client.post(f"/brands/{demo.brand_id}/leader/disputes",
                                data={"csrf_token": csrf_of(page.text), "member_id": member_id, "reason": reason})
    assert refused.status_code == status
    assert message in re.search(rf'data-error-for="{field}">([^<]*)<', refused.text).group(1)
    if field == "reason" and reason.strip():
        assert reason in refused.text  # the textarea keeps what was typed
    assert await dispute_count(ctx) == 0


async def test_dispute_and_arrival_need_a_valid_csrf_token(client, ctx):
    demo = await load(ctx)
    wave_id = await demo_wave_id(ctx, demo.xiaoli_community_id)
    claimed = await member_id_of(ctx, demo.brand_id, NEIGHBOUR_PHONE)
    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    for token in (None, "forged"):
        refused = await client.post(f"/brands/{demo.brand_id}/leader/disputes", data={
            "member_id": str(claimed), "reason": "是我的", **({"csrf_token": token} if token else {})})
        assert refused.status_code == 403 and "页面已过期或来源不明" in text_of(refused.text)
    client.cookies.clear()
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    for token in (None, "forged"):
        refused = await client.post(f"/brands/{demo.brand_id}/leader/delivery-waves/{wave_id}/arrive",
                                    data={"csrf_token": token} if token else {})
        assert refused.status_code == 403 and "页面已过期或来源不明" in text_of(refused.text)
    assert await dispute_count(ctx) == 0
