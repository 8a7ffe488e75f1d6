"""The console's commission rules over HTTP, on the demo: the version in force and the history (who, since when),
publishing a new version (percentages parsed exactly, history never edited, the rest of the rules carried over),
and refusals beside their field keeping what was typed, with nothing published. (Who may open it and post:
test_console_money_pages.py.)"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from linli.accounts.models import User
from linli.catalog.models import Product
from linli.demo.cast import OPERATOR_LOGIN
from linli.ledger import rules
from linli.ledger.models import CommissionRuleVersion
from tests.web.conftest import csrf_of
from tests.web.test_workbench_pages import text_of
from tests.web.workbench_scene import load, sign_in_as

TYPED = {"live_rate": "15", "off_session_rate": "10", "referral_rate": "2", "referral_months": "12",
         "settlement_window_days": "1", "self_purchase_counts": "1", "note": ""}


async def versions(ctx, brand_id: int) -> list[CommissionRuleVersion]:
    async with ctx.db.read() as s:
        return list(await s.scalars(rules.versions_query(brand_id=brand_id)))


async def a_product(ctx, brand_id: int) -> Product:
    async with ctx.db.read() as s:
        product = await s.scalar(select(Product).where(Product.brand_id == brand_id).order_by(Product.id).limit(1))
        assert product is not None
        return product


async def open_page(client, brand_id: int) -> tuple[str, str]:
    page = await client.get(f"/brands/{brand_id}/console/commission")
    assert page.status_code == 200
    return page.text, csrf_of(page.text)


async def test_the_page_shows_the_rules_in_force_and_the_defaults_as_version_1(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    html, _ = await open_page(client, demo.brand_id)
    page = text_of(html)
    assert "当前规则：版本 1" in page and "直播间订单 15%，非直播订单 10%" in page and "拉新奖励 +2%" in page
    assert "月销售 ¥10000.00 起奖励 ¥200.00" in page and "品牌年度团长大会邀请" in page
    assert 'data-testid="version-1"' in html and "系统默认" in page
    assert 'name="live_rate" type="text" value="15"' in html  # the form starts from the version in force
    product = await a_product(ctx, demo.brand_id)
    assert f'name="product-{product.id}"' in html and product.name in page


async def test_publishing_makes_a_new_version_and_never_edits_history(client, ctx):
    demo = await load(ctx)
    product = await a_product(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login=OPERATOR_LOGIN)  # not owner-only in the API, so neither here
    _, token = await open_page(client, demo.brand_id)
    sent = {**TYPED, "csrf_token": token, "live_rate": "18.5", "off_session_rate": "12.25%", "self_purchase_counts": "",
            f"product-{product.id}": "20", "note": "草莓季上调"}
    done = await client.post(f"/brands/{demo.brand_id}/console/commission", data=sent)
    assert done.status_code == 303 and done.headers["location"].endswith("/console/commission?published=2")
    [second, first] = await versions(ctx, demo.brand_id)
    assert (first.version, first.live_rate_bp, first.created_by_user_id) == (1, 1500, None)  # the defaults, as they were
    assert (second.version, second.live_rate_bp, second.off_session_rate_bp) == (2, 1850, 1225)
    assert second.product_overrides == [{"product_id": product.id, "rate_bp": 2000}]
    assert second.self_purchase_counts is False and second.note == "草莓季上调" and second.created_at == ctx.clock.now()
    assert second.tier_bonuses == [  # carried over from the version in force
        {"threshold_fen": t.threshold_fen, "bonus_fen": t.bonus_fen, "reward": t.reward} for t in rules.DEFAULT_RULES.tier_bonuses
    ]
    async with ctx.db.read() as s:
        operator = await s.scalar(select(User).where(User.login_name == OPERATOR_LOGIN))
    assert second.created_by_user_id == operator.id
    page = text_of((await client.get(done.headers["location"])).text)
    assert "已发布版本 2" in page and "当前规则：版本 2" in page and "直播间订单 18.5%，非直播订单 12.25%" in page
    assert f"商品「{product.name}」20%" in page and "团长自购不计佣" in page and "草莓季上调" in page

    # A correction is one more version; version 2 stays as it was.
    _, token = await open_page(client, demo.brand_id)
    again = await client.post(f"/brands/{demo.brand_id}/console/commission",
                              data={**TYPED, "csrf_token": token, "live_rate": "16", "note": "更正"})
    assert again.headers["location"].endswith("published=3")
    [third, second_again, _] = await versions(ctx, demo.brand_id)
    assert (third.live_rate_bp, third.product_overrides) == (1600, [])
    assert (second_again.live_rate_bp, second_again.product_overrides) == (1850, [{"product_id": product.id, "rate_bp": 2000}])


@pytest.mark.parametrize(("field", "typed", "status", "message"), [
    ("live_rate", "abc", 422, "直播间基础佣金率请填百分比"),
    ("live_rate", "15.555", 422, "最多两位小数"),
    ("live_rate", "120", 422, "直播间基础佣金率须在 0 到 10000 个基点"),
    ("referral_rate", "90", 422, "佣金率加拉新奖励不能超过 100%"),
    ("referral_months", "12个月", 422, "拉新奖励期（月）请填整数"),
    ("settlement_window_days", "31", 422, "售后期须在 0 到 30 天之间"),
    ("product", "150", 422, "商品专属佣金率须在 0 到 10000 个基点"),
    ("product", "二十", 422, "商品专属佣金率请填百分比"),
])
async def test_a_refusal_is_beside_its_field_keeps_the_typing_and_publishes_nothing(client, ctx, field, typed, status, message):
    demo = await load(ctx)
    product = await a_product(ctx, demo.brand_id)
    name = f"product-{product.id}" if field == "product" else field
    await sign_in_as(client, ctx, login="youlin-owner")
    _, token = await open_page(client, demo.brand_id)
    refused = await client.post(f"/brands/{demo.brand_id}/console/commission",
                                data={**TYPED, "csrf_token": token, "note": "试一下", name: typed})
    assert refused.status_code == status
    assert f'id="f-{name}-error"' in refused.text and message in text_of(refused.text)
    assert f'name="{name}" type="text" value="{typed}"' in refused.text and 'value="试一下"' in refused.text
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(CommissionRuleVersion).where(
            CommissionRuleVersion.brand_id == demo.brand_id, CommissionRuleVersion.created_by_user_id.is_not(None))) == 0


async def test_a_double_click_on_publish_publishes_once(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    html, token = await open_page(client, demo.brand_id)
    made_over = re.search(r'name="based_on_version" value="(\d+)"', html).group(1)
    assert made_over == "1"
    sent = {**TYPED, "csrf_token": token, "live_rate": "16", "note": "上调", "based_on_version": made_over}
    first = await client.post(f"/brands/{demo.brand_id}/console/commission", data=sent)
    second = await client.post(f"/brands/{demo.brand_id}/console/commission", data=sent)
    assert first.status_code == 303 and second.status_code == 409
    assert "佣金规则已更新为第 2 版，本次未发布" in text_of(second.text)
    assert 'value="16"' in second.text and 'name="based_on_version" value="2"' in second.text  # typing kept, made over v2
    assert [v.version for v in await versions(ctx, demo.brand_id)] == [2, 1]
