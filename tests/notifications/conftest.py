"""Pushes under test: a brand with members, a WeCom robot stand-in on 127.0.0.1, a short webhook timeout."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from linli.context import AppContext
from linli.members import service as members
from linli.notifications import robots
from linli.notifications.delivery import DeliveryReport, Dispatcher
from tests.factories import Actor, World
from tests.notifications.robot import RobotStandIn

TIMEOUT = 0.3  # seconds a robot may take before the dispatcher gives up on it


@pytest.fixture
def settings(settings):  # noqa: ANN001, ANN201 - the suite's settings, with a webhook timeout a test can wait out
    return settings.with_overrides(push_webhook_timeout_seconds=TIMEOUT)


@pytest.fixture
def robot(ctx: AppContext) -> Iterator[RobotStandIn]:
    stand_in = RobotStandIn(ctx.clock, hang_seconds=TIMEOUT * 4)
    yield stand_in
    stand_in.close()


@dataclass
class PushScene:
    brand_id: int
    owner: Actor
    members: list[Actor]


async def member_of(world: World, brand_id: int, *, name: str = "邻居") -> Actor:
    actor = await world.user(name=name)
    async with world.ctx.db.transaction() as s:
        await members.get_or_create_member(session=s, brand_id=brand_id, user_id=actor.user_id, now=world.ctx.clock.now())
    return actor


@pytest.fixture
async def scene(world: World) -> PushScene:
    brand = await world.brand()
    owner = await world.staff(brand)
    return PushScene(brand_id=brand, owner=owner, members=[await member_of(world, brand, name=f"邻居{i}") for i in range(3)])


async def robot_row(ctx: AppContext, brand_id: int, url: str) -> int:
    """A group-scoped robot pointed at `url` (what a community group's robot is), its id."""
    async with ctx.db.transaction() as s:
        row = await robots.save_robot(
            session=s, brand_id=brand_id, robot=None, scope="group", url=url,
            policy=robots.WebhookPolicy.of(ctx.settings), now=ctx.clock.now(),
        )
    assert row is not None
    return row.id


async def deliver(ctx: AppContext) -> DeliveryReport:
    """One round of the dispatcher at the clock's moment."""
    return await Dispatcher.for_context(ctx).deliver_due(now=ctx.clock.now())
