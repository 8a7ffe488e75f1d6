"""A brand with two led communities and one without a leader, a product to sell, and a second brand."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.factories import Actor, LeaderRef, World, make_product


@dataclass
class Scene:
    brand: int
    owner: Actor
    operator: Actor
    community_a: int  # 云顶华府, led by 小李
    community_b: int  # 翠湖花园, led by 王姐
    community_c: int  # 星河湾, no leader
    li: LeaderRef
    wang: LeaderRef
    member: Actor  # logged in, no role, not bound
    product: int
    sku: int  # stock 1000, list price 88.00
    sku_2: int  # stock 300
    other_brand: int
    other_owner: Actor
    other_sku: int

    @property
    def base(self) -> str:
        return f"/api/v1/brands/{self.brand}/live-sessions"


@pytest.fixture
async def scene(world: World) -> Scene:
    brand = await world.brand("优邻优选", slug="youlin")
    owner = await world.staff(brand, "owner")
    operator = await world.staff(brand, "operator")
    community_a = await world.community(brand, "云顶华府")
    community_b = await world.community(brand, "翠湖花园")
    community_c = await world.community(brand, "星河湾")
    li = await world.leader(brand, community_a, approver=owner, name="小李")
    wang = await world.leader(brand, community_b, approver=owner, name="王姐")
    member = await world.user(name="张三")
    product, (sku, sku_2) = await make_product(
        world, brand, skus=(("500g×2 盒", 8800, 1000), ("1kg 礼盒", 16800, 300))
    )
    other_brand = await world.brand("鲜果坊", slug="xianguo")
    other_owner = await world.staff(other_brand, "owner")
    _, (other_sku,) = await make_product(world, other_brand, name="阳光玫瑰")
    return Scene(
        brand=brand, owner=owner, operator=operator, community_a=community_a, community_b=community_b,
        community_c=community_c, li=li, wang=wang, member=member, product=product, sku=sku, sku_2=sku_2,
        other_brand=other_brand, other_owner=other_owner, other_sku=other_sku,
    )
