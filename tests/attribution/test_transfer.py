"""When a leader exits, the brand moves their members to the active successor of the same community."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli.attribution import service as attribution
from linli.errors import DomainError
from linli.leaders import service as leaders
from tests.attribution.conftest import binding_of, enter, events_of, set_policy, table_counts


async def exit_leader(ctx, scene, leader_id):
    async with ctx.db.transaction() as s:
        await leaders.exit_leader(
            session=s, brand_id=scene.brand_id, leader_id=leader_id, reason="搬家", actor_user_id=scene.owner.user_id,
            now=ctx.clock.now(),
        )


async def transfer(ctx, scene, from_id, to_id):
    async with ctx.db.transaction() as s:
        return await attribution.transfer_members(
            session=s, brand_id=scene.brand_id, from_leader_id=from_id, to_leader_id=to_id,
            actor_user_id=scene.owner.user_id, now=ctx.clock.now(),
        )


async def test_transfer_moves_every_active_member_to_the_successor(ctx, world, scene):
    await set_policy(ctx, scene, mode="validity", validity_days=30, protection_days=5)
    outcomes = [await enter(ctx, await world.user(), scene.li.code) for _ in range(3)]
    wang_member = await enter(ctx, await world.user(), scene.wang.code)
    ctx.clock.advance(timedelta(days=10))
    await exit_leader(ctx, scene, scene.li.leader_id)
    successor = await world.leader(scene.brand_id, scene.community_a, approver=scene.owner, name="小周")

    assert await transfer(ctx, scene, scene.li.leader_id, successor.leader_id) == 3
    for outcome in outcomes:
        binding = await binding_of(ctx, outcome.member_id)
        assert (binding.leader_id, binding.source, binding.status) == (successor.leader_id, "transfer", "active")
        assert binding.expires_at == outcome.binding.expires_at  # the member's validity is carried over
        assert binding.protected_until == ctx.clock.now() + timedelta(days=5)
        assert await events_of(ctx, outcome.member_id) == [("bound", "first_entry"), ("transferred", "leader_exit")]
    assert (await binding_of(ctx, wang_member.member_id)).leader_id == scene.wang.leader_id
    assert await transfer(ctx, scene, scene.li.leader_id, successor.leader_id) == 0  # nothing left to move


async def test_transfer_skips_bindings_that_have_expired(ctx, world, scene):
    await set_policy(ctx, scene, mode="validity", validity_days=3)
    lapsed = await enter(ctx, await world.user(), scene.li.code)
    ctx.clock.advance(timedelta(days=2))
    current = await enter(ctx, await world.user(), scene.li.code)
    ctx.clock.advance(timedelta(days=2))
    await exit_leader(ctx, scene, scene.li.leader_id)
    successor = await world.leader(scene.brand_id, scene.community_a, approver=scene.owner, name="小周")
    assert await transfer(ctx, scene, scene.li.leader_id, successor.leader_id) == 1
    assert await events_of(ctx, lapsed.member_id) == [("bound", "first_entry"), ("expired", "validity_ended")]
    assert (await binding_of(ctx, current.member_id)).leader_id == successor.leader_id


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("from_active", "transfer_leader_not_exited"),
        ("from_suspended", "transfer_leader_not_exited"),
        ("to_other_community", "transfer_other_community"),
        ("to_exited", "transfer_successor_inactive"),
        ("to_self", "transfer_same_leader"),
        ("unknown_leader", "leader_not_found"),
    ],
)
async def test_bad_transfers_are_refused_and_change_nothing(ctx, world, scene, case, code):
    await enter(ctx, await world.user(), scene.li.code)
    from_id, to_id = scene.li.leader_id, scene.wang.leader_id
    if case == "from_suspended":
        async with ctx.db.transaction() as s:
            await leaders.suspend(
                session=s, brand_id=scene.brand_id, leader_id=from_id, reason="投诉", actor_user_id=scene.owner.user_id,
                now=ctx.clock.now(),
            )
    elif case != "from_active":
        await exit_leader(ctx, scene, from_id)
    if case == "to_exited":
        successor = await world.leader(scene.brand_id, scene.community_a, approver=scene.owner, name="小周")
        await exit_leader(ctx, scene, successor.leader_id)
        to_id = successor.leader_id
    elif case == "to_self":
        to_id = from_id
    elif case == "unknown_leader":
        to_id = 999_999
    before = await table_counts(ctx)
    with pytest.raises(DomainError) as err:
        await transfer(ctx, scene, from_id, to_id)
    assert err.value.code == code
    assert await table_counts(ctx) == before
