"""Races: two approvals for one community, one application approved twice at once, concurrent rotations.

On SQLite write transactions queue (BEGIN IMMEDIATE), so the second one sees the first one's result.
On PostgreSQL both may pass the checks; the partial unique indexes (one holder per community, one
active code per leader) and row locks are the last defence, and the loser gets a 409.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from linli.errors import Conflict
from linli.leaders import service as leaders
from linli.leaders.models import InviteCode, Leader
from tests.factories import World
from tests.leaders.conftest import Scene
from tests.leaders.helpers import applicant, error_code


async def _holders(ctx, community_id: int) -> int:
    async with ctx.db.read() as s:
        return int(
            await s.scalar(
                select(func.count()).where(Leader.community_id == community_id, Leader.status == "active")
            )
            or 0
        )


async def _active_codes(ctx) -> dict[int, int]:
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(InviteCode.leader_id, func.count()).where(InviteCode.status == "active").group_by(InviteCode.leader_id)
        )
        return {leader_id: count for leader_id, count in rows.all()}


async def test_two_approvals_for_one_community_in_the_service(world: World, scene: Scene, ctx):
    second = await applicant(world, scene.brand, scene.applied_community, name="周四")

    async def approve(leader_id: int) -> Leader:
        async with ctx.db.transaction() as s:
            return await leaders.approve(
                session=s, brand_id=scene.brand, leader_id=leader_id, actor_user_id=scene.owner.user_id,
                now=ctx.clock.now(),
            )

    results = await asyncio.gather(
        approve(scene.applicant.leader_id), approve(second.leader_id), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Leader)]
    losers = [r for r in results if not isinstance(r, Leader)]
    assert len(winners) == 1 and len(losers) == 1, results
    loser = losers[0]
    assert isinstance(loser, IntegrityError) or (isinstance(loser, Conflict) and loser.code == "community_has_leader")
    assert await _holders(ctx, scene.applied_community) == 1
    codes = await _active_codes(ctx)
    assert codes.get(winners[0].id) == 1
    assert [r.id for r in winners][0] in (scene.applicant.leader_id, second.leader_id)
    loser_id = second.leader_id if winners[0].id == scene.applicant.leader_id else scene.applicant.leader_id
    assert loser_id not in codes
    async with ctx.db.read() as s:
        assert (await s.get(Leader, loser_id)).status == "applied"
        assert len(await leaders.status_history(session=s, leader_id=loser_id)) == 1


async def test_two_approvals_for_one_community_over_http(client, world: World, scene: Scene, ctx):
    second = await applicant(world, scene.brand, scene.applied_community, name="周四")
    responses = await asyncio.gather(
        client.post(f"/api/v1/brands/{scene.brand}/leaders/{scene.applicant.leader_id}/approve", headers=scene.owner.headers),
        client.post(f"/api/v1/brands/{scene.brand}/leaders/{second.leader_id}/approve", headers=scene.operator.headers),
    )
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 409)
    assert error_code(refused) in {"community_has_leader", "concurrent_conflict"}
    assert await _holders(ctx, scene.applied_community) == 1


async def test_one_application_approved_twice_at_once(client, scene: Scene, ctx):
    url = f"/api/v1/brands/{scene.brand}/leaders/{scene.applicant.leader_id}/approve"
    responses = await asyncio.gather(
        client.post(url, headers=scene.owner.headers), client.post(url, headers=scene.operator.headers)
    )
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 409)
    assert error_code(refused) in {"leader_status_invalid", "concurrent_conflict"}
    assert (await _active_codes(ctx))[scene.applicant.leader_id] == 1
    async with ctx.db.read() as s:
        history = await leaders.status_history(session=s, leader_id=scene.applicant.leader_id)
    assert [h.to_status for h in history] == ["applied", "active"]


async def test_concurrent_rotations_leave_one_current_code(client, scene: Scene, ctx):
    url = f"/api/v1/brands/{scene.brand}/leader/invite-code/rotate"
    responses = await asyncio.gather(*(client.post(url, headers=scene.leader.actor.headers) for _ in range(4)))
    assert all(r.status_code in (200, 409) for r in responses), [r.text for r in responses]
    assert any(r.status_code == 200 for r in responses)
    assert (await _active_codes(ctx))[scene.leader.leader_id] == 1
    profile = (await client.get(f"/api/v1/brands/{scene.brand}/leader", headers=scene.leader.actor.headers)).json()
    last_issued = {r.json()["invite"]["code"] for r in responses if r.status_code == 200}
    assert profile["invite"]["code"] in last_issued
