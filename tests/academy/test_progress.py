"""A leader's progress: marking lessons done (any order, idempotent), progress per course, the course completed
once (its event once), even with two "done" at the same moment; lessons added or withdrawn afterwards."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from linli.academy import completion, courses, progress
from linli.errors import DomainError
from tests.academy.conftest import Scene
from tests.academy.helpers import add_published_lesson, completions, error_code, events, lessons_done, make_course

TOPIC = "academy.course_completed"


def leader_url(scene: Scene) -> str:
    return f"/api/v1/brands/{scene.brand}/leader/academy"


async def done(client, scene: Scene, lesson_id: int, who=None):  # noqa: ANN001, ANN201
    who = who or scene.newcomer.actor
    return await client.post(f"{leader_url(scene)}/lessons/{lesson_id}/done", headers=who.headers)


async def test_lessons_in_any_order_then_the_course_completes_once(client, scene: Scene, ctx, clock):
    first, second, third = scene.course.lesson_ids
    overview = (await client.get(leader_url(scene), headers=scene.newcomer.actor.headers)).json()
    [course] = overview["courses"]
    assert (course["title"], course["lessons_done"], course["lessons_total"], course["minutes"], course["completed_at"]) == (
        "新手主理人必修课", 0, 3, 15, None)

    answer = await done(client, scene, third)  # the last lesson first: any order is fine
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["first_time"], body["course_completed_now"], body["course"]["lessons_done"]) == (True, False, 1)
    twice = await done(client, scene, third)  # a double submit records nothing new
    assert (twice.json()["first_time"], twice.json()["done_at"]) == (False, body["done_at"])
    assert await lessons_done(ctx, scene.newcomer.leader_id) == 1

    await done(client, scene, first)
    clock.advance(__import__("datetime").timedelta(minutes=5))
    last = (await done(client, scene, second)).json()
    assert (last["course_completed_now"], last["course"]["lessons_done"], last["course"]["lessons_total"]) == (True, 3, 3)
    assert last["course"]["completed_at"] == clock.now().isoformat().replace("+00:00", "Z")
    again = (await done(client, scene, second)).json()
    assert (again["course_completed_now"], again["first_time"]) == (False, False)
    assert again["course"]["completed_at"] == last["course"]["completed_at"]

    assert [c for c, _ in await completions(ctx, scene.newcomer.leader_id)] == [scene.course.id]
    assert await events(ctx, TOPIC) == [{
        "leader_id": scene.newcomer.leader_id, "brand_id": scene.brand, "course_id": scene.course.id,
        "completed_at": clock.now().isoformat(),
    }]
    lessons = (await client.get(f"{leader_url(scene)}/courses/{scene.course.id}", headers=scene.newcomer.actor.headers)).json()
    assert [x["done_at"] is not None for x in lessons["lessons"]] == [True, True, True]
    # Another leader's progress is their own.
    theirs = (await client.get(leader_url(scene), headers=scene.xiaoli.actor.headers)).json()
    assert theirs["courses"][0]["lessons_done"] == 0


async def test_two_dones_at_once_complete_the_course_exactly_once(scene: Scene, ctx, monkeypatch):
    """The last two lessons marked in two transactions at the same moment: the leader's row serialises them, so the completion is neither missed nor doubled, on both databases.

    Each transaction waits (up to half a second) for another to reach the completion check too, after writing its
    lesson: without the lock both would count before either committed, see 2 of 3, and complete nothing."""
    first, second, third = scene.course.lesson_ids
    leader = scene.newcomer.leader_id
    check = completion.record_if_finished
    arrivals: list[int] = []
    together = asyncio.Event()

    async def check_when_together(**kwargs):  # noqa: ANN003, ANN202
        arrivals.append(kwargs["leader_id"])
        if len(arrivals) >= 2:
            together.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(together.wait(), 0.5)
        return await check(**kwargs)

    async def mark(lesson_id: int) -> progress.LessonDone:
        async with ctx.db.transaction() as s:
            return await progress.mark_lesson_done(
                session=s, brand_id=scene.brand, leader_id=leader, lesson_id=lesson_id, now=ctx.clock.now()
            )

    await mark(first)
    monkeypatch.setattr(completion, "record_if_finished", check_when_together)
    results = await asyncio.gather(mark(second), mark(third))
    assert sum(r.course_completed is not None for r in results) == 1
    assert all(r.first_time for r in results)
    assert len(arrivals) == 2
    assert await lessons_done(ctx, leader) == 3
    assert len(await completions(ctx, leader)) == 1
    assert len(await events(ctx, TOPIC)) == 1


async def test_a_double_submit_of_the_last_lesson_completes_once(client, scene: Scene, ctx):
    first, second, third = scene.course.lesson_ids
    for lesson_id in (first, second):
        await done(client, scene, lesson_id)
    answers = await asyncio.gather(done(client, scene, third), done(client, scene, third))
    assert [a.status_code for a in answers] == [200, 200]
    assert sorted(a.json()["course_completed_now"] for a in answers) == [False, True]
    assert len(await events(ctx, TOPIC)) == 1


async def test_a_lesson_added_to_a_completed_course(client, scene: Scene, ctx):
    """The completion stays (with its time, and for the levels); the new lesson shows as not done yet, and doing it
    completes nothing again."""
    for lesson_id in scene.course.lesson_ids:
        await done(client, scene, lesson_id)
    [(course_id, completed_at)] = await completions(ctx, scene.newcomer.leader_id)
    new_lesson = await add_published_lesson(ctx, scene.brand, scene.course.id, "团长的一天")
    [course] = (await client.get(leader_url(scene), headers=scene.newcomer.actor.headers)).json()["courses"]
    assert (course["lessons_done"], course["lessons_total"], course["completed_at"] is not None) == (3, 4, True)
    answer = (await done(client, scene, new_lesson)).json()
    assert (answer["course_completed_now"], answer["course"]["lessons_done"]) == (False, 4)
    assert await completions(ctx, scene.newcomer.leader_id) == [(course_id, completed_at)]
    assert len(await events(ctx, TOPIC)) == 1


async def test_withdrawing_the_lesson_a_leader_had_left_completes_the_course(scene: Scene, ctx, client):
    first, second, third = scene.course.lesson_ids
    for lesson_id in (first, second):
        await done(client, scene, lesson_id)
    await done(client, scene, first, who=scene.xiaoli.actor)  # 小李 has done one: still unfinished after
    async with ctx.db.transaction() as s:
        await courses.set_lesson_status(session=s, brand_id=scene.brand, lesson_id=third, status="draft", now=ctx.clock.now())
    assert [c for c, _ in await completions(ctx, scene.newcomer.leader_id)] == [scene.course.id]
    assert await completions(ctx, scene.xiaoli.leader_id) == []
    assert [e["leader_id"] for e in await events(ctx, TOPIC)] == [scene.newcomer.leader_id]
    [course] = (await client.get(leader_url(scene), headers=scene.newcomer.actor.headers)).json()["courses"]
    assert (course["lessons_done"], course["lessons_total"]) == (2, 2)


async def test_drafts_are_not_for_leaders(client, scene: Scene, ctx):
    draft = await make_course(ctx, scene.brand, title="草稿课", publish=False)
    async with ctx.db.transaction() as s:
        hidden = await courses.add_lesson(
            session=s, brand_id=scene.brand, course_id=scene.course.id,
            data=courses.LessonInput(title="未发布的课", body="正文", video_url=None, minutes=2), now=ctx.clock.now(),
        )
    overview = (await client.get(leader_url(scene), headers=scene.newcomer.actor.headers)).json()
    assert [c["title"] for c in overview["courses"]] == ["新手主理人必修课"]
    assert overview["courses"][0]["lessons_total"] == 3
    for lesson_id in (draft.lesson_ids[0], hidden.id):
        refused = await done(client, scene, lesson_id)
        assert refused.status_code == 404 and error_code(refused) == "lesson_not_found"
        assert refused.json()["error"]["message"] == "课时不存在或尚未发布"
    course = await client.get(f"{leader_url(scene)}/courses/{draft.id}", headers=scene.newcomer.actor.headers)
    assert course.status_code == 404 and error_code(course) == "course_not_found"
    assert await lessons_done(ctx, scene.newcomer.leader_id) == 0


LEADER_ROUTES = [
    ("GET", ""), ("GET", "/courses/{course}"), ("POST", "/lessons/{lesson}/done"),
]


@pytest.mark.parametrize(("method", "path"), LEADER_ROUTES)
async def test_only_this_brands_active_leaders_study(client, scene: Scene, ctx, method, path):
    url = leader_url(scene) + path.format(course=scene.course.id, lesson=scene.course.lesson_ids[0])
    assert (await client.request(method, url)).status_code == 401
    for who in (scene.member, scene.owner, scene.other_owner, scene.other_leader.actor):
        response = await client.request(method, url, headers=who.headers)
        assert response.status_code == 403 and error_code(response) == "leader_only", response.text
    if "{" in path:  # another brand's course or lesson under this brand's address: as if it did not exist
        theirs = await make_course(ctx, scene.other_brand, title="鲜果坊的课")
        url = leader_url(scene) + path.format(course=theirs.id, lesson=theirs.lesson_ids[0])
        assert (await client.request(method, url, headers=scene.newcomer.actor.headers)).status_code == 404
    assert await lessons_done(ctx, scene.newcomer.leader_id) == 0


async def test_a_suspended_leader_cannot_mark_lessons(scene: Scene, ctx, client):
    from linli.leaders import service as leaders

    async with ctx.db.transaction() as s:
        await leaders.suspend(session=s, brand_id=scene.brand, leader_id=scene.newcomer.leader_id, reason="核查",
                              actor_user_id=scene.owner.user_id, now=ctx.clock.now())
    refused = await done(client, scene, scene.course.lesson_ids[0])
    assert refused.status_code == 403 and error_code(refused) == "leader_only"
    with pytest.raises(DomainError):  # the service itself refuses too, under the row lock
        async with ctx.db.transaction() as s:
            await progress.mark_lesson_done(session=s, brand_id=scene.brand, leader_id=scene.newcomer.leader_id,
                                            lesson_id=scene.course.lesson_ids[0], now=ctx.clock.now())
    assert await lessons_done(ctx, scene.newcomer.leader_id) == 0


async def test_republishing_completes_a_leader_who_has_done_every_lesson_left(client, scene: Scene, ctx):
    first, second, third = scene.course.lesson_ids
    for lesson_id in (first, second):
        await done(client, scene, lesson_id)
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        await courses.unpublish_course(session=s, brand_id=scene.brand, course_id=scene.course.id, now=now)
        await courses.set_lesson_status(session=s, brand_id=scene.brand, lesson_id=third, status="draft", now=now)
    assert await completions(ctx, scene.newcomer.leader_id) == []
    async with ctx.db.transaction() as s:
        await courses.publish_course(session=s, brand_id=scene.brand, course_id=scene.course.id, now=now)
    assert [c for c, _ in await completions(ctx, scene.newcomer.leader_id)] == [scene.course.id]
    assert len(await events(ctx, TOPIC)) == 1
