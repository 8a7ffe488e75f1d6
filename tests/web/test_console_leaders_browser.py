"""In Chromium at a desk's width, on the demo: the owner signs in, opens 团长 in the brand console, approves 赵哥's
application and rejects a second one for the same community, first without a reason (told beside the field),
then with one."""

from __future__ import annotations

from playwright.async_api import expect

from linli.demo.cast import DEMO_PASSWORD, OWNER_LOGIN
from tests.web.browser import Phone
from tests.web.console_leaders_scene import applicant_id, leader_row, second_applicant_id
from tests.web.workbench_scene import load


async def test_staff_approve_the_demo_applicant_and_reject_another_with_a_reason(desk: Phone, ctx):
    demo = await load(ctx)
    zhao = await applicant_id(ctx, demo.brand_id)
    other = await second_applicant_id(ctx, demo.brand_id, (await leader_row(ctx, zhao)).community_id)
    page = desk.page
    await desk.open("/signin/staff")
    await page.get_by_label("登录名").fill(OWNER_LOGIN)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_test_id("console-brand")).to_have_text("优邻优选")
    await page.get_by_role("navigation", name="品牌后台").get_by_role("link", name="团长").click()

    applications = page.get_by_test_id("applications")
    await expect(applications.get_by_test_id(f"application-{zhao}")).to_contain_text("锦绣江南")
    await expect(applications.get_by_test_id(f"application-{other}")).to_contain_text("孙哥")
    await desk.shoot("applications")
    await page.get_by_role("button", name="通过 赵哥 的申请").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("已通过申请")
    await expect(page.get_by_test_id(f"leader-{zhao}").get_by_test_id("leader-status")).to_have_text("在任")
    await desk.shoot("approved")

    row = page.get_by_test_id(f"application-{other}")
    await row.get_by_role("button", name="驳回 孙哥 的申请").click()
    await expect(page.get_by_test_id(f"application-{other}").get_by_role("alert")).to_have_text("请填写原因")
    await desk.shoot("reason-missing")
    await page.get_by_test_id(f"application-{other}").get_by_label("驳回原因").fill("锦绣江南已有团长")
    await page.get_by_role("button", name="驳回 孙哥 的申请").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("已驳回申请")
    await expect(page.get_by_test_id(f"leader-{other}")).to_contain_text("锦绣江南已有团长")
    await desk.shoot("rejected")

    assert (await leader_row(ctx, zhao)).status == "active"
    rejected = await leader_row(ctx, other)
    assert (rejected.status, rejected.decision_reason) == ("rejected", "锦绣江南已有团长")
    assert desk.foreign_requests() == []
    # The refused rejection answered 422 with its page, as it should; nothing else went wrong.
    assert [e for e in desk.console_errors if "422" not in e] == []
