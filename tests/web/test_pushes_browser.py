"""In Chromium, on the demo: the owner (a desktop) posts a commerce message to 云顶华府's new group, which the 70/30
guideline holds, finds it on 推送 under 已暂扣 and discards it; a neighbour who bought (a phone) opens 我的社区群
from the invitation in their inbox and sees the group's QR code, then mutes SMS on 消息设置."""

from __future__ import annotations

from playwright.async_api import expect
from sqlalchemy import select

from linli.demo import DEMO_PASSWORD
from linli.demo.cast import OWNER_LOGIN
from linli.notifications.models import ChannelMute
from linli.web.visitor import SESSION_COOKIE
from tests.web.browser import Phone
from tests.web.test_member_pages import TWO_ORDERS_PHONE
from tests.web.test_push_pages import group_of
from tests.web.workbench_scene import load


async def test_staff_see_a_held_message_and_discard_it_a_neighbour_opens_the_group(phone: Phone, desk: Phone, ctx, world):
    demo = await load(ctx)
    group = await group_of(ctx, "云顶华府")
    staff = desk.page
    await desk.open("/signin/staff")
    await staff.get_by_label("登录名").fill(OWNER_LOGIN)
    await staff.get_by_label("密码").fill(DEMO_PASSWORD)
    await staff.get_by_role("button", name="登录", exact=True).click()
    await staff.get_by_role("navigation", name="品牌后台").get_by_role("link", name="社区群").click()
    await staff.get_by_role("link", name="云顶华府·优邻优选品质生活圈").first.click()
    await expect(staff.get_by_test_id("group-name")).to_have_text("云顶华府·优邻优选品质生活圈")
    form = staff.get_by_test_id("push-form")
    await form.get_by_label("标题").fill("今晚草莓 68 元")
    await form.get_by_label("内容", exact=True).fill("8 点开抢，限 100 份")
    await form.get_by_label("内容类型").select_option("commerce")
    await form.get_by_role("button", name="推送").click()
    await expect(staff.get_by_test_id("notice")).to_contain_text("已暂扣")
    await desk.shoot("held")
    await staff.get_by_role("navigation", name="品牌后台").get_by_role("link", name="推送").click()
    await staff.get_by_test_id("state-filter").get_by_role("link", name="已暂扣").click()
    first = staff.locator("[data-testid^=discard-]").first
    await expect(staff.get_by_test_id("pushes")).to_contain_text("超过上限 30%")
    await first.get_by_role("button", name="丢弃").click()
    await expect(staff.get_by_test_id("notice")).to_have_text("已丢弃该推送")
    await desk.shoot("discarded")

    # A neighbour who bought two oranges, on a phone: the invitation, the group's QR code, muting SMS.
    async with ctx.db.transaction() as s:
        from linli.accounts import service as accounts

        user = await accounts.find_user_by_phone(session=s, phone=TWO_ORDERS_PHONE)
        token = (await accounts.issue_token(session=s, settings=ctx.settings, user=user, method="sms", now=ctx.clock.now())).token
    await phone.page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": phone.base_url}])
    page = phone.page
    await phone.open("/me/inbox")
    invitation = page.locator("li.message", has_text="邀请您加入「云顶华府·优邻优选品质生活圈」")
    await invitation.get_by_test_id("message-link").click()
    card = page.get_by_test_id(f"group-{group.id}")
    await expect(card).to_contain_text("云顶华府·优邻优选品质生活圈")
    qr = card.get_by_test_id("qr")
    await expect(qr).to_be_visible()
    await page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=await qr.element_handle())
    await phone.shoot("group")
    await phone.open("/me/settings")
    settings = page.get_by_test_id(f"brand-{demo.brand_id}")
    await settings.get_by_test_id("mute-sms").check()
    await settings.get_by_role("button", name="保存").click()
    await expect(page.get_by_test_id("saved")).to_have_text("已保存")
    await expect(page.get_by_test_id("mute-sms")).to_be_checked()
    async with ctx.db.read() as s:
        assert [(m.user_id, m.channel) for m in await s.scalars(select(ChannelMute))] == [(user.id, "sms")]
    assert phone.foreign_requests() == [] and desk.foreign_requests() == []
    assert [e for e in phone.console_errors + desk.console_errors if "404" not in e] == []
