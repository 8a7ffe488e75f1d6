"""In Chromium at phone width: a neighbour of 小李 watches the room, the quota falls while someone else buys
(no reload), the host's announcement appears as a banner, then the neighbour buys, pays through the simulator
and reads 已支付."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import expect

from linli.live import offers as live_offers
from linli.orders import service as orders
from tests.factories import make_bound_member
from tests.web.browser import Phone
from tests.web.conftest import latest_sms_code
from tests.web.test_live_room_page import RoomScene, room  # noqa: F401 - the live room fixture


async def sign_in(phone: Phone, ctx, number: str, next_path: str) -> None:
    page = phone.page
    await phone.open(f"/signin?next={next_path}")
    await page.get_by_label("手机号").fill(number)
    await page.get_by_role("button", name="获取验证码").click()
    await expect(page.get_by_role("status")).to_contain_text("验证码已发送")
    await page.get_by_label("验证码").fill(await latest_sms_code(ctx, number))
    await page.get_by_role("button", name="登录", exact=True).click()


async def test_a_neighbour_watches_the_quota_fall_then_buys_and_pays(phone: Phone, ctx, world, room: RoomScene):
    page = phone.page
    session_id, offer_id = room.web.session_id, room.offer_id
    neighbour = await make_bound_member(world, room.web.li)
    await sign_in(phone, ctx, neighbour.phone, f"/live/{session_id}")
    await expect(page).to_have_url(f"{phone.base_url}/live/{session_id}")
    offer = page.get_by_test_id(f"offer-{offer_id}")
    remaining = offer.get_by_test_id("offer-remaining")
    await expect(remaining).to_have_text("3")
    await expect(offer.get_by_test_id("countdown")).to_contain_text("分")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.shoot("room")

    # Someone else buys 2 and the host announces the offer: the open page follows without a reload.
    page_id = await page.evaluate("window.__page = Math.random()")
    other = await make_bound_member(world, room.web.li, name="张三")
    async with ctx.db.transaction() as s:
        await orders.place_order(
            session=s, user_id=other.user_id, listing_id=None, offer_id=offer_id, quantity=2,
            idempotency_key="browser-other-buys", pickup_community_id=None, payment_ttl=timedelta(minutes=10),
            now=ctx.clock.now(),
        )
        await live_offers.announce_offer(
            session=s, brand_id=room.web.brand_id, session_id=session_id, offer_id=offer_id, note=None, now=ctx.clock.now(),
        )
    await expect(remaining).to_have_text("1")
    await expect(page.get_by_test_id("ticker")).to_contain_text("张*（云顶华府） 购买了 黄金奶油草莓 ×2")
    await expect(page.get_by_test_id("announce-banner")).to_contain_text("接下来为云顶华府的邻居们带来专享价")
    assert await page.evaluate("window.__page") == page_id  # the same document: nothing reloaded
    await phone.shoot("quota-fell")

    await offer.get_by_role("button", name="立即购买").click()
    await expect(page.get_by_test_id("result")).to_contain_text("待支付")
    await expect(page.get_by_test_id("amount")).to_have_text("实付 ¥68.00")
    await phone.shoot("order")
    await page.get_by_role("button", name="去支付").click()
    await expect(page.locator(".amount")).to_have_text("¥68.00")
    await page.get_by_role("button", name="支付", exact=True).click()
    await expect(page.locator("#status")).to_have_text("支付成功")
    await phone.shoot("paid-on-simulator")
    await page.get_by_role("link", name="查看订单").click()  # back from the cashier to the order
    await expect(page).to_have_url(f"{phone.base_url}/orders/" + await orders_of(ctx, neighbour.user_id))
    await expect(page.get_by_test_id("result")).to_contain_text("已支付")
    await phone.shoot("paid")
    assert phone.foreign_requests() == []
    # Script errors and refused loads fail the test; the only 404 is the browser asking for /favicon.ico.
    assert [e for e in phone.console_errors if "404" not in e] == []
    await page.context.close()  # ends the room's event stream before the server stops


async def orders_of(ctx, user_id: int) -> str:
    from sqlalchemy import select

    from linli.orders.models import Order

    async with ctx.db.read() as s:
        [order_id] = (await s.scalars(select(Order.id).where(Order.user_id == user_id))).all()
    return str(order_id)
