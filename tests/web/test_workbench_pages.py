"""The leader's workbench over HTTP: who may open each page and post each form, what the pages show, 核销 by
code (a double submit verifies once), a withdrawal request (a double click asks once), CSRF refusals."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from linli.fulfillment.models import Parcel
from linli.leaders import invite_codes
from linli.payouts import service as payouts
from linli.payouts.models import Withdrawal
from linli.web.visitor import SESSION_COOKIE
from tests.web.conftest import csrf_of
from tests.web.workbench_scene import NEIGHBOUR_PHONE, other_brand_leader, WANGJIE_PHONE, XIAOLI_PHONE, arrived_parcels, load, sign_in_as


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, f"no hidden field {name}"
    return found.group(1)


PAGES = ["/leader", "/parcels", "/withdrawals", "/qr.png", "/share-image.png"]


def page_path(brand_id: int, page: str) -> str:
    return f"/brands/{brand_id}/leader" + ("" if page == "/leader" else page)


async def test_xiaoli_sees_badge_level_invite_and_money(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    chosen = await client.get("/leader")
    assert chosen.status_code == 303 and chosen.headers["location"] == f"/brands/{demo.brand_id}/leader"
    home = await client.get(chosen.headers["location"])
    assert home.status_code == 200
    page = text_of(home.text)
    assert "云顶华府·优邻优选社区主理人" in page and "等级 见习" in page and "权益：基础佣金" in page
    async with ctx.db.read() as s:
        figures = await payouts.leader_figures(session=s, brand_id=demo.brand_id, leader_id=demo.xiaoli_leader_id,
                                               now=ctx.clock.now())
        code = (await invite_codes.current_code(session=s, leader_id=demo.xiaoli_leader_id)).code
    assert code in page and f"/i/{code}" in page
    assert f'src="/brands/{demo.brand_id}/leader/qr.png"' in home.text
    assert f'href="/brands/{demo.brand_id}/leader/share-image.png" download' in home.text
    available = re.search(r'data-testid="available">([^<]*)<', home.text).group(1)
    assert available == f"¥{figures.available_fen // 100}.{figures.available_fen % 100:02d}" and figures.available_fen > 0
    # The demo's oranges were paid this evening and last week's grapes this month: both rows count orders.
    today = text_of(re.search(r'data-testid="today">(.*?)</tr>', home.text).group(1))
    month = text_of(re.search(r'data-testid="month">(.*?)</tr>', home.text).group(1))
    today_orders, month_orders = (int(re.search(r"(\d+) 单", t).group(1)) for t in (today, month))
    assert 0 < today_orders < month_orders

    qr = await client.get(f"/brands/{demo.brand_id}/leader/qr.png")
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/png" and qr.content[:4] == b"\x89PNG"
    poster = await client.get(f"/brands/{demo.brand_id}/leader/share-image.png")
    assert poster.status_code == 200 and poster.content[:4] == b"\x89PNG"
    assert poster.headers["content-disposition"] == f'attachment; filename="invite-{code}.png"'


@pytest.mark.parametrize("who", ["anonymous", "member", "staff", "other-brand-leader"])
async def test_who_may_not_open_the_workbench(client, ctx, world, who):
    demo = await load(ctx)
    if who == "member":
        await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    elif who == "staff":
        await sign_in_as(client, ctx, login="youlin-owner")
    elif who == "other-brand-leader":
        _, ref = await other_brand_leader(world)
        client.cookies.set(SESSION_COOKIE, ref.actor.token)
    for page in PAGES:
        path = page_path(demo.brand_id, page)
        response = await client.get(path)
        if who == "anonymous":
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/signin?next=/brands/"), path
        else:
            assert response.status_code == 403, path
            assert response.headers["content-type"].startswith("text/html"), path
            assert "仅限本品牌在任团长操作" in text_of(response.text), path
    chooser = await client.get("/leader")
    if who == "anonymous":
        assert chooser.status_code == 303
    elif who == "other-brand-leader":  # a leader of one brand: sent to that brand's workbench, never the demo's
        assert chooser.status_code == 303 and chooser.headers["location"] != f"/brands/{demo.brand_id}/leader"
    else:
        assert chooser.status_code == 403 and "您还不是在任团长" in text_of(chooser.text)


async def test_xiaoli_may_not_open_another_brands_workbench(client, ctx, world):
    await load(ctx)
    other, _ = await other_brand_leader(world)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    for page in PAGES[:3]:
        assert (await client.get(page_path(other, page))).status_code == 403


async def test_parcels_are_masked_and_a_code_is_verified_once(client, ctx):
    demo = await load(ctx)
    [first, *_] = await arrived_parcels(ctx, demo.xiaoli_community_id)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/parcels")
    assert page.status_code == 200
    assert "待提货" in text_of(page.text)
    assert not re.search(r"1[3-9]\d{9}", page.text)  # every phone is masked
    assert first.pickup_code not in page.text  # the code is the neighbour's to tell
    token = csrf_of(page.text)
    done = await client.post(f"/brands/{demo.brand_id}/leader/pickups", data={"csrf_token": token, "code": first.pickup_code})
    assert done.status_code == 200
    result = re.search(r'data-testid="pickup-result">([^<]*)<', done.text).group(1)
    assert result.startswith("已提货")
    again = await client.post(f"/brands/{demo.brand_id}/leader/pickups", data={"csrf_token": token, "code": first.pickup_code})
    assert again.status_code == 409
    assert "该提货码已核销" in re.search(r'data-error-for="code">([^<]*)<', again.text).group(1)
    assert f'value="{first.pickup_code}"' in again.text  # the field keeps what was typed
    unknown = await client.post(f"/brands/{demo.brand_id}/leader/pickups", data={"csrf_token": token, "code": "000000"})
    assert unknown.status_code == 404 and "没有这个提货码" in text_of(unknown.text)
    async with ctx.db.read() as s:
        parcel = await s.get(Parcel, first.id)
    assert parcel.status == "picked_up"


async def test_another_leader_cannot_verify_and_csrf_is_required(client, ctx, world):
    demo = await load(ctx)
    [first, *_] = await arrived_parcels(ctx, demo.xiaoli_community_id)
    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)  # the same brand's leader of 翠湖花园
    page = await client.get(f"/brands/{demo.brand_id}/leader/parcels")
    assert page.status_code == 200 and f'data-testid="parcel-{first.id}"' not in page.text  # only 王姐's own point
    wang = await client.post(f"/brands/{demo.brand_id}/leader/pickups", data={"csrf_token": csrf_of(page.text), "code": first.pickup_code})
    assert wang.status_code == 404  # not a code of 王姐's pickup point, and nothing says whose it is

    for who in ("member", "staff"):
        client.cookies.clear()
        await sign_in_as(client, ctx, **({"phone": NEIGHBOUR_PHONE} if who == "member" else {"login": "youlin-owner"}))
        token = csrf_of((await client.get("/me")).text)
        for path, data in (("pickups", {"code": first.pickup_code}), ("withdrawals", {"amount": "100", "idempotency_key": "k" * 16})):
            refused = await client.post(f"/brands/{demo.brand_id}/leader/{path}", data={"csrf_token": token, **data})
            assert refused.status_code == 403 and "仅限本品牌在任团长操作" in text_of(refused.text), (who, path)

    client.cookies.clear()
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    for path, data in (("pickups", {"code": first.pickup_code}), ("withdrawals", {"amount": "100", "idempotency_key": "k" * 16})):
        for token in (None, "forged"):
            refused = await client.post(
                f"/brands/{demo.brand_id}/leader/{path}", data={**data, **({"csrf_token": token} if token else {})}
            )
            assert refused.status_code == 403 and "页面已过期或来源不明" in text_of(refused.text)
    client.cookies.clear()
    anonymous = await client.post(f"/brands/{demo.brand_id}/leader/pickups", data={"code": first.pickup_code})
    assert anonymous.status_code == 403
    async with ctx.db.read() as s:
        assert (await s.get(Parcel, first.id)).status == "arrived"
        assert await s.scalar(select(func.count()).select_from(Withdrawal)) == 0


async def test_a_double_click_on_withdraw_asks_once(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/withdrawals")
    assert page.status_code == 200
    text = text_of(page.text)
    async with ctx.db.read() as s:
        figures = await payouts.leader_figures(session=s, brand_id=demo.brand_id, leader_id=demo.xiaoli_leader_id, now=ctx.clock.now())
    policy = figures.policy
    assert f"单笔最低 ¥{policy.min_amount_fen // 100}.{policy.min_amount_fen % 100:02d}" in text
    assert "每日上限" in text and "手续费" in text
    now_fen = figures.withdrawable_now_fen
    assert f"现在最多可提 ¥{now_fen // 100}.{now_fen % 100:02d}" in text and now_fen >= policy.min_amount_fen
    form = {"csrf_token": csrf_of(page.text), "idempotency_key": hidden(page.text, "idempotency_key"),
            "amount": f"{policy.min_amount_fen // 100}.{policy.min_amount_fen % 100:02d}"}
    first = await client.post(f"/brands/{demo.brand_id}/leader/withdrawals", data=form)
    second = await client.post(f"/brands/{demo.brand_id}/leader/withdrawals", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    async with ctx.db.read() as s:
        rows = (await s.scalars(select(Withdrawal))).all()
    assert [(w.amount_fen, w.status) for w in rows] == [(policy.min_amount_fen, "requested")]
    shown = await client.get(first.headers["location"])
    assert "提现申请已提交" in text_of(shown.text) and "待审核" in text_of(shown.text)
    assert hidden(shown.text, "idempotency_key") != form["idempotency_key"]  # the next request is a new one


@pytest.mark.parametrize(("amount", "status", "message"), [
    ("abc", 422, "请输入提现金额"),
    ("0.01", 422, "单笔提现不能低于"),
    ("999999", 409, "提现金额超过可提现余额"),
])
async def test_a_refused_withdrawal_is_told_beside_the_field_and_asks_nothing(client, ctx, amount, status, message):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/withdrawals")
    refused = await client.post(f"/brands/{demo.brand_id}/leader/withdrawals", data={
        "csrf_token": csrf_of(page.text), "idempotency_key": hidden(page.text, "idempotency_key"), "amount": amount})
    assert refused.status_code == status
    assert message in re.search(r'data-error-for="amount">([^<]*)<', refused.text).group(1)
    assert f'value="{amount}"' in refused.text
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Withdrawal)) == 0
