"""A brand with an owner, an operator, a leader and a plain member; a second brand with its own owner."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.factories import Actor, LeaderRef, World


@dataclass
class Scene:
    brand: int
    owner: Actor
    operator: Actor
    leader: LeaderRef
    member: Actor
    other_brand: int
    other_owner: Actor

    @property
    def base(self) -> str:
        return f"/api/v1/brands/{self.brand}"


@pytest.fixture
async def scene(world: World) -> Scene:
    brand = await world.brand("优邻优选", slug="youlin")
    owner = await world.staff(brand, "owner")
    operator = await world.staff(brand, "operator")
    community = await world.community(brand, "云顶华府")
    leader = await world.leader(brand, community, approver=owner, name="小李")
    member = await world.user(name="邻居")
    other_brand = await world.brand("鲜果坊", slug="xianguo")
    other_owner = await world.staff(other_brand, "owner")
    return Scene(brand, owner, operator, leader, member, other_brand, other_owner)


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"], body
    return body["error"]["code"]
