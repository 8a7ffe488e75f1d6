"""Community groups under test: the orders' stage (云顶华府 with 小李, 翠湖花园 with 王姐, a live offer for 云顶华府),
a WeCom robot stand-in, groups made and changed through the service as staff would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from linli.community import service as community
from linli.context import AppContext
from linli.notifications import robots
from tests.factories import World
from tests.notifications.robot import RobotStandIn
from tests.orders.setup import Stage, build_stage

JOIN_URL = "https://work.weixin.qq.com/gm/7e2b7c1a0f5d4c3b"


@pytest.fixture
def robot(ctx: AppContext) -> Iterator[RobotStandIn]:
    stand_in = RobotStandIn(ctx.clock)
    yield stand_in
    stand_in.close()


@pytest.fixture
async def stage(world: World) -> Stage:
    return await build_stage(world)


async def make_group(ctx: AppContext, stage: Stage, **patch) -> int:  # noqa: ANN003
    """云顶华府's group, changed by `patch` (community.GroupPatch's fields) as staff would."""
    async with ctx.db.transaction() as s:
        group = await community.create_group(session=s, brand_id=stage.brand_id, community_id=stage.community_id,
                                             now=ctx.clock.now())
        if patch:
            await community.update_group(
                session=s, brand_id=stage.brand_id, group_id=group.id, patch=community.GroupPatch(**patch),
                policy=robots.WebhookPolicy.of(ctx.settings), now=ctx.clock.now(),
            )
    return group.id
