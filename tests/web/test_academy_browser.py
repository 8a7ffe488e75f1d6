"""In Chromium at phone width, on the demo: 小李 signs in, opens 成长中心, starts 新手主理人必修课, completes its
first lesson with 「完成本课」 and sees the progress bar move, and publishes a contact for his mentee 王姐; at a
desk, the brand's owner moves a lesson down, approves 赵哥 and finds him with 小李 as his mentor."""

from __future__ import annotations

from playwright.async_api import expect

from linli.demo.cast import DEMO_PASSWORD, OWNER_LOGIN
from linli.worker import run_until_idle
from tests.web.academy_scene import load_academy, require_the_course_for_regular
from tests.web.browser import Phone
from tests.web.console_leaders_scene import applicant_id
from tests.web.conftest import latest_sms_code
from tests.web.workbench_scene import XIAOLI_PHONE


async def test_xiaoli_completes_a_lesson_and_sees_his_progress_move(phone: Phone, ctx):
    scene = await load_academy(ctx)
    await require_the_course_for_regular(ctx, scene)
    page = phone.page
    await phone.open(f"/signin?next=/brands/{scene.brand_id}/leader/academy")
    await page.get_by_label("手机号").fill(XIAOLI_PHONE)
    await page.get_by_role("button", name="获取验证码").click()
    await expect(page.get_by_role("status")).to_contain_text("验证码已发送")
    await page.get_by_label("验证码").fill(await latest_sms_code(ctx, XIAOLI_PHONE))
    await page.get_by_role("button", name="登录", exact=True).click()

    course = page.get_by_test_id(f"course-{scene.course_id}")
    await expect(course.get_by_test_id("progress-text")).to_have_text("已学 0/3 课")
    await expect(page.get_by_test_id("next-level")).to_contain_text("完成课程《新手主理人必修课》")
    await expect(page.get_by_test_id("mentees-link")).to_have_text("我的学员（1 位）")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.shoot("academy")

    await course.get_by_role("link", name="开始学习：如何发布直播预告").click()
    await expect(page.get_by_role("heading", name="如何发布直播预告")).to_be_visible()
    await phone.shoot("lesson")
    await page.get_by_role("button", name="完成本课").click()
    await expect(page.get_by_test_id("notice")).to_have_text("已完成本课")
    await expect(page.get_by_test_id("lesson-done")).to_contain_text("本课已完成")
    await expect(page.get_by_test_id("lesson-progress").get_by_test_id("progress-text")).to_have_text("已学 1/3 课")
    await expect(page.get_by_role("button", name="完成本课")).to_have_count(0)  # nothing left to submit twice
    await phone.shoot("lesson-done")

    await page.get_by_role("link", name="成长中心", exact=True).click()
    await expect(course.get_by_test_id("progress-text")).to_have_text("已学 1/3 课")
    await expect(course.get_by_role("progressbar")).to_have_attribute("value", "1")
    await expect(course.get_by_role("link", name="继续学习：如何用好社区专享价")).to_be_visible()
    await phone.shoot("progress-moved")

    await page.get_by_test_id("mentees-link").click()
    await expect(page.get_by_test_id(f"mentee-{scene.wangjie_leader_id}")).to_contain_text("王姐 · 翠湖花园")
    await page.get_by_label("联系方式").fill("微信 xiaoli-88")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_test_id("notice")).to_have_text("联系方式已保存")
    await phone.shoot("mentees")
    assert phone.foreign_requests() == []
    assert phone.console_errors == []


async def test_the_owner_reorders_a_lesson_and_an_approval_brings_a_mentor(desk: Phone, ctx):
    scene = await load_academy(ctx)
    zhao = await applicant_id(ctx, scene.brand_id)
    page = desk.page
    await desk.open("/signin/staff")
    await page.get_by_label("登录名").fill(OWNER_LOGIN)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.get_by_role("navigation", name="品牌后台").get_by_role("link", name="成长中心").click()
    row = page.get_by_test_id(f"course-{scene.course_id}")
    await expect(row.get_by_test_id("course-status")).to_have_text("已发布")
    await row.get_by_role("link", name="新手主理人必修课").click()
    await page.get_by_role("button", name="下移「如何发布直播预告」").click()
    await expect(page.get_by_test_id("done")).to_have_text("顺序已调整")
    await expect(page.get_by_test_id(f"lesson-{scene.lesson_ids[0]}").get_by_test_id("lesson-position")).to_have_text("2")
    await desk.shoot("course")

    # 赵哥 is approved; the worker hands him to the best mentor (auto-assign is on in the demo).
    await page.get_by_role("navigation", name="品牌后台").get_by_role("link", name="团长").click()
    await page.get_by_role("button", name="通过 赵哥 的申请").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("已通过申请")
    await run_until_idle(ctx)
    await page.get_by_role("navigation", name="品牌后台").get_by_role("link", name="成长中心").click()
    await page.get_by_role("navigation", name="成长中心管理").get_by_role("link", name="导师").click()
    mentorship = page.get_by_test_id(f"mentorship-{zhao}")
    await expect(mentorship.get_by_test_id("mentor")).to_contain_text("小李")
    await expect(mentorship).to_contain_text("通过审核时自动安排")
    await desk.shoot("mentors")
    assert desk.foreign_requests() == []
    assert desk.console_errors == []
