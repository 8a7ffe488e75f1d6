"""In Chromium on a desktop, on the demo with tonight's paid orders: the brand's owner signs in, opens the demo's
wave of oranges, cuts tonight's wave for 云顶华府, marks it packed and prints its pick list (print media too)."""

from __future__ import annotations

from playwright.async_api import expect

from linli.demo.cast import DEMO_PASSWORD, OWNER_LOGIN
from tests.web.browser import Phone
from tests.web.wave_scene import STRAWBERRY, buy_tonight, parcels_of, waves_of
from tests.web.workbench_scene import load


async def test_staff_cut_a_wave_mark_it_packed_and_print_its_pick_list(desk: Phone, ctx):
    demo = await load(ctx)
    order_ids = await buy_tonight(ctx, demo.brand_id)
    [_, oranges] = await waves_of(ctx, demo.brand_id)
    page = desk.page
    await desk.open("/signin/staff")
    await page.get_by_label("登录名").fill(OWNER_LOGIN)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="登录", exact=True).click()
    await expect(page.get_by_test_id("console-brand")).to_have_text("优邻优选")

    await page.get_by_role("navigation", name="品牌后台").get_by_role("link", name="配送波次").click()
    await expect(page.get_by_test_id(f"wave-{oranges.id}").get_by_test_id("wave-status")).to_have_text("已到自提点")
    await desk.shoot("waves")
    await page.get_by_role("link", name=f"#{oranges.id}").click()
    await expect(page.get_by_test_id("steps")).to_contain_text("已到自提点，等待邻居提货")
    await desk.shoot("demo-wave")

    await page.get_by_role("link", name="← 全部波次").click()
    await page.get_by_label("自提点所在小区").select_option(label="云顶华府")
    await page.get_by_role("button", name="截单").click()
    await expect(page.get_by_test_id("done")).to_contain_text("已截单")
    await expect(page.get_by_test_id("wave-status")).to_have_text("待打包")
    await desk.shoot("cut")
    await page.get_by_role("button", name="标记已打包").click()
    await expect(page.get_by_test_id("done")).to_have_text("已标记为「已打包」")
    await expect(page.get_by_test_id("wave-status")).to_have_text("已打包")
    await expect(page.get_by_role("button", name="标记已发出")).to_be_visible()
    await desk.shoot("packed")
    tonight = (await waves_of(ctx, demo.brand_id))[-1]
    assert (tonight.status, tonight.community_id) == ("packed", demo.xiaoli_community_id)
    assert [p.status for p in await parcels_of(ctx, order_ids)] == ["packed", "packed", "packed", "waiting"]

    await page.get_by_role("link", name="拣货单").click()
    await expect(page.get_by_test_id("pick-products")).to_contain_text(STRAWBERRY)
    await expect(page.get_by_test_id("bag-1")).to_contain_text("第 1 袋")
    await desk.shoot("pick-list")
    # 「打印」 opens the browser's print dialog (stubbed here: a headless browser has none to show).
    await page.evaluate("window.print = function () { window.printed = true; }")
    await page.get_by_role("button", name="打印").click()
    assert await page.evaluate("window.printed === true")
    await page.emulate_media(media="print")
    await expect(page.locator("header.top")).to_be_hidden()
    await expect(page.get_by_role("navigation", name="品牌后台")).to_be_hidden()
    await expect(page.get_by_role("button", name="打印")).to_be_hidden()
    await expect(page.get_by_test_id("pick-bags")).to_be_visible()
    await desk.shoot("pick-list-print")
    assert desk.foreign_requests() == []
    assert desk.console_errors == []
