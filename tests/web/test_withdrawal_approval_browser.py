"""In Chromium, on the demo: 小李 (a phone) asks for a withdrawal on the workbench, staff (a desktop, a second
context in the same browser) approve it on the console's 提现审核 page, the worker pays it through the payout
simulator, and 小李's history then shows 已到账; the staff then look at the report and the rules."""

from __future__ import annotations

from playwright.async_api import expect

from linli.demo import DEMO_PASSWORD
from linli.demo.cast import OWNER_LOGIN
from linli.pagination import PageParams
from linli.payouts import service as payouts
from linli.worker import run_until_idle
from tests.web.browser import Phone
from tests.web.conftest import latest_sms_code
from tests.web.workbench_scene import XIAOLI_PHONE, load


async def test_xiaoli_asks_staff_approve_and_xiaoli_sees_it_paid(phone: Phone, desk: Phone, ctx):
    demo = await load(ctx)
    withdrawals = f"/brands/{demo.brand_id}/leader/withdrawals"

    # 小李, on his phone, signs in by SMS and asks for ¥20 of his ¥35.92.
    page = phone.page
    await phone.open(f"/signin?next={withdrawals}")
    await page.get_by_label("手机号").fill(XIAOLI_PHONE)
    await page.get_by_role("button", name="获取验证码").click()
    await expect(page.get_by_role("status")).to_contain_text("验证码已发送")
    await page.get_by_label("验证码").fill(await latest_sms_code(ctx, XIAOLI_PHONE))
    await page.get_by_role("button", name="登录", exact=True).click()
    await expect(page.get_by_test_id("available")).to_have_text("¥35.92")
    await page.get_by_label("提现金额（元）").fill("20")
    await phone.shoot("amount-typed")
    await page.get_by_role("button", name="申请提现").click()
    await expect(page.get_by_test_id("asked")).to_contain_text("提现申请已提交")
    await expect(page.get_by_test_id("history")).to_contain_text("待审核")
    await phone.shoot("requested")
    async with ctx.db.read() as s:
        [asked], _ = await payouts.list_withdrawals(
            session=s, brand_id=demo.brand_id, leader_id=demo.xiaoli_leader_id, status=None,
            params=PageParams(page=1, page_size=10),
        )
    assert (asked.amount_fen, asked.status) == (2000, "requested")

    # Staff, on a desktop, sign in with the password and open 提现审核 from the console's tabs.
    staff = desk.page
    await desk.open("/signin/staff")
    await staff.get_by_label("登录名").fill(OWNER_LOGIN)
    await staff.get_by_label("密码").fill(DEMO_PASSWORD)
    await staff.get_by_role("button", name="登录", exact=True).click()
    await expect(staff.get_by_test_id("console-brand")).to_have_text("优邻优选")
    await staff.get_by_role("navigation", name="品牌后台").get_by_role("link", name="提现审核").click()
    row = staff.get_by_test_id(f"withdrawal-{asked.id}")
    await expect(row.get_by_test_id("status")).to_have_text("待审核")
    await expect(row).to_contain_text("小李")
    await expect(row).to_contain_text("云顶华府")
    await expect(row).to_contain_text("¥20.00")
    await desk.shoot("waiting")
    await row.get_by_role("button", name="批准并打款").click()
    await expect(staff.get_by_test_id("shown")).to_contain_text("打款中")
    await expect(row.get_by_test_id("progress")).to_contain_text("等待打款渠道确认到账")
    await expect(row.get_by_role("button", name="批准并打款")).to_have_count(0)  # decided: no second approval offered
    await desk.shoot("approved")

    # The worker hands it to the payout simulator (instant in dev mode), which pays it.
    await run_until_idle(ctx)
    await staff.reload()
    await expect(row.get_by_test_id("status")).to_have_text("已到账")
    await expect(row.get_by_test_id("progress")).to_contain_text("到账")
    await desk.shoot("paid")

    await page.reload()
    await expect(page.get_by_test_id(f"withdrawal-{asked.id}")).to_contain_text("已到账")
    await expect(page.get_by_test_id("available")).to_have_text("¥15.92")
    await phone.shoot("paid")
    assert await staff.evaluate("document.documentElement.clientWidth") == 1280

    # The console's other money pages, through its tabs.
    tabs = staff.get_by_role("navigation", name="品牌后台")
    await tabs.get_by_role("link", name="佣金报表").click()
    await expect(staff.get_by_test_id("community-table")).to_contain_text("云顶华府")
    await desk.shoot("report")
    await tabs.get_by_role("link", name="佣金规则").click()
    await expect(staff.get_by_test_id("current")).to_contain_text("当前规则：版本 1")
    await desk.shoot("commission")
    for context in (phone, desk):
        assert context.foreign_requests() == []
        assert context.console_errors == []
