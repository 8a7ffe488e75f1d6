"""Staff author courses: create, edit, lessons with their video and minutes, publish and unpublish, reorder.
Bad input is a clear Chinese 4xx and changes nothing; only this brand's staff may."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from linli.academy.models import Course, Lesson
from tests.academy.conftest import Scene
from tests.academy.helpers import error_code


def base(scene: Scene) -> str:
    return f"/api/v1/brands/{scene.brand}/academy"


async def _state(ctx) -> list[tuple]:
    async with ctx.db.read() as s:
        courses = [(c.id, c.title, c.summary, c.status) for c in await s.scalars(select(Course).order_by(Course.id))]
        lessons = [
            (x.id, x.course_id, x.position, x.title, x.body, x.video_url, x.minutes, x.status)
            for x in await s.scalars(select(Lesson).order_by(Lesson.id))
        ]
    return courses + lessons


async def test_staff_create_a_course_add_lessons_publish_and_reorder(client, scene: Scene):
    created = await client.post(f"{base(scene)}/courses", json={"title": " 直播进阶课 ", "summary": "带货话术"},
                                headers=scene.operator.headers)
    assert created.status_code == 201, created.text
    course = created.json()
    assert (course["title"], course["status"], course["lessons"]) == ("直播进阶课", "draft", [])
    url = f"{base(scene)}/courses/{course['id']}"

    # A course without a published lesson cannot be published.
    refused = await client.post(f"{url}/publish", headers=scene.operator.headers)
    assert refused.status_code == 409 and error_code(refused) == "course_has_no_lessons"
    assert "至少要有一节已发布的课时" in refused.json()["error"]["message"]

    ids = []
    for title, video in (("开场三分钟", "https://video.example.com/a.mp4"), ("逼单不逼人", None), ("下播复盘", "")):
        added = await client.post(f"{url}/lessons", json={"title": title, "body": "正文", "video_url": video, "minutes": 6},
                                  headers=scene.owner.headers)
        assert added.status_code == 201, added.text
        ids.append(added.json()["id"])
    detail = (await client.get(url, headers=scene.owner.headers)).json()
    assert [(x["position"], x["title"], x["status"]) for x in detail["lessons"]] == [
        (1, "开场三分钟", "draft"), (2, "逼单不逼人", "draft"), (3, "下播复盘", "draft")]
    assert [x["video_url"] for x in detail["lessons"]] == ["https://video.example.com/a.mp4", None, None]

    for lesson_id in ids:
        published = await client.post(f"{base(scene)}/lessons/{lesson_id}/publish", headers=scene.owner.headers)
        assert published.json()["status"] == "published"
    first = await client.post(f"{url}/publish", headers=scene.owner.headers)
    again = await client.post(f"{url}/publish", headers=scene.owner.headers)
    assert first.json()["status"] == again.json()["status"] == "published"
    assert first.json()["published_at"] == again.json()["published_at"]  # publishing twice changes nothing

    reordered = await client.put(f"{url}/lesson-order", json={"lesson_ids": [ids[2], ids[0], ids[1]]}, headers=scene.owner.headers)
    assert reordered.status_code == 200, reordered.text
    assert [(x["id"], x["position"]) for x in reordered.json()["lessons"]] == [(ids[2], 1), (ids[0], 2), (ids[1], 3)]

    edited = await client.patch(f"{base(scene)}/lessons/{ids[0]}", json={"video_url": "", "minutes": 9}, headers=scene.owner.headers)
    assert (edited.json()["video_url"], edited.json()["minutes"], edited.json()["title"]) == (None, 9, "开场三分钟")
    renamed = await client.patch(url, json={"title": "直播进阶"}, headers=scene.owner.headers)
    assert (renamed.json()["title"], renamed.json()["summary"]) == ("直播进阶", "带货话术")

    listed = (await client.get(f"{base(scene)}/courses", params={"status": "published"}, headers=scene.operator.headers)).json()
    assert [(c["title"], c["lesson_count"], c["published_lesson_count"]) for c in listed["items"]] == [
        ("新手主理人必修课", 3, 3), ("直播进阶", 3, 3)]


BAD_COURSES = [
    ({"title": "   "}, 422, "course_title_invalid", "课程名称不能为空"),
    ({"title": "课" * 41}, 422, "invalid_request", None),
    ({"title": "好课", "summary": "简" * 501}, 422, "invalid_request", None),
    ({}, 422, "invalid_request", None),
]


@pytest.mark.parametrize(("body", "status", "code", "message"), BAD_COURSES)
async def test_bad_courses_are_refused_and_change_nothing(client, scene: Scene, ctx, body, status, code, message):
    before = await _state(ctx)
    response = await client.post(f"{base(scene)}/courses", json=body, headers=scene.owner.headers)
    assert response.status_code == status and error_code(response) == code, response.text
    if message:
        assert response.json()["error"]["message"] == message
    assert await _state(ctx) == before


BAD_LESSONS = [
    ({"title": " ", "body": "正文", "minutes": 5}, "lesson_title_invalid", "课时标题不能为空"),
    ({"title": "好课", "body": "  ", "minutes": 5}, "lesson_body_invalid", "课时正文不能为空"),
    ({"title": "好课", "body": "正文", "minutes": 5, "video_url": "ftp://x.example.com/a.mp4"}, "video_url_invalid",
     "视频地址必须是 http(s) 开头的网址"),
    ({"title": "好课", "body": "正文", "minutes": 5, "video_url": "javascript:alert(1)"}, "video_url_invalid", None),
    ({"title": "好课", "body": "正文", "minutes": 5, "video_url": "https://"}, "video_url_invalid", None),
    ({"title": "好课", "body": "正文", "minutes": 0}, "invalid_request", None),
    ({"title": "好课", "body": "正文", "minutes": 601}, "invalid_request", None),
    ({"title": "好课", "body": "正文", "minutes": "十分钟"}, "invalid_request", None),
    ({"title": "好课", "body": "正" * 20_001, "minutes": 5}, "invalid_request", None),
    ({"title": "好课", "body": "正文"}, "invalid_request", None),
]


@pytest.mark.parametrize(("body", "code", "message"), BAD_LESSONS)
async def test_bad_lessons_are_refused_and_change_nothing(client, scene: Scene, ctx, body, code, message):
    before = await _state(ctx)
    response = await client.post(f"{base(scene)}/courses/{scene.course.id}/lessons", json=body, headers=scene.owner.headers)
    assert response.status_code == 422 and error_code(response) == code, response.text
    if message:
        assert response.json()["error"]["message"] == message
    if "minutes" in body:  # a patch may leave out what it does not change
        patched = await client.patch(f"{base(scene)}/lessons/{scene.course.lesson_ids[0]}", json=body, headers=scene.owner.headers)
        assert patched.status_code == 422, patched.text
    assert await _state(ctx) == before


@pytest.mark.parametrize("order", ["empty", "missing", "repeated", "foreign"])
async def test_a_reorder_must_name_every_lesson_once(client, scene: Scene, ctx, order):
    a, b, c = scene.course.lesson_ids
    lesson_ids = {"empty": [], "missing": [a, b], "repeated": [a, b, b], "foreign": [a, b, c, 999_999]}[order]
    before = await _state(ctx)
    response = await client.put(f"{base(scene)}/courses/{scene.course.id}/lesson-order", json={"lesson_ids": lesson_ids},
                                headers=scene.owner.headers)
    assert response.status_code == 422, response.text
    if order != "empty":  # the schema refuses an empty list itself
        assert error_code(response) == "lesson_order_invalid"
        assert "全部课时" in response.json()["error"]["message"]
    assert await _state(ctx) == before


async def test_a_published_course_keeps_a_published_lesson(client, scene: Scene, ctx):
    course = scene.course
    for lesson_id in course.lesson_ids[:2]:
        done = await client.post(f"{base(scene)}/lessons/{lesson_id}/unpublish", headers=scene.owner.headers)
        assert done.json()["status"] == "draft"
    before = await _state(ctx)
    last = await client.post(f"{base(scene)}/lessons/{course.lesson_ids[2]}/unpublish", headers=scene.owner.headers)
    assert last.status_code == 409 and error_code(last) == "course_needs_a_lesson"
    assert await _state(ctx) == before
    # Unpublishing the course first, then the lesson, is fine; the course is a draft again.
    assert (await client.post(f"{base(scene)}/courses/{course.id}/unpublish", headers=scene.owner.headers)).json()["status"] == "draft"
    assert (await client.post(f"{base(scene)}/lessons/{course.lesson_ids[2]}/unpublish", headers=scene.owner.headers)).status_code == 200


STAFF_ROUTES = [
    ("GET", "/courses", None),
    ("POST", "/courses", {"title": "课"}),
    ("GET", "/courses/{course}", None),
    ("PATCH", "/courses/{course}", {"title": "改名"}),
    ("POST", "/courses/{course}/publish", None),
    ("POST", "/courses/{course}/unpublish", None),
    ("POST", "/courses/{course}/lessons", {"title": "课", "body": "正文", "minutes": 3}),
    ("PUT", "/courses/{course}/lesson-order", {"lesson_ids": [1]}),
    ("PATCH", "/lessons/{lesson}", {"title": "改名"}),
    ("POST", "/lessons/{lesson}/publish", None),
    ("POST", "/lessons/{lesson}/unpublish", None),
    ("GET", "/mentor-rules", None),
    ("PUT", "/mentor-rules", {"auto_assign_mentor": True, "mentor_capacity": 3, "mentor_min_days": 10}),
    ("GET", "/mentorships", None),
]


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ROUTES)
async def test_only_this_brands_staff_may_author(client, scene: Scene, ctx, method, path, body):
    url = base(scene) + path.format(course=scene.course.id, lesson=scene.course.lesson_ids[0])
    before = await _state(ctx)
    assert (await client.request(method, url, json=body)).status_code == 401
    for who in (scene.member, scene.xiaoli.actor, scene.other_owner, scene.other_leader.actor):
        response = await client.request(method, url, json=body, headers=who.headers)
        assert response.status_code == 403 and error_code(response) == "staff_only", (who, response.text)
    assert await _state(ctx) == before


async def test_another_brands_course_is_not_found_under_this_brand(client, scene: Scene, ctx):
    from tests.academy.helpers import make_course

    theirs = await make_course(ctx, scene.other_brand, title="鲜果坊的课")
    for method, path in (("GET", f"/courses/{theirs.id}"), ("POST", f"/courses/{theirs.id}/unpublish"),
                         ("PATCH", f"/lessons/{theirs.lesson_ids[0]}"), ("POST", f"/lessons/{theirs.lesson_ids[0]}/unpublish")):
        response = await client.request(method, base(scene) + path, json={"title": "抢"} if method == "PATCH" else None,
                                        headers=scene.owner.headers)
        assert response.status_code == 404, (path, response.text)
        assert error_code(response) in ("course_not_found", "lesson_not_found")
