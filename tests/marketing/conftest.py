from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.factories import Actor, LeaderRef, World, make_live_session


@dataclass
class Scene:
    """Brand A (优邻优选) with staff and two active leaders and one scheduled session; brand B beside it."""

    brand: int
    owner: Actor
    operator: Actor
    community: int  # 云顶华府, led by 小李
    leader: LeaderRef
    second_community: int  # 翠湖花园, led by 王姐
    second: LeaderRef
    member: Actor
    other_brand: int
    other_owner: Actor
    other_leader: LeaderRef


@pytest.fixture
async def scene(world: World) -> Scene:
    brand = await world.brand("优邻优选", slug="youlin")
    owner = await world.staff(brand, "owner")
    operator = await world.staff(brand, "operator")
    community = await world.community(brand, "云顶华府")
    leader = await world.leader(brand, community, approver=owner, name="小李")
    second_community = await world.community(brand, "翠湖花园")
    second = await world.leader(brand, second_community, approver=owner, name="王姐")
    member = await world.user(name="邻居")
    other_brand = await world.brand("鲜果坊", slug="xianguo")
    other_owner = await world.staff(other_brand, "owner")
    other_leader = await world.leader(other_brand, await world.community(other_brand, "星河湾"), approver=other_owner, name="赵六")
    return Scene(
        brand=brand, owner=owner, operator=operator, community=community, leader=leader,
        second_community=second_community, second=second, member=member, other_brand=other_brand,
        other_owner=other_owner, other_leader=other_leader,
    )


async def scheduled_session(world: World, scene: Scene, title: str = "丹东99草莓源头直发") -> int:
    return await make_live_session(world, scene.brand, title=title)
