from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.factories import Actor, LeaderRef, World
from tests.leaders.helpers import Applicant, applicant


@dataclass
class Scene:
    """Brand A (优邻优选) with staff, an active leader, an applicant and a free community; brand B beside it."""

    brand: int
    owner: Actor
    operator: Actor
    community: int  # 云顶华府, led by `leader`
    leader: LeaderRef
    applied_community: int  # 翠湖苑, one application pending
    applicant: Applicant
    free_community: int  # 星河湾, nobody
    member: Actor  # a logged-in user with no role anywhere
    other_brand: int
    other_owner: Actor
    other_community: int


@pytest.fixture
async def scene(world: World) -> Scene:
    brand = await world.brand("优邻优选", slug="youlin")
    owner = await world.staff(brand, "owner")
    operator = await world.staff(brand, "operator")
    community = await world.community(brand, "云顶华府")
    leader = await world.leader(brand, community, approver=owner, name="李晓")
    applied_community = await world.community(brand, "翠湖苑")
    pending = await applicant(world, brand, applied_community, name="张敏")
    free_community = await world.community(brand, "星河湾")
    member = await world.user(name="邻居")
    other_brand = await world.brand("鲜果坊", slug="xianguo")
    other_owner = await world.staff(other_brand, "owner")
    other_community = await world.community(other_brand, "云顶华府")
    return Scene(
        brand=brand, owner=owner, operator=operator, community=community, leader=leader,
        applied_community=applied_community, applicant=pending, free_community=free_community, member=member,
        other_brand=other_brand, other_owner=other_owner, other_community=other_community,
    )
