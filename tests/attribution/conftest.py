"""A small brand for attribution tests: two communities, each with an active leader, and helpers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from linli.attribution import service as attribution
from linli.attribution.models import AttributionEvent, Binding, BindingPolicy, Dispute
from linli.context import AppContext
from linli.members.models import Member
from tests.factories import Actor, LeaderRef, World


@dataclass
class Scene:
    brand_id: int
    owner: Actor
    community_a: int
    community_b: int
    li: LeaderRef  # 小李, 云顶华府
    wang: LeaderRef  # 王姐, 翠湖花园


@pytest.fixture
async def scene(world: World) -> Scene:
    brand = await world.brand()
    owner = await world.staff(brand)
    community_a = await world.community(brand, "云顶华府")
    community_b = await world.community(brand, "翠湖花园")
    li = await world.leader(brand, community_a, approver=owner, name="小李")
    wang = await world.leader(brand, community_b, approver=owner, name="王姐")
    return Scene(brand, owner, community_a, community_b, li, wang)


async def enter(ctx: AppContext, user: Actor, code: str) -> attribution.EntryOutcome:
    async with ctx.db.transaction() as s:
        return await attribution.enter_with_code(session=s, user_id=user.user_id, raw_code=code, now=ctx.clock.now())


async def set_policy(
    ctx: AppContext, scene: Scene, *, mode: str = "permanent", validity_days: int = 30, protection_days: int = 0,
    only_new_members: bool = False,
) -> None:
    async with ctx.db.transaction() as s:
        await attribution.update_policy(
            session=s, brand_id=scene.brand_id, mode=mode, validity_days=validity_days,
            protection_days=protection_days, only_new_members=only_new_members, actor_user_id=scene.owner.user_id,
            now=ctx.clock.now(),
        )


async def binding_of(ctx: AppContext, member_id: int) -> Binding | None:
    async with ctx.db.read() as s:
        return await s.scalar(select(Binding).where(Binding.member_id == member_id))


async def events_of(ctx: AppContext, member_id: int) -> list[tuple[str, str]]:
    """(kind, reason) of a member's trail, oldest first."""
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(AttributionEvent.kind, AttributionEvent.reason)
            .where(AttributionEvent.member_id == member_id)
            .order_by(AttributionEvent.id)
        )
        return [(kind, reason) for kind, reason in rows.all()]


async def table_counts(ctx: AppContext) -> dict[str, int]:
    """Row counts of every table this context writes (and members), to show that a refusal wrote nothing."""
    async with ctx.db.read() as s:
        return {
            model.__tablename__: int(await s.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Binding, AttributionEvent, Dispute, BindingPolicy, Member)
        }
