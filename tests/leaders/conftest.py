from __future__ import annotations

from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher

from linli.accounts import service as accounts

from tests.factories import Actor, LeaderRef, World
from tests.leaders.helpers import Applicant, applicant


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Staff passwords hashed with tiny argon2 costs: these tests are about leaders, not hashing.

    (The production parameters take ~0.15 s per hash, and every scene creates three staff logins.)
    """
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


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
