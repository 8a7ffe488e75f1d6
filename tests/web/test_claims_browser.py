"""In Chromium, on the demo: a neighbour of 小李 (phone width) files a claim on a paid, picked-up order with a
photo from the gallery; the brand's owner (a second context, desk width) opens the queue, sees the photo, and
approves it; the neighbour's claim page then shows the decision."""

from __future__ import annotations

from playwright.async_api import expect
from sqlalchemy import select

from linli.accounts import service as accounts
from linli.accounts.models import User
from linli.aftersales.models import Claim
from linli.context import AppContext
from linli.demo.cast import OWNER_LOGIN
from linli.web.visitor import SESSION_COOKIE
from tests.web.browser import Phone
from tests.web.test_claim_pages import MEMBER_PHONE, picked_up_order, png
from tests.web.workbench_scene import load


async def signed_in(screen: Phone, ctx: AppContext, *, phone: str | None = None, login: str | None = None) -> None:
    """The cookie a sign-in would set (the sign-in pages have their own browser tests)."""
    async with ctx.db.transaction() as s:
        if phone is not None:
            user = await accounts.find_user_by_phone(session=s, phone=phone)
        else:
            user = await s.scalar(select(User).where(User.login_name == login))
        assert user is not None
        issued = await accounts.issue_token(session=s, settings=ctx.settings, user=user, method="sms", now=ctx.clock.now())
    await screen.page.context.add_cookies([{"name": SESSION_COOKIE, "value": issued.token, "url": screen.base_url}])


async def test_a_neighbour_files_a_claim_with_a_photo_and_staff_approve_it(phone: Phone, desk: Phone, ctx):
    demo = await load(ctx)
    order_id = await picked_up_order(ctx, demo)
    await signed_in(phone, ctx, phone=MEMBER_PHONE)
    page = phone.page
    await phone.open(f"/orders/{order_id}")
    await page.get_by_role("link", name="申请售后").click()
    await expect(page.get_by_test_id("claimable")).to_have_text("¥49.90")
    await page.get_by_label("售后原因").select_option(label="坏果/破损")
    await page.get_by_label("申请退款金额（元）").fill("40")
    await page.get_by_label("问题描述").fill("有两个橙子压坏了")
    await page.locator("#f-photo-gallery").set_input_files(
        files=[{"name": "orange.png", "mimeType": "image/png", "buffer": png("orange", size=64)}]
    )
    await expect(page.get_by_test_id("photo-previews").locator("img")).to_have_count(1)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.shoot("form-filled")
    await page.get_by_role("button", name="提交售后申请").click()
    await expect(page.get_by_test_id("claim-status")).to_have_text("待审核")
    await expect(page.get_by_test_id("claim-asked")).to_have_text("¥40.00")
    photo = page.get_by_test_id("claim-photo")
    await expect(photo).to_have_count(1)
    # the page is there before its photo has loaded (a busy machine): wait for the image, then check its size
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await photo.element_handle())
    assert await photo.evaluate("img => img.complete && img.naturalWidth") == 64
    await phone.shoot("claim-filed")
    async with ctx.db.read() as s:
        claim = await s.scalar(select(Claim).where(Claim.order_id == order_id))
    assert claim is not None and (claim.status, claim.amount_asked_fen) == ("reviewing", 4000)

    await signed_in(desk, ctx, login=OWNER_LOGIN)
    await desk.open(f"/brands/{demo.brand_id}/console/claims")
    row = desk.page.get_by_test_id(f"claim-{claim.id}")
    await expect(row).to_contain_text("待审核")
    await expect(row).to_contain_text("139****0005")
    thumb = row.get_by_test_id("claim-photo")
    await expect(thumb).to_be_visible()
    await desk.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await thumb.element_handle())
    assert await thumb.evaluate("img => img.naturalWidth") > 0
    await desk.shoot("queue")
    await row.get_by_role("link", name="审核").click()
    await expect(desk.page.get_by_test_id("claim")).to_contain_text("有两个橙子压坏了")
    await desk.page.get_by_label("同意（全额退款）").check()
    await desk.shoot("deciding")
    await desk.page.get_by_role("button", name="提交审核结果").click()
    await expect(desk.page.get_by_test_id("decided")).to_contain_text("已处理：同意")
    await expect(desk.page.get_by_test_id("claim-status")).to_have_text("退款中")
    await desk.shoot("approved")

    await page.reload()
    await expect(page.get_by_test_id("claim-status")).to_have_text("退款中")
    await expect(page.get_by_test_id("claim-decision")).to_contain_text("同意")
    await expect(page.get_by_test_id("claim-decision")).to_contain_text("同意退款 ¥40.00")
    await phone.shoot("decision-shown")
    async with ctx.db.read() as s:
        decided = await s.get(Claim, claim.id, populate_existing=True)
    assert decided is not None and (decided.status, decided.decision, decided.approved_fen) == ("refunding", "approved", 4000)
    assert phone.foreign_requests() == [] and desk.foreign_requests() == []
    assert phone.console_errors == [] and desk.console_errors == []
