"""The leader's 成长中心 over HTTP, on the demo: courses with progress, a lesson and 「完成本课」 (once however often
it is sent), the next level's requirements with the course, the mentor card; 我的学员 for the mentor only, the
contact the mentor publishes; who may open each page and post each form."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from linli.academy.models import CourseCompletion, LessonCompletion, MentorContact
from linli.web.visitor import SESSION_COOKIE
from tests.web.academy_scene import load_academy, require_the_course_for_regular
from tests.web.conftest import csrf_of
from tests.web.test_workbench_pages import other_brand_leader, text_of
from tests.web.workbench_scene import NEIGHBOUR_PHONE, WANGJIE_PHONE, XIAOLI_PHONE, sign_in_as


async def done_count(ctx) -> int:
    async with ctx.db.read() as s:
        return await s.scalar(select(func.count()).select_from(LessonCompletion))


async def test_xiaoli_studies_a_lesson_and_the_progress_moves(client, ctx):
    scene = await load_academy(ctx)
    await require_the_course_for_regular(ctx, scene)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    home = await client.get(f"/brands/{scene.brand_id}/leader/academy")
    assert home.status_code == 200
    text = text_of(home.text)
    assert "新手主理人必修课" in text and "已学 0/3 课" in text
    assert "升为「正式」还需要" in text and "再绑定 6 位邻居" in text and "完成课程 《新手主理人必修课》" in text
    assert "我的学员（1 位）" in text  # 小李 mentors 王姐
    assert "暂未安排导师" in text
    assert 'aria-current="page">成长中心' in home.text
    workbench = text_of((await client.get(f"/brands/{scene.brand_id}/leader")).text)
    assert "再绑定 6 位并 完成 1 门课程 升为正式" in workbench

    first = scene.lesson_ids[0]
    lesson = await client.get(f"/brands/{scene.brand_id}/leader/academy/lessons/{first}")
    assert "如何发布直播预告" in lesson.text and "第 1 课 · 约 6 分钟" in text_of(lesson.text)
    token = csrf_of(lesson.text)
    url = f"/brands/{scene.brand_id}/leader/academy/lessons/{first}/done"
    before = await done_count(ctx)
    posted = await client.post(url, data={"csrf_token": token})
    assert posted.status_code == 303 and posted.headers["location"].endswith(f"/lessons/{first}?done=first")
    again = await client.post(url, data={"csrf_token": token})  # a double submit
    assert again.headers["location"].endswith("?done=again")
    assert await done_count(ctx) == before + 1
    shown = text_of((await client.get(again.headers["location"])).text)
    assert "这节课之前已经完成" in shown and "已学 1/3 课" in shown and "本课已完成" in shown and "下一课：如何用好社区专享价" in shown
    course = text_of((await client.get(f"/brands/{scene.brand_id}/leader/academy/courses/{scene.course_id}")).text)
    assert "已学 1/3 课" in course

    for lesson_id in scene.lesson_ids[1:]:
        last = await client.post(f"/brands/{scene.brand_id}/leader/academy/lessons/{lesson_id}/done", data={"csrf_token": token})
    assert last.headers["location"].endswith("?done=course")
    assert "恭喜！整门课程已全部完成" in text_of((await client.get(last.headers["location"])).text)
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(CourseCompletion)) == 1
    home = text_of((await client.get(f"/brands/{scene.brand_id}/leader/academy")).text)
    assert "完成课程《新手主理人必修课》 ✓" in home and "已学 3/3 课" in home and "已完成" in home
    workbench = text_of((await client.get(f"/brands/{scene.brand_id}/leader")).text)
    assert "再绑定 6 位升为正式" in workbench


async def test_wangjie_sees_her_mentor_and_xiaoli_his_mentee(client, ctx):
    scene = await load_academy(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    mentees = await client.get(f"/brands/{scene.brand_id}/leader/academy/mentees")
    text = text_of(mentees.text)
    assert "王姐 · 翠湖花园" in text and "已学 1/3 课" in text
    assert WANGJIE_PHONE not in mentees.text and "138****0002" not in mentees.text  # a mentor sees no phone
    token = csrf_of(mentees.text)
    bad = await client.post(f"/brands/{scene.brand_id}/leader/academy/contact", data={"csrf_token": token, "contact": "x" * 65})
    assert bad.status_code == 422 and "联系方式最多 64 个字" in text_of(bad.text)
    assert 'value="' + "x" * 65 + '"' in bad.text  # what was typed is kept
    saved = await client.post(f"/brands/{scene.brand_id}/leader/academy/contact",
                              data={"csrf_token": token, "contact": "微信 xiaoli-88"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("/mentees?saved=1")

    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    home = text_of((await client.get(f"/brands/{scene.brand_id}/leader/academy")).text)
    assert "小李 · 云顶华府" in home and "联系方式： 微信 xiaoli-88" in home and "已学 1/3 课" in home
    assert "再绑定 12 位邻居" in home and "完成课程" not in home  # the default programme asks for no course
    assert "我的学员" not in home
    empty = text_of((await client.get(f"/brands/{scene.brand_id}/leader/academy/mentees")).text)
    assert "您还没有学员" in empty  # 王姐's own list: nobody, never 小李's mentees


@pytest.mark.parametrize("who", ["anonymous", "member", "staff", "other-brand-leader"])
async def test_who_may_not_open_the_pages_or_post_the_forms(client, ctx, world, who):
    scene = await load_academy(ctx)
    if who == "member":
        await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    elif who == "staff":
        await sign_in_as(client, ctx, login="youlin-owner")
    elif who == "other-brand-leader":
        _, ref = await other_brand_leader(world)
        client.cookies.set(SESSION_COOKIE, ref.actor.token)
    base = f"/brands/{scene.brand_id}/leader/academy"
    for page in ("", f"/courses/{scene.course_id}", f"/lessons/{scene.lesson_ids[0]}", "/mentees"):
        response = await client.get(base + page)
        if who == "anonymous":
            assert response.status_code == 303 and response.headers["location"].startswith(f"/signin?next={base}"), page
        else:
            assert response.status_code == 403 and "仅限本品牌在任团长操作" in text_of(response.text), page
    token = csrf_of((await client.get("/signin" if who == "anonymous" else "/me")).text)
    before = await done_count(ctx)
    for path, data in ((f"/lessons/{scene.lesson_ids[0]}/done", {}), ("/contact", {"contact": "抢"})):
        refused = await client.post(base + path, data={"csrf_token": token, **data})
        if who == "anonymous":
            assert refused.status_code == 303 and refused.headers["location"].startswith("/signin?next="), path
        else:
            assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html"), path
    assert await done_count(ctx) == before
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(MentorContact)) == 0


async def test_without_the_csrf_token_nothing_is_done(client, ctx):
    scene = await load_academy(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    before = await done_count(ctx)
    for data in ({}, {"csrf_token": "forged"}):
        refused = await client.post(f"/brands/{scene.brand_id}/leader/academy/lessons/{scene.lesson_ids[0]}/done", data=data)
        assert refused.status_code == 403 and "页面已过期或来源不明" in refused.text
    assert await done_count(ctx) == before


async def test_unknown_or_draft_lessons_are_not_found(client, ctx):
    from linli.academy import courses

    scene = await load_academy(ctx)
    async with ctx.db.transaction() as s:
        draft = await courses.add_lesson(session=s, brand_id=scene.brand_id, course_id=scene.course_id,
                                         data=courses.LessonInput(title="草稿", body="正文", video_url=None, minutes=1),
                                         now=ctx.clock.now())
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    for path in (f"/lessons/{draft.id}", "/lessons/999999", "/courses/999999"):
        response = await client.get(f"/brands/{scene.brand_id}/leader/academy{path}")
        assert response.status_code == 404 and "不存在" in text_of(response.text), path
    token = csrf_of((await client.get("/me")).text)
    refused = await client.post(f"/brands/{scene.brand_id}/leader/academy/lessons/{draft.id}/done", data={"csrf_token": token})
    assert refused.status_code == 404 and "课时不存在或尚未发布" in text_of(refused.text)
    assert not re.search(r"lesson_not_found", refused.text)  # a person reads the message, never a code
