"""In Chromium at desktop width, on the demo: the brand's owner signs in, creates a product with a SKU and its
stock, takes stock, schedules a session and mounts the SKU at a live price, and sees it on the session's page."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import expect
from sqlalchemy import select

from linli.catalog.models import Product, Sku
from linli.live.models import Listing, LiveSession
from tests.web.browser import Phone
from tests.web.workbench_scene import load


async def test_staff_create_a_product_and_a_session_with_its_listing(desk: Phone, ctx):
    demo = await load(ctx)
    page = desk.page
    products = f"/brands/{demo.brand_id}/console/products"
    await desk.open(f"/signin/staff?next={products}")
    await page.get_by_label("登录名").fill("youlin-owner")
    await page.get_by_label("密码").fill("youlin-demo-2026")
    await page.get_by_role("button", name="登录", exact=True).click()
    await expect(page.get_by_role("heading", name="商品库存")).to_be_visible()
    await expect(page.get_by_role("link", name="商品库存")).to_have_attribute("aria-current", "page")

    new_product = page.get_by_test_id("product-form")
    await new_product.get_by_label("商品名称").fill("赣南脐橙")
    await new_product.get_by_label("第一个规格名称").fill("5斤装")
    await new_product.get_by_label("标价（元）").fill("39.9")
    await new_product.get_by_label("可售库存（件）").fill("200")
    await desk.shoot("product-typed")
    await page.get_by_role("button", name="新建商品").click()
    await expect(page.get_by_test_id("done")).to_have_text("商品已创建")
    async with ctx.db.read() as s:
        product = await s.scalar(select(Product).where(Product.name == "赣南脐橙"))
        sku = await s.scalar(select(Sku).where(Sku.product_id == product.id))
    row = page.get_by_test_id(f"sku-{sku.id}")
    await expect(row).to_contain_text("¥39.90")
    await expect(row.get_by_test_id("sku-stock")).to_have_text("200")

    stock_take = page.get_by_test_id("stock-form")
    await stock_take.get_by_label("规格", exact=True).select_option(str(sku.id))
    await stock_take.get_by_label("盘点后可售库存（件）").fill("180")
    await page.get_by_role("button", name="更新库存").click()
    await expect(page.get_by_test_id("done")).to_have_text("库存已更新")
    await expect(row.get_by_test_id("sku-stock")).to_have_text("180")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1280
    await desk.shoot("products")

    await page.get_by_role("link", name="直播场次").click()
    tomorrow = (ctx.clock.now() + timedelta(days=1)).astimezone(ZoneInfo("Asia/Shanghai")).replace(hour=20, minute=0)
    new_session = page.get_by_test_id("session-form")
    await new_session.get_by_label("直播标题").fill("赣南脐橙·果园直播")
    await new_session.get_by_label("开播时间").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_role("button", name="创建场次").click()
    await expect(page.get_by_test_id("done")).to_have_text("直播场次已创建")
    await expect(page.get_by_test_id("session-status")).to_have_text("未开播")
    await expect(page.get_by_test_id("session-state")).to_contain_text(f"{tomorrow.month}月{tomorrow.day}日 20:00")
    await expect(page.get_by_role("link", name="主播控制台")).to_be_visible()

    mount = page.get_by_test_id("listing-form")
    await mount.get_by_label("规格", exact=True).select_option(str(sku.id))
    await mount.get_by_label("直播价（元）").fill("29.9")
    await mount.get_by_label("本场可售数量（件）").fill("50")
    await mount.get_by_label("每人限购（件，可不填）").fill("2")
    await page.get_by_role("button", name="挂载到本场").click()
    await expect(page.get_by_test_id("done")).to_have_text("直播商品已挂载")
    async with ctx.db.read() as s:
        live = await s.scalar(select(LiveSession).where(LiveSession.title == "赣南脐橙·果园直播"))
        listing = await s.scalar(select(Listing).where(Listing.session_id == live.id))
    listed = page.get_by_test_id(f"listing-{listing.id}")
    await expect(listed).to_contain_text("赣南脐橙 · 5斤装")
    await expect(listed).to_contain_text("¥29.90")
    await desk.shoot("session")
    assert (listing.sku_id, listing.live_price_fen, listing.allocation, listing.per_member_limit) == (sku.id, 2990, 50, 2)
    assert desk.foreign_requests() == []
    assert desk.console_errors == []
