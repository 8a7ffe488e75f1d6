"""Mentors: staff assign an experienced active leader of the same brand (not the mentee, not suspended, within the
capacity); auto-assign on approval when the brand turns it on; the mentee sees their mentor, the mentor their
mentees, nobody else's."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from linli.academy import mentors
from linli.academy.models import Mentorship
from linli.errors import DomainError
from linli.leaders import service as leaders
from linli.notifications.models import Notification
from linli.worker import run_until_idle
from tests.academy.conftest import Scene
from tests.academy.helpers import error_code
from tests.factories import World
from tests.leaders.helpers import applicant, bind_members


def mentor_url(scene: Scene, leader_id: int) -> str:
    return f"/api/v1/brands/{scene.brand}/leaders/{leader_id}/mentor"


async def current(ctx) -> list[tuple[int, int, str]]:
    async with ctx.db.read() as s:
        rows = await s.scalars(select(Mentorship).where(Mentorship.ended_at.is_(None)).order_by(Mentorship.id))
        return [(r.mentee_leader_id, r.mentor_leader_id, r.how) for r in rows]


async def set_rules(ctx, scene: Scene, *, auto: bool = False, capacity: int = 5, min_days: int = 30) -> None:  # noqa: ANN001
    async with ctx.db.transaction() as s:
        await mentors.update_rules(session=s, brand_id=scene.brand, auto_assign_mentor=auto, mentor_capacity=capacity,
                                   mentor_min_days=min_days, actor_user_id=scene.owner.user_id, now=ctx.clock.now())


async def newcomers(world: World, scene: Scene, count: int) -> list[int]:
    ids = []
    for i in range(count):
        ref = await world.leader(scene.brand, await world.community(scene.brand, f"新小区{i}"), approver=scene.owner, name=f"新人{i}")
        ids.append(ref.leader_id)
    return ids


async def test_staff_assign_and_replace_a_mentor(client, scene: Scene, ctx):
    assigned = await client.put(mentor_url(scene, scene.newcomer.leader_id), json={"mentor_leader_id": scene.xiaoli.leader_id},
                                headers=scene.operator.headers)
    assert assigned.status_code == 200, assigned.text
    assert {k: assigned.json()[k] for k in ("mentee_name", "mentor_name", "mentor_community", "how")} == {
        "mentee_name": "小新", "mentor_name": "小李", "mentor_community": "云顶华府", "how": "staff"}
    again = await client.put(mentor_url(scene, scene.newcomer.leader_id), json={"mentor_leader_id": scene.xiaoli.leader_id},
                             headers=scene.operator.headers)
    assert again.json()["assigned_at"] == assigned.json()["assigned_at"]  # the same mentor again: nothing changes
    replaced = await client.put(mentor_url(scene, scene.newcomer.leader_id), json={"mentor_leader_id": scene.wangjie.leader_id},
                                headers=scene.operator.headers)
    assert replaced.json()["mentor_name"] == "王姐"
    assert await current(ctx) == [(scene.newcomer.leader_id, scene.wangjie.leader_id, "staff")]
    listed = (await client.get(f"/api/v1/brands/{scene.brand}/academy/mentorships", headers=scene.owner.headers)).json()
    assert [(m["mentee_name"], m["mentor_name"]) for m in listed["items"]] == [("小新", "王姐")]
    ended = await client.delete(mentor_url(scene, scene.newcomer.leader_id), headers=scene.operator.headers)
    assert ended.json() == {"ended": True}
    assert (await client.delete(mentor_url(scene, scene.newcomer.leader_id), headers=scene.operator.headers)).json() == {"ended": False}
    assert await current(ctx) == []


async def test_mentor_rules_refuse_with_a_reason_and_change_nothing(client, world: World, scene: Scene, ctx):
    async with ctx.db.transaction() as s:
        await leaders.suspend(session=s, brand_id=scene.brand, leader_id=scene.wangjie.leader_id, reason="核查",
                              actor_user_id=scene.owner.user_id, now=ctx.clock.now())
    await client.put(mentor_url(scene, scene.newcomer.leader_id), json={"mentor_leader_id": scene.xiaoli.leader_id},
                     headers=scene.owner.headers)
    before = await current(ctx)
    pending = await applicant(world, scene.brand, await world.community(scene.brand, "待审小区"), name="申请人")
    cases = [
        (scene.newcomer.leader_id, scene.newcomer.leader_id, 422, "mentor_self", "不能指定团长本人做自己的导师"),
        (scene.newcomer.leader_id, scene.other_leader.leader_id, 404, "leader_not_found", "团长不存在"),
        (scene.other_leader.leader_id, scene.xiaoli.leader_id, 404, "leader_not_found", None),
        (scene.newcomer.leader_id, scene.wangjie.leader_id, 409, "mentor_not_active", None),
        (scene.xiaoli.leader_id, scene.newcomer.leader_id, 409, "mentor_inexperienced", "导师须担任团长满 30 天"),
        (scene.xiaoli.leader_id, scene.wangjie.leader_id, 409, "mentor_not_active", None),
        (pending.leader_id, scene.xiaoli.leader_id, 409, "mentee_not_active", "只能为在任团长安排导师"),
    ]
    for mentee, mentor, status, code, message in cases:
        response = await client.put(mentor_url(scene, mentee), json={"mentor_leader_id": mentor}, headers=scene.owner.headers)
        assert response.status_code == status and error_code(response) == code, (mentee, mentor, response.text)
        if message:
            assert response.json()["error"]["message"] == message
    # The mentee's mentee cannot become the mentee's mentor (小新 mentors nobody yet: make 小新 experienced first).
    await set_rules(ctx, scene, min_days=0)
    mentee_of_mentee = await client.put(mentor_url(scene, scene.xiaoli.leader_id), json={"mentor_leader_id": scene.newcomer.leader_id},
                                        headers=scene.owner.headers)
    assert mentee_of_mentee.status_code == 409 and error_code(mentee_of_mentee) == "mentor_is_mentee"
    assert await current(ctx) == before


async def test_a_mentor_takes_at_most_capacity_mentees(client, world: World, scene: Scene, ctx):
    await set_rules(ctx, scene, capacity=2)
    ids = await newcomers(world, scene, 3)
    for mentee in ids[:2]:
        ok = await client.put(mentor_url(scene, mentee), json={"mentor_leader_id": scene.xiaoli.leader_id}, headers=scene.owner.headers)
        assert ok.status_code == 200
    full = await client.put(mentor_url(scene, ids[2]), json={"mentor_leader_id": scene.xiaoli.leader_id}, headers=scene.owner.headers)
    assert full.status_code == 409 and error_code(full) == "mentor_full"
    assert full.json()["error"]["message"] == "该导师已带 2 位学员，达到上限 2 位"
    # A mentee who leaves frees the place.
    async with ctx.db.transaction() as s:
        await leaders.exit_leader(session=s, brand_id=scene.brand, leader_id=ids[0], reason="搬家",
                                  actor_user_id=scene.owner.user_id, now=ctx.clock.now())
    ok = await client.put(mentor_url(scene, ids[2]), json={"mentor_leader_id": scene.xiaoli.leader_id}, headers=scene.owner.headers)
    assert ok.status_code == 200, ok.text


async def test_two_assignments_to_the_last_place_at_once(world: World, scene: Scene, ctx, monkeypatch):
    """Each transaction waits (up to half a second) for the other to count the mentor's mentees too: without the
    mentor's row lock both would count 0 and both assign."""
    await set_rules(ctx, scene, capacity=1)
    first, second = await newcomers(world, scene, 2)
    count = mentors.mentee_count
    arrivals: list[int] = []
    together = asyncio.Event()

    async def count_when_together(**kwargs):  # noqa: ANN003, ANN202
        arrivals.append(kwargs["mentor_leader_id"])
        if len(arrivals) >= 2:
            together.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(together.wait(), 0.5)
        return await count(**kwargs)

    monkeypatch.setattr(mentors, "mentee_count", count_when_together)

    async def assign(mentee: int):  # noqa: ANN202
        async with ctx.db.transaction() as s:
            return await mentors.assign_mentor(session=s, brand_id=scene.brand, mentee_leader_id=mentee,
                                               mentor_leader_id=scene.xiaoli.leader_id, actor_user_id=scene.owner.user_id,
                                               now=ctx.clock.now())

    results = await asyncio.gather(assign(first), assign(second), return_exceptions=True)
    assert sum(isinstance(r, Mentorship) for r in results) == 1, results
    [refused] = [r for r in results if not isinstance(r, Mentorship)]
    assert isinstance(refused, DomainError) and refused.code == "mentor_full"
    assert len(await current(ctx)) == 1


async def test_auto_assign_on_approval_picks_the_best_eligible_mentor(world: World, scene: Scene, ctx):
    await set_rules(ctx, scene, auto=True, capacity=1)
    await bind_members(world, leader=scene.wangjie, count=2)  # same level as 小李, more members: 王姐 first
    await run_until_idle(ctx)  # the worker now handles the scene's approvals, auto-assign on
    # 小新 gets 王姐, the best of the leaders approved before him.
    assert await current(ctx) == [(scene.newcomer.leader_id, scene.wangjie.leader_id, "auto")]
    # The veterans were approved together: neither was approved before the other, so neither got a mentor.
    pending = await applicant(world, scene.brand, await world.community(scene.brand, "新盘"), name="阿秀")
    async with ctx.db.transaction() as s:
        await leaders.approve(session=s, brand_id=scene.brand, leader_id=pending.leader_id, actor_user_id=scene.owner.user_id,
                              now=ctx.clock.now())
    await run_until_idle(ctx)
    # 王姐 is full (capacity 1): 小李 is next; 小新 is not experienced yet.
    assert (pending.leader_id, scene.xiaoli.leader_id, "auto") in await current(ctx)
    async with ctx.db.read() as s:
        told = (await s.scalars(select(Notification).where(Notification.kind == "academy").order_by(Notification.id))).all()
    assert [n.title for n in told] == ["您有导师了", "您有新学员", "您有导师了", "您有新学员"]
    assert "王姐（翠湖花园）是您的导师" in told[0].body
    await run_until_idle(ctx)  # delivering again changes nothing
    assert len(await current(ctx)) == 2


async def test_auto_assign_is_off_unless_the_brand_turns_it_on(world: World, scene: Scene, ctx):
    await run_until_idle(ctx)
    assert await current(ctx) == []
    # On, but nobody eligible (everyone too new): no mentor, nothing fails.
    await set_rules(ctx, scene, auto=True, min_days=90)
    pending = await applicant(world, scene.brand, await world.community(scene.brand, "新盘"), name="阿秀")
    async with ctx.db.transaction() as s:
        await leaders.approve(session=s, brand_id=scene.brand, leader_id=pending.leader_id, actor_user_id=scene.owner.user_id,
                              now=ctx.clock.now())
    await run_until_idle(ctx)
    assert await current(ctx) == []


async def test_the_mentee_sees_the_mentor_and_the_mentor_their_mentees(client, world: World, scene: Scene, ctx, clock):
    await client.put(mentor_url(scene, scene.newcomer.leader_id), json={"mentor_leader_id": scene.xiaoli.leader_id},
                     headers=scene.owner.headers)
    academy = f"/api/v1/brands/{scene.brand}/leader/academy"
    card = (await client.get(academy, headers=scene.newcomer.actor.headers)).json()["mentor"]
    assert (card["display_name"], card["community_name"], card["contact"], card["available"]) == ("小李", "云顶华府", None, True)
    put = await client.put(f"/api/v1/brands/{scene.brand}/leader/mentor-contact", json={"contact": " 微信 xiaoli-88 "},
                           headers=scene.xiaoli.actor.headers)
    assert put.json() == {"contact": "微信 xiaoli-88"}
    card = (await client.get(academy, headers=scene.newcomer.actor.headers)).json()["mentor"]
    assert card["contact"] == "微信 xiaoli-88"
    assert scene.xiaoli.actor.phone not in str(card)  # the mentor's own phone is never shown

    await client.post(f"{academy}/lessons/{scene.course.lesson_ids[0]}/done", headers=scene.newcomer.actor.headers)
    mentees = (await client.get(f"/api/v1/brands/{scene.brand}/leader/mentees", headers=scene.xiaoli.actor.headers)).json()
    assert [(m["display_name"], m["community_name"], m["courses"][0]["lessons_done"]) for m in mentees["items"]] == [
        ("小新", "锦绣江南", 1)]
    assert (await client.get(academy, headers=scene.xiaoli.actor.headers)).json()["mentee_count"] == 1
    # Only their own: 王姐 has no mentees, the mentee no mentees, another brand's leader is refused.
    assert (await client.get(f"/api/v1/brands/{scene.brand}/leader/mentees", headers=scene.wangjie.actor.headers)).json()["items"] == []
    assert (await client.get(f"/api/v1/brands/{scene.brand}/leader/mentees", headers=scene.newcomer.actor.headers)).json()["items"] == []
    for who in (scene.other_leader.actor, scene.member, scene.owner):
        for path in ("/leader/mentees", "/leader/mentor-contact"):
            refused = await client.get(f"/api/v1/brands/{scene.brand}{path}", headers=who.headers)
            assert refused.status_code == 403 and error_code(refused) == "leader_only"

    # A suspended mentor's contact is not shown.
    async with ctx.db.transaction() as s:
        await leaders.suspend(session=s, brand_id=scene.brand, leader_id=scene.xiaoli.leader_id, reason="核查",
                              actor_user_id=scene.owner.user_id, now=clock.now())
    card = (await client.get(academy, headers=scene.newcomer.actor.headers)).json()["mentor"]
    assert (card["available"], card["contact"]) == (False, None)


@pytest.mark.parametrize(("body", "code"), [
    ({"contact": "第一行\n第二行"}, "mentor_contact_invalid"), ({"contact": "x" * 65}, "invalid_request"), ({}, "invalid_request"),
])
async def test_a_bad_contact_is_refused(client, scene: Scene, body, code):
    response = await client.put(f"/api/v1/brands/{scene.brand}/leader/mentor-contact", json=body, headers=scene.xiaoli.actor.headers)
    assert response.status_code == 422 and error_code(response) == code
    assert (await client.get(f"/api/v1/brands/{scene.brand}/leader/mentor-contact", headers=scene.xiaoli.actor.headers)).json() == {"contact": ""}


@pytest.mark.parametrize(("body", "code"), [
    ({"auto_assign_mentor": True, "mentor_capacity": 0, "mentor_min_days": 30}, "invalid_request"),
    ({"auto_assign_mentor": True, "mentor_capacity": 51, "mentor_min_days": 30}, "invalid_request"),
    ({"auto_assign_mentor": True, "mentor_capacity": 5, "mentor_min_days": 366}, "invalid_request"),
    ({"auto_assign_mentor": "maybe", "mentor_capacity": 5, "mentor_min_days": 3}, "invalid_request"),
])
async def test_bad_mentor_rules_are_refused(client, scene: Scene, body, code):
    url = f"/api/v1/brands/{scene.brand}/academy/mentor-rules"
    response = await client.put(url, json=body, headers=scene.owner.headers)
    assert response.status_code == 422 and error_code(response) == code
    assert (await client.get(url, headers=scene.owner.headers)).json() == {
        "auto_assign_mentor": False, "mentor_capacity": 5, "mentor_min_days": 30, "updated_at": None}


async def test_mentor_routes_only_for_this_brands_staff(client, scene: Scene, ctx):
    body = {"mentor_leader_id": scene.xiaoli.leader_id}
    for method in ("PUT", "DELETE"):
        url = mentor_url(scene, scene.newcomer.leader_id)
        assert (await client.request(method, url, json=body)).status_code == 401
        for who in (scene.member, scene.xiaoli.actor, scene.newcomer.actor, scene.other_owner):
            response = await client.request(method, url, json=body, headers=who.headers)
            assert response.status_code == 403 and error_code(response) == "staff_only"
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Mentorship)) == 0


async def test_experience_is_counted_in_days_in_office(world: World, scene: Scene, ctx, clock):
    await set_rules(ctx, scene, min_days=10)
    clock.advance(timedelta(days=10))
    async with ctx.db.transaction() as s:
        row = await mentors.assign_mentor(session=s, brand_id=scene.brand, mentee_leader_id=scene.xiaoli.leader_id,
                                          mentor_leader_id=scene.newcomer.leader_id, actor_user_id=scene.owner.user_id,
                                          now=clock.now())
    assert row.mentor_leader_id == scene.newcomer.leader_id
