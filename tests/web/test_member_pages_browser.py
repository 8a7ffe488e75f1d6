"""In Chromium at phone width, on the demo: a neighbour of 小李 signs in, opens 我的订单, an order's pickup page
(the QR image loaded), the inbox (marks a message read), 我的团长; then posts a comment in the live room that a
second viewer's open page shows without a reload."""

from __future__ import annotations

from playwright.async_api import Browser, expect
from sqlalchemy import select

from linli.live.models import LiveSession
from tests.web.browser import Phone, open_phone
from tests.web.test_live_room_browser import sign_in
from tests.web.test_member_pages import TWO_ORDERS_PHONE, orders_of
from tests.web.workbench_scene import load


async def test_a_neighbour_walks_their_pages_and_comments_in_the_live_room(
    phone: Phone, browser: Browser, live_server: str, ctx, backend: str
):
    demo = await load(ctx)
    page = phone.page
    newest, _ = await orders_of(ctx, TWO_ORDERS_PHONE)
    await sign_in(phone, ctx, TWO_ORDERS_PHONE, "/me")
    await expect(page).to_have_url(f"{phone.base_url}/me")
    await expect(page.get_by_test_id("unread-badge")).to_be_visible()
    await phone.shoot("me")

    await page.get_by_role("link", name="我的订单").click()
    row = page.get_by_test_id(f"order-{newest.id}")
    await expect(row.get_by_test_id("order-status")).to_have_text("已支付")
    await expect(row.get_by_test_id("parcel-status")).to_have_text("待提货")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.shoot("orders")
    await row.get_by_role("link").click()
    await expect(page).to_have_url(f"{phone.base_url}/orders/{newest.id}")
    await page.get_by_role("link", name="提货码与自提点").click()
    await expect(page.get_by_test_id("pickup-state")).to_have_text("可提货")
    await expect(page.get_by_test_id("pickup-code")).to_have_text(newest_code := await open_code(ctx, newest.id))
    assert len(newest_code) == 6
    qr = page.get_by_role("img", name="提货码二维码")
    await expect(qr).to_be_visible()
    # a function predicate: a bare expression would be polled through eval, which the page's CSP refuses
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await qr.element_handle())
    await expect(page.get_by_test_id("pickup-point")).to_contain_text("云顶华府自提点")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.shoot("pickup")

    await phone.open("/me/inbox")
    unread = page.get_by_test_id("unread")
    before = await unread.count()
    assert before > 0
    await page.get_by_role("button", name="标为已读", exact=True).first.click()
    await expect(unread).to_have_count(before - 1)
    await expect(page.get_by_test_id("unread-count")).to_have_text(f"{before - 1} 条未读")
    await phone.shoot("inbox")

    await phone.open("/me/leader")
    card = page.get_by_test_id(f"leader-card-{demo.brand_id}")
    await expect(card.get_by_test_id("badge")).to_have_text("云顶华府·优邻优选社区主理人")
    await expect(card.get_by_test_id("leader-name")).to_have_text("小李 · 云顶华府")
    await phone.shoot("leader")

    # The live room: a second viewer (not signed in) keeps the room open while the neighbour comments.
    async with ctx.db.read() as s:
        session_id = await s.scalar(select(LiveSession.id).where(LiveSession.brand_id == demo.brand_id, LiveSession.status == "live"))
    viewer = await open_phone(browser, live_server, f"test_a_neighbour_walks_their_pages-{backend}-viewer")
    await viewer.open(f"/live/{session_id}")
    await expect(viewer.page.get_by_test_id("comment-sign-in")).to_have_text("登录后发言")
    await viewer.page.evaluate("window.__page = 1")
    await phone.open(f"/live/{session_id}")
    await page.get_by_label("发言").fill("橙子很甜，明天再来")
    await page.get_by_role("button", name="发送").click()
    await expect(page.get_by_test_id("comment-list")).to_contain_text("橙子很甜，明天再来")
    await expect(viewer.page.get_by_test_id("comment-list")).to_contain_text("：橙子很甜，明天再来")
    assert await viewer.page.evaluate("window.__page") == 1  # the same document: nothing reloaded
    await phone.shoot("commented")
    await viewer.shoot("seen")
    for one in (phone, viewer):
        assert one.foreign_requests() == []
        assert [e for e in one.console_errors if "404" not in e] == []
    await viewer.page.context.close()  # end the event streams before the server stops
    await page.context.close()


async def open_code(ctx, order_id: int) -> str:
    from tests.web.test_member_pages import parcel_of

    parcel = await parcel_of(ctx, order_id)
    assert parcel.open_code is not None
    return parcel.open_code
