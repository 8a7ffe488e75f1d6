from __future__ import annotations

from dataclasses import dataclass

import pytest

from linli.context import AppContext
from tests.factories import Actor, World
from tests.ledger.helpers import buy
from tests.orders.setup import Stage, bound_member, build_stage


@dataclass
class Bought:
    stage: Stage
    member: Actor
    order_id: int


@pytest.fixture
async def stage(world: World) -> Stage:
    return await build_stage(world)


@pytest.fixture
async def member(world: World, stage: Stage) -> Actor:
    return await bound_member(world, stage.leader)


@pytest.fixture
async def bought(ctx: AppContext, stage: Stage, member: Actor) -> Bought:
    """A member of 小李's community with a paid 68-yuan order (commission 10.20 yuan accrued), not yet picked up."""
    return Bought(stage=stage, member=member, order_id=await buy(ctx, stage, member))
