"""In Chromium at phone width, on the demo: a neighbour of 小李 holding 草莓季满50减10 opens 我的优惠券, goes to the
strawberry room, picks the coupon in the offer's buy form (what is paid follows the quantity and the coupon),
buys, and the order page shows the discount and 实付; the payment asks for that amount."""

from __future__ import annotations

from playwright.async_api import expect

from linli.demo.coupons import FRUIT_COUPON
from tests.web.browser import Phone
from tests.web.test_coupon_pages import NEIGHBOUR, _room
from tests.web.test_live_room_browser import sign_in
from tests.web.workbench_scene import load


async def test_a_neighbour_buys_with_a_coupon_and_reads_the_discount_and_what_was_paid(phone: Phone, ctx):
    await load(ctx)
    session_id, offer_id, _, _ = await _room(ctx)
    page = phone.page
    await sign_in(phone, ctx, NEIGHBOUR, "/me")
    await expect(page).to_have_url(f"{phone.base_url}/me")
    await page.get_by_role("link", name="我的优惠券").click()
    coupons = page.get_by_test_id("coupons")
    await expect(coupons).to_contain_text(FRUIT_COUPON)
    await expect(coupons.get_by_test_id("coupon-status")).to_have_text("可用")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.shoot("my-coupons")

    await phone.open(f"/live/{session_id}")
    form = page.get_by_test_id(f"buy-offer-{offer_id}")
    payable = form.get_by_test_id("payable")
    await expect(payable).to_contain_text("实付 ¥68.00")
    choice = form.get_by_label("优惠券")
    option_value = await choice.locator("option", has_text=FRUIT_COUPON).get_attribute("value")
    await choice.select_option(option_value)
    await expect(payable).to_contain_text("实付 ¥58.00")
    await expect(payable).to_contain_text("已减 ¥10.00")
    await form.get_by_label("数量（每人限购 2 件）").fill("2")
    await expect(payable).to_contain_text("实付 ¥126.00")
    await form.get_by_label("数量（每人限购 2 件）").fill("1")
    await expect(payable).to_contain_text("实付 ¥58.00")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.shoot("room-with-coupon")

    await form.get_by_role("button", name="立即购买").click()
    await expect(page.get_by_test_id("result")).to_contain_text("待支付")
    await expect(page.get_by_test_id("total")).to_have_text("¥68.00")
    await expect(page.get_by_test_id("discount")).to_have_text("优惠券 -¥10.00")
    await expect(page.get_by_test_id("amount")).to_have_text("实付 ¥58.00")
    await phone.shoot("order")
    await page.get_by_role("button", name="去支付").click()
    await expect(page.locator(".amount")).to_have_text("¥58.00")  # the simulator's cashier asks what is payable
    await page.get_by_role("button", name="支付", exact=True).click()
    await expect(page.locator("#status")).to_have_text("支付成功")
    await page.get_by_role("link", name="查看订单").click()
    await expect(page.get_by_test_id("result")).to_contain_text("已支付")
    await expect(page.get_by_test_id("amount")).to_have_text("实付 ¥58.00")
    await phone.shoot("paid")

    await phone.open("/me/coupons?status=used")
    await expect(page.get_by_test_id("coupons").get_by_test_id("coupon-status")).to_have_text("已使用")
    assert phone.foreign_requests() == []
    assert [e for e in phone.console_errors if "404" not in e] == []
    await page.context.close()  # ends the room's event stream before the server stops
