from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.academy.helpers import CourseRef, make_course
from tests.factories import Actor, LeaderRef, World


@dataclass
class Scene:
    """Brand 优邻优选: staff, two leaders approved 40 days ago (小李, 王姐), a newcomer approved today (小新) and a
    published course of three lessons; a neighbour with no role; brand 鲜果坊 beside it with its staff and leader."""

    brand: int
    owner: Actor
    operator: Actor
    xiaoli: LeaderRef
    wangjie: LeaderRef
    newcomer: LeaderRef
    course: CourseRef
    member: Actor
    other_brand: int
    other_owner: Actor
    other_leader: LeaderRef


async def fresh_token(world: World, user_id: int) -> str:
    from linli.accounts import service as accounts

    async with world.ctx.db.transaction() as s:
        user = await accounts.get_user(session=s, user_id=user_id)
        issued = await accounts.issue_token(session=s, settings=world.ctx.settings, user=user, method="sms", now=world.ctx.clock.now())
    return issued.token


@pytest.fixture
async def scene(world: World, clock) -> Scene:
    now = clock.now()
    brand = await world.brand("优邻优选", slug="youlin")
    owner = await world.staff(brand, "owner")
    operator = await world.staff(brand, "operator")
    clock.set(now - timedelta(days=40))
    xiaoli = await world.leader(brand, await world.community(brand, "云顶华府"), approver=owner, name="小李")
    wangjie = await world.leader(brand, await world.community(brand, "翠湖花园"), approver=owner, name="王姐")
    clock.set(now)
    for veteran in (xiaoli, wangjie):  # their sign-in of 40 days ago has expired
        veteran.actor.token = await fresh_token(world, veteran.actor.user_id)
    newcomer = await world.leader(brand, await world.community(brand, "锦绣江南"), approver=owner, name="小新")
    course = await make_course(world.ctx, brand)
    member = await world.user(name="邻居")
    other_brand = await world.brand("鲜果坊", slug="xianguo")
    other_owner = await world.staff(other_brand, "owner")
    other_leader = await world.leader(other_brand, await world.community(other_brand, "星河湾"), approver=other_owner, name="老周")
    return Scene(
        brand=brand, owner=owner, operator=operator, xiaoli=xiaoli, wangjie=wangjie, newcomer=newcomer, course=course,
        member=member, other_brand=other_brand, other_owner=other_owner, other_leader=other_leader,
    )
