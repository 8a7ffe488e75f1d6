"""In Chromium at phone width, on the demo: 小李 opens 数据 during the live session; a neighbour of his orders and
his live panel moves without a reload; the neighbour pays, and the day's figures move by exactly that order."""

from __future__ import annotations

import uuid
from datetime import timedelta

from playwright.async_api import expect
from sqlalchemy import select

from linli.accounts import service as accounts
from linli.demo import XIAOLI_PHONE
from linli.live.models import Listing, LiveSession
from linli.money import yuan
from linli.orders import service as orders
from linli.payments import service as payments
from linli.payments.models import Payment
from linli.worker import run_until_idle
from tests.web.browser import Phone
from tests.web.test_claims_browser import signed_in
from tests.web.workbench_scene import NEIGHBOUR_PHONE, load


async def _neighbour_orders(ctx, brand_id: int) -> int:  # noqa: ANN001
    """The neighbour orders one unit of the live session's first listing (not paid yet); the order's id."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        live = await s.scalar(select(LiveSession).where(LiveSession.brand_id == brand_id, LiveSession.status == "live"))
        listing = await s.scalar(select(Listing).where(Listing.session_id == live.id, Listing.status == "active").order_by(Listing.id))
        user = await accounts.find_user_by_phone(session=s, phone=NEIGHBOUR_PHONE)
        placed = await orders.place_order(
            session=s, user_id=user.id, listing_id=listing.id, offer_id=None, quantity=1, idempotency_key=uuid.uuid4().hex,
            pickup_community_id=None, payment_ttl=timedelta(minutes=10), now=now,
        )
        return placed.order.id


async def _pays(ctx, brand_id: int, order_id: int) -> int:  # noqa: ANN001
    """The order paid (a succeeded payment applied); the worker runs. Its total."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        order = await orders.get_order(session=s, order_id=order_id)
        s.add(Payment(order_id=order.id, brand_id=brand_id, provider="simulator", out_trade_no=payments.new_out_trade_no(),
                      amount_fen=order.total_fen, status="succeeded", provider_transaction_id=None, prepay={},
                      created_at=now, succeeded_at=now))
        await orders.apply_payment(session=s, order_id=order.id, amount_fen=order.total_fen, now=now)
        total = order.total_fen
    await run_until_idle(ctx)
    return total


async def test_xiaolis_dashboard_moves_when_a_neighbour_pays(phone: Phone, ctx):
    demo = await load(ctx)
    await signed_in(phone, ctx, phone=XIAOLI_PHONE)
    page = phone.page
    await phone.open(f"/brands/{demo.brand_id}/leader")
    await page.get_by_role("link", name="数据", exact=True).click()
    await expect(page.get_by_role("heading", name="数据看板")).to_be_visible()
    gmv, orders_shown = page.get_by_test_id("gmv"), page.get_by_test_id("orders")
    before_gmv, before_orders = await gmv.inner_text(), int(await orders_shown.inner_text())
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    panel_orders = page.get_by_test_id("live-orders")
    before_panel = int(await panel_orders.inner_text())
    await phone.shoot("today")

    order_id = await _neighbour_orders(ctx, demo.brand_id)
    await expect(panel_orders).to_have_text(str(before_panel + 1))  # the room's ticker event, no reload
    await phone.shoot("live-panel-moved")

    total = await _pays(ctx, demo.brand_id, order_id)
    before_fen = int(before_gmv.replace("¥", "").replace(",", "").replace(".", ""))
    await page.get_by_role("link", name="今天").click()
    await expect(orders_shown).to_have_text(str(before_orders + 1))
    await expect(gmv).to_have_text("¥" + yuan(before_fen + total))
    await phone.shoot("after-a-neighbour-paid")

    await page.get_by_role("link", name="本月").click()
    await expect(page.get_by_test_id("period-label")).to_contain_text("至")
    await expect(page.get_by_test_id("pending")).to_contain_text("¥")
    await page.context.close()  # ends the room's event stream before the server stops
