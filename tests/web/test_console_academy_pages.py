"""The console's 成长中心 over HTTP, on the demo: courses and lessons (create once however often sent, refusals
beside their field with what was typed kept, publish, reorder, edit), mentors (assign, refusals, 解除, the rules);
who may open each page and post each form."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from linli.academy.models import AcademySettings, Course, Lesson, Mentorship
from linli.web.visitor import SESSION_COOKIE
from tests.web.academy_scene import load_academy, require_the_course_for_regular
from tests.web.conftest import csrf_of
from tests.web.test_workbench_pages import hidden, other_brand_leader, text_of
from tests.web.workbench_scene import NEIGHBOUR_PHONE, XIAOLI_PHONE, sign_in_as


async def counts(ctx) -> tuple[int, int, int]:
    async with ctx.db.read() as s:
        return (
            await s.scalar(select(func.count()).select_from(Course)),
            await s.scalar(select(func.count()).select_from(Lesson)),
            await s.scalar(select(func.count()).select_from(Mentorship)),
        )


def error_beside(html: str, field: str) -> str:
    found = re.search(rf'data-error-for="{field}">([^<]*)<', html)
    assert found is not None, f"no error beside {field}"
    return found.group(1)


async def test_staff_write_a_course_with_lessons(client, ctx):
    scene = await load_academy(ctx)
    await sign_in_as(client, ctx, login="youlin-ops")  # an operator may, as in the API
    base = f"/brands/{scene.brand_id}/console/academy"
    page = await client.get(base)
    assert page.status_code == 200 and "新手主理人必修课" in page.text and "已发布" in page.text
    token, key = csrf_of(page.text), hidden(page.text, "form_key")

    blank = await client.post(f"{base}/courses", data={"csrf_token": token, "title": "  ", "summary": "留着", "form_key": key})
    assert blank.status_code == 422 and error_beside(blank.text, "title") == "课程名称不能为空"
    assert 'value="留着"' in blank.text
    before = await counts(ctx)
    made = [await client.post(f"{base}/courses", data={"csrf_token": token, "title": "直播进阶课", "summary": "", "form_key": key})
            for _ in range(2)]
    assert [m.status_code for m in made] == [303, 303] and made[0].headers["location"] == made[1].headers["location"]
    assert await counts(ctx) == (before[0] + 1, before[1], before[2])  # a double submit creates one course
    course_url = made[0].headers["location"].split("?")[0]
    course_page = await client.get(made[0].headers["location"])
    assert "课程已创建（草稿）" in text_of(course_page.text)
    key = hidden(course_page.text, "form_key")

    bad = {"csrf_token": token, "title": "开场三分钟", "body": "第一段\n第二段", "video_url": "ftp://v.example.com/a.mp4",
           "minutes": "5", "form_key": key}
    refused = await client.post(f"{course_url}/lessons", data=bad)
    assert refused.status_code == 422 and error_beside(refused.text, "video_url") == "视频地址必须是 http(s) 开头的网址"
    assert "第一段\n第二段</textarea>" in refused.text and 'value="开场三分钟"' in refused.text
    refused = await client.post(f"{course_url}/lessons", data={**bad, "video_url": "", "minutes": "五"})
    assert refused.status_code == 422 and error_beside(refused.text, "minutes") == "预计学习时长（分钟）须为整数"
    refused = await client.post(f"{course_url}/lessons", data={**bad, "video_url": "", "minutes": "601"})
    assert refused.status_code == 422 and "1 到 600 分钟" in error_beside(refused.text, "minutes")
    assert (await counts(ctx))[1] == before[1]
    for title in ("开场三分钟", "逼单不逼人"):
        added = await client.post(f"{course_url}/lessons", data={**bad, "title": title, "video_url": "https://v.example.com/a.mp4",
                                                                "form_key": f"{key}-{title}"})
        assert added.status_code == 303
    again = await client.post(f"{course_url}/lessons", data={**bad, "title": "逼单不逼人", "video_url": "", "form_key": f"{key}-逼单不逼人"})
    assert again.status_code == 303 and (await counts(ctx))[1] == before[1] + 2  # the same form sent again adds nothing

    publish = await client.post(f"{course_url}/status", data={"csrf_token": token, "status": "published"})
    assert publish.status_code == 409 and "至少要有一节已发布的课时" in error_beside(publish.text, "status")
    async with ctx.db.read() as s:
        first, second = list(await s.scalars(select(Lesson.id).where(Lesson.title.in_(["开场三分钟", "逼单不逼人"])).order_by(Lesson.id)))
    for lesson_id in (first, second):
        done = await client.post(f"{base}/lessons/{lesson_id}/status", data={"csrf_token": token, "status": "published"})
        assert done.status_code == 303
    assert (await client.post(f"{course_url}/status", data={"csrf_token": token, "status": "published"})).status_code == 303
    moved = await client.post(f"{base}/lessons/{second}/move", data={"csrf_token": token, "direction": "up"})
    shown = text_of((await client.get(moved.headers["location"])).text)
    assert "顺序已调整" in shown and shown.index("逼单不逼人") < shown.index("开场三分钟")

    edit = await client.get(f"{base}/lessons/{first}")
    assert "第一段\n第二段</textarea>" in edit.text
    saved = await client.post(f"{base}/lessons/{first}", data={"csrf_token": token, "title": "开场三分钟", "body": "新的正文",
                                                              "video_url": "", "minutes": "7"})
    assert saved.status_code == 303
    async with ctx.db.read() as s:
        lesson = await s.get(Lesson, first)
    assert (lesson.body, lesson.video_url, lesson.minutes) == ("新的正文", None, 7)
    blank = await client.post(f"{base}/lessons/{first}", data={"csrf_token": token, "title": "开场三分钟", "body": " ", "video_url": "",
                                                              "minutes": "7"})
    assert blank.status_code == 422 and error_beside(blank.text, "body") == "课时正文不能为空"


async def test_staff_arrange_mentors_and_rules(client, ctx, world):
    scene = await load_academy(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    base = f"/brands/{scene.brand_id}/console/academy/mentors"
    page = await client.get(base)
    text = text_of(page.text)
    assert "王姐（翠湖花园）" in text and "小李（云顶华府）" in text and "品牌安排" in text
    assert "小李（云顶华府，已带 1/5）" in text
    token = csrf_of(page.text)
    xiaoli = scene.demo.xiaoli_leader_id
    before = await counts(ctx)
    own = await client.post(base, data={"csrf_token": token, "mentee_leader_id": str(xiaoli), "mentor_leader_id": str(xiaoli)})
    assert own.status_code == 422 and error_beside(own.text, "mentor_leader_id") == "不能指定团长本人做自己的导师"
    back = await client.post(base, data={"csrf_token": token, "mentee_leader_id": str(xiaoli),
                                         "mentor_leader_id": str(scene.wangjie_leader_id)})
    assert back.status_code == 409 and error_beside(back.text, "mentor_leader_id") == "该团长是这位团长的学员，不能反过来做其导师"
    _, other = await other_brand_leader(world)
    foreign = await client.post(base, data={"csrf_token": token, "mentee_leader_id": str(scene.wangjie_leader_id),
                                            "mentor_leader_id": str(other.leader_id)})
    assert foreign.status_code == 404 and error_beside(foreign.text, "mentor_leader_id") == "团长不存在"
    missing = await client.post(base, data={"csrf_token": token, "mentee_leader_id": str(scene.wangjie_leader_id)})
    assert missing.status_code == 422 and error_beside(missing.text, "mentor_leader_id") == "请选择导师"
    assert await counts(ctx) == before

    for _ in range(2):  # 解除, twice: the second ends nothing
        ended = await client.post(f"{base}/{scene.wangjie_leader_id}/end", data={"csrf_token": token})
    assert ended.headers["location"].endswith("?done=none")
    assert "还没有安排导师" in text_of((await client.get(base)).text)
    assigned = await client.post(base, data={"csrf_token": token, "mentee_leader_id": str(scene.wangjie_leader_id),
                                             "mentor_leader_id": str(xiaoli)})
    assert assigned.status_code == 303 and "导师已安排" in text_of((await client.get(assigned.headers["location"])).text)

    bad = await client.post(f"{base}/rules", data={"csrf_token": token, "auto_assign_mentor": "1", "mentor_capacity": "0",
                                                   "mentor_min_days": "3"})
    assert bad.status_code == 422 and "1 到 50" in error_beside(bad.text, "mentor_capacity") and 'value="0"' in bad.text
    bad = await client.post(f"{base}/rules", data={"csrf_token": token, "mentor_capacity": "5", "mentor_min_days": "三天"})
    assert bad.status_code == 422 and error_beside(bad.text, "mentor_min_days") == "导师须任团长的天数须为整数"
    ok = await client.post(f"{base}/rules", data={"csrf_token": token, "mentor_capacity": "2", "mentor_min_days": "0"})
    assert ok.status_code == 303
    async with ctx.db.read() as s:
        rules = await s.get(AcademySettings, scene.brand_id)
    assert (rules.auto_assign_mentor, rules.mentor_capacity, rules.mentor_min_days) == (False, 2, 0)


@pytest.mark.parametrize("who", ["anonymous", "member", "leader", "other-brand-staff"])
async def test_only_this_brands_staff_open_or_post(client, ctx, world, who):
    scene = await load_academy(ctx)
    if who == "member":
        await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    elif who == "leader":
        await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    elif who == "other-brand-staff":
        other, _ = await other_brand_leader(world)
        client.cookies.set(SESSION_COOKIE, (await world.staff(other)).token)
    base = f"/brands/{scene.brand_id}/console/academy"
    lesson = scene.lesson_ids[0]
    for page in ("", f"/courses/{scene.course_id}", f"/lessons/{lesson}", "/mentors"):
        response = await client.get(base + page)
        if who == "anonymous":
            assert response.status_code == 303 and response.headers["location"].startswith("/signin?next="), page
        else:
            assert response.status_code == 403 and "仅限本品牌员工操作" in text_of(response.text), page
    token = csrf_of((await client.get("/signin" if who == "anonymous" else "/me")).text)
    before = await counts(ctx)
    posts = [
        ("/courses", {"title": "抢"}), (f"/courses/{scene.course_id}", {"title": "抢"}),
        (f"/courses/{scene.course_id}/status", {"status": "draft"}),
        (f"/courses/{scene.course_id}/lessons", {"title": "抢", "body": "正文", "minutes": "3"}),
        (f"/lessons/{lesson}", {"title": "抢", "body": "正文", "minutes": "3"}), (f"/lessons/{lesson}/status", {"status": "draft"}),
        (f"/lessons/{lesson}/move", {"direction": "down"}),
        ("/mentors", {"mentee_leader_id": str(scene.wangjie_leader_id), "mentor_leader_id": str(scene.demo.xiaoli_leader_id)}),
        (f"/mentors/{scene.wangjie_leader_id}/end", {}), ("/mentors/rules", {"mentor_capacity": "1", "mentor_min_days": "0"}),
    ]
    for path, data in posts:
        refused = await client.post(base + path, data={"csrf_token": token, **data})
        if who == "anonymous":
            assert refused.status_code == 303 and refused.headers["location"].startswith("/signin?next="), path
        else:
            assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html"), path
    assert await counts(ctx) == before
    async with ctx.db.read() as s:
        course = await s.get(Course, scene.course_id)
        mentorship = await s.scalar(select(Mentorship).where(Mentorship.mentee_leader_id == scene.wangjie_leader_id))
        rules = await s.get(AcademySettings, scene.brand_id)
    assert (course.title, course.status, mentorship.ended_at, rules.mentor_capacity) == ("新手主理人必修课", "published", None, 5)


async def test_the_owner_sets_the_courses_a_level_requires(client, ctx):
    from linli.leaders import service as leaders

    scene = await load_academy(ctx)
    await require_the_course_for_regular(ctx, scene)
    await sign_in_as(client, ctx, login="youlin-owner")
    url = f"/brands/{scene.brand_id}/console/leaders/levels"
    page = await client.get(url)
    assert re.search(r'data-testid="level-regular">.*?《新手主理人必修课》', page.text, re.S)
    assert f'value="2:{scene.course_id}" checked' in page.text and f'value="1:{scene.course_id}"' not in page.text
    rows = {
        "code": ["trainee", "regular", "gold", ""], "name": ["见习", "正式", "金牌", ""],
        "min_bound_members": ["0", "20", "100", ""], "rights": ["基础佣金", "直播作战包", "专属客服", ""],
    }
    token = csrf_of(page.text)
    saved = await client.post(url, data={"csrf_token": token, **rows, "invite_grace_hours": "72",
                                         "required_courses": [f"3:{scene.course_id}", "3:junk"]})
    assert saved.status_code == 303, saved.text
    async with ctx.db.read() as s:
        program = await leaders.get_program(session=s, brand_id=scene.brand_id)
    assert [leaders.required_courses(lv) for lv in program.levels] == [[], [], [scene.course_id]]
    refused = await client.post(url, data={"csrf_token": token, **rows, "invite_grace_hours": "72",
                                           "required_courses": ["3:999999"]})
    assert refused.status_code == 422 and "本品牌已发布的课程" in error_beside(refused.text, "levels")
    assert f'value="3:{scene.course_id}"' in refused.text  # the choices are shown again
    async with ctx.db.read() as s:
        assert [leaders.required_courses(lv) for lv in (await leaders.get_program(session=s, brand_id=scene.brand_id)).levels] == [
            [], [], [scene.course_id]]
