"""In Chromium, on the demo: the owner (a desktop) opens 动态审核, approves 黄姐's pending 晒单 and features it; the
author (a phone) finds the reward coupon 精选分享奖励 on 我的优惠券 and the post, featured, in 邻里动态."""

from __future__ import annotations

from playwright.async_api import expect

from linli.demo import DEMO_PASSWORD
from linli.demo.cast import OWNER_LOGIN
from linli.demo.posts import PENDING_TITLE, REWARD_COUPON
from tests.web.browser import Phone
from tests.web.test_live_room_browser import sign_in
from tests.web.test_post_pages import AUTHOR, post_id_of
from tests.web.workbench_scene import load


async def test_staff_approve_and_feature_a_post_and_the_author_gets_the_coupon(phone: Phone, desk: Phone, ctx):
    await load(ctx)
    post_id = await post_id_of(ctx, PENDING_TITLE)
    staff = desk.page
    await desk.open("/signin/staff")
    await staff.get_by_label("登录名").fill(OWNER_LOGIN)
    await staff.get_by_label("密码").fill(DEMO_PASSWORD)
    await staff.get_by_role("button", name="登录", exact=True).click()
    await staff.get_by_role("navigation", name="品牌后台").get_by_role("link", name="动态审核").click()
    card = staff.get_by_test_id(f"post-{post_id}")
    await expect(card).to_contain_text(PENDING_TITLE)
    await expect(card.get_by_test_id("post-status")).to_have_text("待审核")
    await expect(card.get_by_test_id("post-photo")).to_have_count(1)
    assert await card.get_by_test_id("post-photo").evaluate("img => img.naturalWidth") == 320  # served, decoded
    await desk.shoot("queue")
    await card.get_by_test_id("approve").click()
    await expect(staff.get_by_test_id("notice")).to_contain_text("已通过")
    card = staff.get_by_test_id(f"post-{post_id}")
    await expect(card.get_by_test_id("post-status")).to_have_text("已展示")
    await card.get_by_test_id("feature").click()
    await expect(staff.get_by_test_id("notice")).to_contain_text("已设为精选")
    await expect(staff.get_by_test_id(f"post-{post_id}").get_by_test_id("featured")).to_have_text("精选")
    await expect(staff.get_by_test_id(f"post-{post_id}").get_by_test_id("feature")).to_have_count(0)
    await desk.shoot("featured")

    page = phone.page
    await sign_in(phone, ctx, AUTHOR, "/me")
    await expect(page).to_have_url(f"{phone.base_url}/me")
    await page.get_by_role("link", name="我的优惠券").click()
    await expect(page.get_by_test_id("coupons")).to_contain_text(REWARD_COUPON)
    await phone.shoot("reward-coupon")
    await phone.open("/me")
    await page.get_by_role("link", name="邻里动态").click()
    feed = page.get_by_test_id("feed")
    await expect(feed.get_by_test_id(f"post-{post_id}").get_by_test_id("featured")).to_have_text("精选")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.shoot("feed")
    assert phone.foreign_requests() == [] and desk.foreign_requests() == []
    assert [e for e in phone.console_errors + desk.console_errors if "404" not in e] == []
