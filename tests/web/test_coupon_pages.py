"""The coupon pages over HTTP on the demo: the console's 优惠券 (who may, what each form writes, refusals beside
their fields, a double submit issuing once), 我的优惠券, and the live room's coupon choice (what is offered on
which form, buying with one, a refusal beside the choice)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from linli.coupons.models import Coupon, CouponCampaign, CouponRule, CouponTemplate
from linli.demo.cast import STRAWBERRY_TITLE
from linli.demo.coupons import FRUIT_COUPON
from linli.live.models import CommunityOffer, Listing, LiveSession
from linli.orders.models import Order
from tests.web.conftest import csrf_of
from tests.web.test_console_catalog_pages import WHO_MAY_NOT, assert_refused, error_for, token_for
from tests.web.test_live_room_page import key_of
from tests.web.test_workbench_pages import hidden, text_of
from tests.web.workbench_scene import become, load, sign_in_as

NEIGHBOUR = "13900000001"  # holds the demo's fruit coupon
WITHOUT = "13900000005"  # a neighbour of 小李 without one


def coupons_path(brand_id: int, rest: str = "") -> str:
    return f"/brands/{brand_id}/console/coupons{rest}"


async def counts(ctx) -> tuple[int, ...]:
    async with ctx.db.read() as s:
        return tuple([int(await s.scalar(select(func.count()).select_from(m)) or 0)
                      for m in (CouponTemplate, Coupon, CouponRule, CouponCampaign, Order)])


async def template_id(ctx, name: str) -> int:
    async with ctx.db.read() as s:
        return await s.scalar(select(CouponTemplate.id).where(CouponTemplate.name == name))


@pytest.mark.parametrize("who", WHO_MAY_NOT)
async def test_only_the_brands_staff_open_and_post_the_coupon_page(client, ctx, world, who):
    demo = await load(ctx)
    await become(client, ctx, world, who)
    fruit = await template_id(ctx, FRUIT_COUPON)
    before = await counts(ctx)
    page = await client.get(coupons_path(demo.brand_id))
    assert_refused(page, who, coupons_path(demo.brand_id))
    token = await token_for(client, who)
    for rest, data in (
        ("", {"name": "偷偷发券", "kind": "fixed", "amount": "10", "valid_days": "3", "scope": "all"}),
        (f"/{fruit}/disable", {}),
        ("/issue", {"issue_template_id": str(fruit), "issue_phones": WITHOUT, "issue_key": "web-aaaaaaaaaaaa"}),
        ("/rules", {"rule_template_id": str(fruit)}),
        ("/campaigns", {"campaign_template_id": str(fruit), "campaign_name": "偷发", "campaign_audience": "members",
                        "campaign_phones": WITHOUT, "campaign_key": "web-bbbbbbbbbbbb"}),
    ):
        refused = await client.post(coupons_path(demo.brand_id, rest), data={"csrf_token": token, **data})
        assert_refused(refused, who, coupons_path(demo.brand_id))
    assert await counts(ctx) == before


async def test_staff_read_the_templates_with_their_counts_and_create_one_once(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-ops")
    page = await client.get(coupons_path(demo.brand_id))
    assert page.status_code == 200
    fruit = await template_id(ctx, FRUIT_COUPON)
    row = re.search(rf'data-testid="template-{fruit}">(.*?)</tr>', page.text, re.S).group(1)
    assert FRUIT_COUPON in row and "满50减10" in row and "限「时令水果」类商品" in text_of(row)
    issued = re.search(rf'data-testid="template-{fruit}">.*?data-testid="issued">(\d+)<', page.text, re.S).group(1)
    assert issued == "3"
    before = await counts(ctx)
    form = {
        "csrf_token": csrf_of(page.text), "form_key": hidden(page.text, "form_key"), "name": "满100享8.5折", "kind": "percent",
        "zhe": "8.5", "cap": "20", "threshold": "100", "valid_days": "", "valid_from": "2026-11-20T10:00",
        "valid_until": "2026-12-01T00:00", "per_member_limit": "2", "issue_quota": "", "scope": "all",
    }
    first = await client.post(coupons_path(demo.brand_id), data=form)
    assert first.status_code == 303 and first.headers["location"].endswith("coupons?done=template")
    second = await client.post(coupons_path(demo.brand_id), data=form)  # a double click
    assert second.status_code == 303
    assert (await counts(ctx))[0] == before[0] + 1
    shown = await client.get(first.headers["location"])
    assert "优惠券已创建" in shown.text and "满100享8.5折（最高减20元）" in shown.text
    async with ctx.db.read() as s:
        made = await s.scalar(select(CouponTemplate).where(CouponTemplate.name == "满100享8.5折"))
    assert (made.percent_off_bp, made.cap_fen, made.threshold_fen, made.per_member_limit) == (1500, 2000, 10000, 2)
    assert made.valid_until.isoformat() == "2026-11-30T16:00:00+00:00"  # midnight in Shanghai

    stopped = await client.post(coupons_path(demo.brand_id, f"/{made.id}/disable"), data={"csrf_token": csrf_of(shown.text)})
    assert stopped.status_code == 303
    assert "已停发" in (await client.get(stopped.headers["location"])).text


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"amount": "十元"}, "amount", "请输入减免金额（元），最多两位小数"),
    ({"amount": "60"}, "amount", "减免金额须小于使用门槛"),
    ({"kind": "percent", "zhe": "12", "cap": "5"}, "zhe", "折扣请填 0.01 到 9.99 之间的折数"),
    ({"kind": "percent", "zhe": "9", "cap": ""}, "cap", "请输入最高减免金额（元）"),
    ({"valid_days": "", "valid_from": "明天"}, "valid_days", "请填写有效期开始时间"),
    ({"valid_days": "0"}, "valid_days", "有效天数须在 1 到 366 之间"),
    ({"name": ""}, "name", "券名称须为 1 到 32 个字"),
    ({"scope": "product:999999"}, "scope", "商品不存在"),
])
async def test_a_refusal_is_beside_its_field_keeps_what_was_typed_and_creates_nothing(client, ctx, change, field, message):
    demo = await load(ctx)
    await sign_in_as(client, ctx)
    page = await client.get(coupons_path(demo.brand_id))
    before = await counts(ctx)
    form = {
        "csrf_token": csrf_of(page.text), "form_key": hidden(page.text, "form_key"), "name": "满50减10", "kind": "fixed",
        "amount": "10", "threshold": "50", "valid_days": "7", "per_member_limit": "1", "scope": "all", **change,
    }
    refused = await client.post(coupons_path(demo.brand_id), data=form)
    assert refused.status_code in (404, 422)
    assert error_for(refused.text, field).startswith(message)
    assert f'value="{form["name"]}"' in refused.text
    assert await counts(ctx) == before


async def test_staff_issue_by_hand_set_a_rule_and_run_a_campaign_each_once(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx)
    fruit = await template_id(ctx, FRUIT_COUPON)
    page = await client.get(coupons_path(demo.brand_id))
    issue = {"csrf_token": csrf_of(page.text), "issue_key": hidden(page.text, "issue_key"),
             "issue_template_id": str(fruit), "issue_phones": f"{WITHOUT}\n13912345678"}
    done = await client.post(coupons_path(demo.brand_id, "/issue"), data=issue)
    assert done.status_code == 200
    outcome = text_of(re.search(r'data-testid="outcome">(.*?)</section>', done.text, re.S).group(1))
    assert "手动发券：发出 1 张" in outcome and "13912345678：该手机号不是本品牌的用户" in outcome
    again = await client.post(coupons_path(demo.brand_id, "/issue"), data=issue)
    assert "发出 0 张" in text_of(again.text) and "此前已发出 1 张" in text_of(again.text)
    empty = await client.post(coupons_path(demo.brand_id, "/issue"), data={**issue, "issue_phones": " "})
    assert empty.status_code == 422 and error_for(empty.text, "issue_phones") == "请填写要发券的用户"

    # The demo already has the welcome rule: adding it again is refused beside the choice.
    welcome = await template_id(ctx, "新邻居见面礼")
    twice = await client.post(coupons_path(demo.brand_id, "/rules"),
                              data={"csrf_token": csrf_of(page.text), "rule_template_id": str(welcome)})
    assert twice.status_code == 409 and error_for(twice.text, "rule_template_id") == "这张券已设置了同样的自动发放规则"
    added = await client.post(coupons_path(demo.brand_id, "/rules"),
                              data={"csrf_token": csrf_of(page.text), "rule_template_id": str(fruit)})
    assert added.status_code == 303

    async with ctx.db.read() as s:
        from linli.brands.models import Community
        cuihu = await s.scalar(select(Community.id).where(Community.name == "翠湖花园"))
    campaign = {"csrf_token": csrf_of(page.text), "campaign_key": hidden(page.text, "campaign_key"),
                "campaign_template_id": str(welcome), "campaign_name": "翠湖花园开团福利",
                "campaign_audience": f"community:{cuihu}", "campaign_phones": ""}
    ran = await client.post(coupons_path(demo.brand_id, "/campaigns"), data=campaign)
    assert "发券活动「翠湖花园开团福利」：发出 8 张" in text_of(ran.text)  # 王姐's eight neighbours
    replay = await client.post(coupons_path(demo.brand_id, "/campaigns"), data=campaign)
    assert "（已发起过，未重复发放）：发出 0 张" in text_of(replay.text)
    async with ctx.db.read() as s:
        campaign_id = await s.scalar(select(CouponCampaign.id))
    rerun = await client.post(coupons_path(demo.brand_id, f"/campaigns/{campaign_id}/run"),
                              data={"csrf_token": csrf_of(page.text)})
    assert "再次发放：发出 0 张" in text_of(rerun.text)
    assert (await counts(ctx))[1:4] == (3 + 1 + 8, 2, 1)


async def _room(ctx) -> tuple[int, int, int, int]:
    async with ctx.db.read() as s:
        live = await s.scalar(select(LiveSession).where(LiveSession.title == STRAWBERRY_TITLE))
        offer = await s.scalar(select(CommunityOffer).where(CommunityOffer.session_id == live.id))
        listings = (await s.scalars(select(Listing).where(Listing.session_id == live.id).order_by(Listing.id))).all()
    return live.id, offer.id, listings[0].id, listings[1].id  # strawberries, oranges


async def test_my_coupons_are_mine_only(client, ctx):
    await load(ctx)
    assert (await client.get("/me/coupons")).headers["location"] == "/signin?next=/me/coupons"
    await sign_in_as(client, ctx, phone=NEIGHBOUR)
    me = await client.get("/me")
    assert 'href="/me/coupons"' in me.text
    page = await client.get("/me/coupons")
    assert page.status_code == 200
    (item,) = re.findall(r'<li class="coupon" data-testid="coupon-\d+">(.*?)</li>', page.text, re.S)
    assert "可用" in item and FRUIT_COUPON in item and "满50减10" in item and "限「时令水果」类商品" in text_of(item)
    assert "还没有用过优惠券" in (await client.get("/me/coupons?status=used")).text
    assert (await client.get("/me/coupons?status=lost")).status_code == 422
    client.cookies.clear()
    await sign_in_as(client, ctx, phone=WITHOUT)
    assert "还没有可用的优惠券" in (await client.get("/me/coupons")).text


async def test_the_room_offers_the_coupon_where_it_fits_and_the_order_shows_the_discount(client, ctx):
    await load(ctx)
    session_id, offer_id, strawberry, oranges = await _room(ctx)
    await sign_in_as(client, ctx, phone=NEIGHBOUR)
    room = await client.get(f"/live/{session_id}")
    for target in (f"offer-{offer_id}", f"listing-{strawberry}", f"listing-{oranges}"):
        form = re.search(rf'data-testid="buy-{target}".*?</form>', room.text, re.S).group(0)
        assert FRUIT_COUPON in form and 'name="coupon_id"' in form and 'data-testid="payable"' in form
    coupon_id = re.search(r'<option value="(\d+)" data-kind="fixed"', room.text).group(1)

    # 49.90 of oranges do not reach 满50: refused beside the coupon, the choice and the quantity kept, nothing ordered.
    before = await counts(ctx)
    refused = await client.post(f"/live/{session_id}/buy", data={
        "csrf_token": csrf_of(room.text), "listing_id": str(oranges), "quantity": "1", "coupon_id": coupon_id,
        "idempotency_key": key_of(room.text, f"listing-{oranges}"),
    })
    assert refused.status_code == 422
    assert error_for(refused.text, "coupon_id") == "订单金额满 50.00 元才能使用这张优惠券"
    assert re.search(rf'<option value="{coupon_id}"[^>]* selected>', refused.text)
    assert await counts(ctx) == before

    bought = await client.post(f"/live/{session_id}/buy", data={
        "csrf_token": csrf_of(room.text), "offer_id": str(offer_id), "quantity": "1", "coupon_id": coupon_id,
        "idempotency_key": key_of(room.text, f"offer-{offer_id}"),
    })
    assert bought.status_code == 303
    order = await client.get(bought.headers["location"])
    assert "优惠券 -¥10.00" in order.text and "实付 ¥58.00" in order.text and "¥68.00" in order.text
    orders_page = await client.get("/me/orders")
    assert "¥58.00" in orders_page.text and "优惠券已减 ¥10.00" in orders_page.text
    used = await client.get("/me/coupons?status=used")
    assert f'href="{bought.headers["location"]}"' in used.text
    again = await client.get(f"/live/{session_id}")
    assert FRUIT_COUPON not in again.text  # used: offered nowhere any more

    client.cookies.clear()
    await sign_in_as(client, ctx, phone=WITHOUT)
    assert 'name="coupon_id"' not in (await client.get(f"/live/{session_id}")).text
