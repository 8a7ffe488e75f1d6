"""In Chromium at phone width, on the demo: 小李 signs in by SMS, opens the workbench, verifies a neighbour's
pickup by typing its code and requests a withdrawal."""

from __future__ import annotations

from playwright.async_api import expect

from linli.pagination import PageParams
from linli.payouts import service as payouts
from tests.web.browser import Phone
from tests.web.conftest import latest_sms_code
from tests.web.workbench_scene import XIAOLI_PHONE, arrived_parcels, load


async def test_xiaoli_verifies_a_pickup_and_requests_a_withdrawal(phone: Phone, ctx):
    demo = await load(ctx)
    [parcel, *_] = await arrived_parcels(ctx, demo.xiaoli_community_id)
    page = phone.page
    await phone.open("/signin?next=/leader")
    await page.get_by_label("手机号").fill(XIAOLI_PHONE)
    await page.get_by_role("button", name="获取验证码").click()
    await expect(page.get_by_role("status")).to_contain_text("验证码已发送")
    await page.get_by_label("验证码").fill(await latest_sms_code(ctx, XIAOLI_PHONE))
    await page.get_by_role("button", name="登录", exact=True).click()

    await expect(page.get_by_test_id("badge")).to_have_text("云顶华府·优邻优选社区主理人")
    await expect(page.get_by_role("img", name="邀请码二维码")).to_be_visible()
    await expect(page.get_by_role("link", name="下载邀请海报")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.shoot("home")

    await page.get_by_role("link", name="自提包裹").click()
    row = page.get_by_test_id(f"parcel-{parcel.id}")
    await expect(row.get_by_test_id("parcel-status")).to_have_text("待提货")
    await page.get_by_label("提货码").fill(parcel.pickup_code)  # what the neighbour tells 小李
    await phone.shoot("code-typed")
    await page.get_by_role("button", name="核销", exact=True).click()
    await expect(page.get_by_test_id("pickup-result")).to_contain_text("已提货")
    await expect(row.get_by_test_id("parcel-status")).to_have_text("已提货")
    await phone.shoot("picked-up")

    await page.get_by_role("link", name="提现", exact=True).click()
    await expect(page.get_by_test_id("policy")).to_contain_text("单笔最低")
    await page.get_by_label("提现金额（元）").fill("20")
    await page.get_by_role("button", name="申请提现").click()
    await expect(page.get_by_test_id("asked")).to_contain_text("提现申请已提交")
    await expect(page.get_by_test_id("history")).to_contain_text("待审核")
    await phone.shoot("withdrawal-requested")
    async with ctx.db.read() as s:
        [asked], _ = await payouts.list_withdrawals(
            session=s, brand_id=demo.brand_id, leader_id=demo.xiaoli_leader_id, status=None,
            params=PageParams(page=1, page_size=10),
        )
    assert (asked.amount_fen, asked.status) == (2000, "requested")
    assert phone.foreign_requests() == []
    assert phone.console_errors == []
