from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.factories import Actor, LeaderRef, World


@dataclass
class BrandScene:
    brand: int
    owner: Actor
    operator: Actor
    community: int  # 云顶华府
    leader: LeaderRef
    member: Actor
    other_brand: int
    other_owner: Actor
    other_community: int


@pytest.fixture
async def bscene(world: World) -> BrandScene:
    brand = await world.brand("优邻优选", slug="youlin")
    owner = await world.staff(brand, "owner", login_name="boss")
    operator = await world.staff(brand, "operator", login_name="ops")
    community = await world.community(brand, "云顶华府")
    leader = await world.leader(brand, community, approver=owner, name="李晓")
    member = await world.user(name="邻居")
    other_brand = await world.brand("鲜果坊", slug="xianguo")
    other_owner = await world.staff(other_brand, "owner", login_name="other-boss")
    other_community = await world.community(other_brand, "翠湖苑")
    return BrandScene(
        brand=brand, owner=owner, operator=operator, community=community, leader=leader, member=member,
        other_brand=other_brand, other_owner=other_owner, other_community=other_community,
    )
