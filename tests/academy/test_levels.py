"""Levels that require courses as well as bound members: a leader with the members but not the course stays;
completing the course promotes them (every view of the level at once, and a message once); levels without
courses behave as before; the programme accepts only this brand's published courses."""

from __future__ import annotations

from sqlalchemy import select

from linli.leaders import service as leaders
from linli.notifications.models import Notification
from linli.worker import run_until_idle
from tests.academy.conftest import Scene
from tests.academy.helpers import error_code, make_course
from tests.factories import World
from tests.leaders.helpers import bind_members


def program(course_ids: list[int], gold_courses: list[int] | None = None) -> dict:
    return {
        "levels": [
            {"code": "trainee", "name": "见习", "min_bound_members": 0, "rights": ["基础佣金"]},
            {"code": "regular", "name": "正式", "min_bound_members": 2, "rights": ["基础佣金", "直播作战包"],
             "required_course_ids": course_ids},
            {"code": "gold", "name": "金牌", "min_bound_members": 4, "rights": ["专属客服"], "required_course_ids": gold_courses or []},
        ],
        "invite_grace_hours": 72,
    }


async def profile(client, scene: Scene) -> dict:  # noqa: ANN001
    response = await client.get(f"/api/v1/brands/{scene.brand}/leader", headers=scene.newcomer.actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def finish(client, scene: Scene, lesson_ids: list[int]) -> None:  # noqa: ANN001
    for lesson_id in lesson_ids:
        answer = await client.post(f"/api/v1/brands/{scene.brand}/leader/academy/lessons/{lesson_id}/done",
                                   headers=scene.newcomer.actor.headers)
        assert answer.status_code == 200, answer.text


async def test_the_members_without_the_course_stay_then_the_course_promotes(client, world: World, scene: Scene, ctx):
    saved = await client.put(f"/api/v1/brands/{scene.brand}/leader-program", json=program([scene.course.id]), headers=scene.owner.headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["levels"][1]["required_course_ids"] == [scene.course.id]
    await bind_members(world, leader=scene.newcomer, count=5)  # enough for 金牌's members, not 正式's course

    before = await profile(client, scene)
    assert before["level"]["code"] == "trainee"  # the course stops the climb: 金牌 is not reached either
    assert before["next_level"] == {
        "code": "regular", "name": "正式", "min_bound_members": 2, "members_needed": 0,
        "required_course_ids": [scene.course.id], "courses_needed": [scene.course.id],
    }
    overview = (await client.get(f"/api/v1/brands/{scene.brand}/leader/academy", headers=scene.newcomer.actor.headers)).json()
    assert overview["next_level"] == {
        "code": "regular", "name": "正式", "members_needed": 0,
        "courses": [{"id": scene.course.id, "title": "新手主理人必修课", "completed": False}],
    }

    await finish(client, scene, scene.course.lesson_ids)
    after = await profile(client, scene)
    assert after["level"]["code"] == "gold" and after["next_level"] is None
    staff = (await client.get(f"/api/v1/brands/{scene.brand}/leaders/{scene.newcomer.leader_id}", headers=scene.owner.headers)).json()
    assert staff["level"]["code"] == "gold"

    # The worker's recompute tells the leader, once.
    await run_until_idle(ctx)
    await run_until_idle(ctx)
    async with ctx.db.read() as s:
        told = (await s.scalars(select(Notification).where(Notification.kind == "academy"))).all()
    assert [n.title for n in told] == ["恭喜升级为「金牌」团长"]
    assert "专属客服" in told[0].body


async def test_a_course_without_the_members_does_not_promote(client, scene: Scene, ctx):
    await client.put(f"/api/v1/brands/{scene.brand}/leader-program", json=program([scene.course.id]), headers=scene.owner.headers)
    await finish(client, scene, scene.course.lesson_ids)
    after = await profile(client, scene)
    assert after["level"]["code"] == "trainee"
    assert (after["next_level"]["members_needed"], after["next_level"]["courses_needed"]) == (2, [])
    await run_until_idle(ctx)
    async with ctx.db.read() as s:
        assert (await s.scalars(select(Notification).where(Notification.kind == "academy"))).all() == []


async def test_the_level_needs_every_required_course(client, world: World, scene: Scene, ctx):
    second = await make_course(ctx, scene.brand, title="直播进阶课", lessons=("开场三分钟",))
    await client.put(f"/api/v1/brands/{scene.brand}/leader-program", json=program([scene.course.id, second.id]),
                     headers=scene.owner.headers)
    await bind_members(world, leader=scene.newcomer, count=2)
    await finish(client, scene, scene.course.lesson_ids)
    assert (await profile(client, scene))["next_level"]["courses_needed"] == [second.id]
    await finish(client, scene, second.lesson_ids)
    assert (await profile(client, scene))["level"]["code"] == "regular"


def test_level_rules_in_the_small():
    levels = program([7], gold_courses=[8])["levels"]
    assert leaders.level_for(levels=levels, bound_members=100)["code"] == "trainee"
    assert leaders.level_for(levels=levels, bound_members=100, completed_course_ids=frozenset({7}))["code"] == "regular"
    assert leaders.level_for(levels=levels, bound_members=1, completed_course_ids=frozenset({7, 8}))["code"] == "trainee"
    assert leaders.level_for(levels=levels, bound_members=4, completed_course_ids=frozenset({7, 8}))["code"] == "gold"
    # Levels without courses: the highest threshold reached, as before (stored levels may lack the key).
    plain = [{k: v for k, v in lv.items() if k != "required_course_ids"} for lv in levels]
    assert [leaders.level_for(levels=plain, bound_members=n)["code"] for n in (0, 1, 2, 3, 4, 99)] == [
        "trainee", "trainee", "regular", "regular", "gold", "gold"]
    progress = leaders.level_progress(levels=levels, bound_members=3, completed_course_ids=frozenset({7}))
    assert (progress.level["code"], progress.members_to_next_level, progress.courses_to_next_level) == ("regular", 1, [8])


async def test_the_programme_takes_only_this_brands_published_courses(client, scene: Scene, ctx):
    draft = await make_course(ctx, scene.brand, title="草稿课", publish=False)
    theirs = await make_course(ctx, scene.other_brand, title="鲜果坊的课")
    url = f"/api/v1/brands/{scene.brand}/leader-program"
    before = (await client.get(url, headers=scene.owner.headers)).json()
    for course_ids in ([draft.id], [theirs.id], [999_999]):
        refused = await client.put(url, json=program(course_ids), headers=scene.owner.headers)
        assert refused.status_code == 422 and error_code(refused) == "levels_course_invalid", refused.text
        assert "本品牌已发布的课程" in refused.json()["error"]["message"]
    first_level = program([])
    first_level["levels"][0]["required_course_ids"] = [scene.course.id]
    refused = await client.put(url, json=first_level, headers=scene.owner.headers)
    assert refused.status_code == 422 and refused.json()["error"]["message"] == "第一级是每位团长的起点，不能要求课程"
    twice = await client.put(url, json=program([scene.course.id, scene.course.id]), headers=scene.owner.headers)
    assert twice.status_code == 422 and error_code(twice) == "levels_invalid"
    assert (await client.get(url, headers=scene.owner.headers)).json() == before


async def test_a_required_course_cannot_be_withdrawn(client, scene: Scene):
    await client.put(f"/api/v1/brands/{scene.brand}/leader-program", json=program([scene.course.id]), headers=scene.owner.headers)
    refused = await client.post(f"/api/v1/brands/{scene.brand}/academy/courses/{scene.course.id}/unpublish",
                                headers=scene.owner.headers)
    assert refused.status_code == 409 and error_code(refused) == "course_required_by_level"
    assert "「正式」" in refused.json()["error"]["message"]


async def test_levels_without_courses_keep_their_behaviour(client, world: World, scene: Scene):
    body = program([])
    for lv in body["levels"]:  # a client that never heard of courses
        lv.pop("required_course_ids", None)
    await client.put(f"/api/v1/brands/{scene.brand}/leader-program", json=body, headers=scene.owner.headers)
    await bind_members(world, leader=scene.newcomer, count=2)
    assert (await profile(client, scene))["level"]["code"] == "regular"
    await bind_members(world, leader=scene.newcomer, count=2)
    assert (await profile(client, scene))["level"]["code"] == "gold"
