"""Disputes: a leader claims a member bound elsewhere; staff uphold (rebind) or reject."""

from __future__ import annotations

import pytest

from linli.attribution import service as attribution
from linli.errors import DomainError
from tests.attribution.conftest import binding_of, enter, events_of, set_policy, table_counts


async def open_dispute(ctx, scene, leader, member_id, reason="他是通过我的海报进来的"):
    async with ctx.db.transaction() as s:
        return await attribution.open_dispute(
            session=s, brand_id=scene.brand_id, leader_id=leader.leader_id, member_id=member_id, reason=reason,
            now=ctx.clock.now(),
        )


async def resolve(ctx, scene, dispute_id, decision, reason="核实了聊天记录"):
    async with ctx.db.transaction() as s:
        return await attribution.resolve_dispute(
            session=s, brand_id=scene.brand_id, dispute_id=dispute_id, decision=decision, reason=reason,
            actor_user_id=scene.owner.user_id, now=ctx.clock.now(),
        )


async def contested_member(ctx, world, scene):
    """A member bound to 王姐 who later came through 小李's code (refused, so 小李 is in their trail)."""
    user = await world.user()
    bound = await enter(ctx, user, scene.wang.code)
    await enter(ctx, user, scene.li.code)
    return bound.member_id


async def test_uphold_rebinds_the_member_to_the_claimant(ctx, world, scene):
    member_id = await contested_member(ctx, world, scene)
    dispute = await open_dispute(ctx, scene, scene.li, member_id)
    assert (dispute.status, dispute.bound_leader_id) == ("open", scene.wang.leader_id)

    closed = await resolve(ctx, scene, dispute.id, "upheld")
    assert (closed.status, closed.resolution_reason, closed.resolved_by_user_id) == (
        "upheld", "核实了聊天记录", scene.owner.user_id,
    )
    binding = await binding_of(ctx, member_id)
    assert (binding.leader_id, binding.source) == (scene.li.leader_id, "dispute")
    assert await events_of(ctx, member_id) == [
        ("bound", "first_entry"), ("refused", "already_bound"), ("transferred", "dispute_upheld"),
    ]
    with pytest.raises(DomainError) as err:
        await resolve(ctx, scene, dispute.id, "rejected")
    assert err.value.code == "dispute_closed"


async def test_uphold_overrides_the_protection_period(ctx, world, scene):
    await set_policy(ctx, scene, mode="last_touch", protection_days=30)
    member_id = await contested_member(ctx, world, scene)
    dispute = await open_dispute(ctx, scene, scene.li, member_id)
    await resolve(ctx, scene, dispute.id, "upheld")
    assert (await binding_of(ctx, member_id)).leader_id == scene.li.leader_id


async def test_reject_keeps_the_binding(ctx, world, scene):
    member_id = await contested_member(ctx, world, scene)
    dispute = await open_dispute(ctx, scene, scene.li, member_id)
    before = await events_of(ctx, member_id)
    closed = await resolve(ctx, scene, dispute.id, "rejected", reason="王姐先邀请")
    assert closed.status == "rejected"
    assert (await binding_of(ctx, member_id)).leader_id == scene.wang.leader_id
    assert await events_of(ctx, member_id) == before
    again = await open_dispute(ctx, scene, scene.li, member_id)  # a closed dispute does not block a new one
    assert again.id != dispute.id


async def test_one_open_dispute_per_member_and_claimant(ctx, world, scene):
    member_id = await contested_member(ctx, world, scene)
    await open_dispute(ctx, scene, scene.li, member_id)
    before = await table_counts(ctx)
    with pytest.raises(DomainError) as err:
        await open_dispute(ctx, scene, scene.li, member_id)
    assert err.value.code == "dispute_exists"
    assert await table_counts(ctx) == before


async def test_a_leader_cannot_probe_members_unrelated_to_them(ctx, world, scene):
    stranger = await enter(ctx, await world.user(), scene.wang.code)  # never touched 小李
    before = await table_counts(ctx)
    for member_id in (stranger.member_id, 999_999):
        with pytest.raises(DomainError) as err:
            await open_dispute(ctx, scene, scene.li, member_id)
        assert (err.value.status_code, err.value.code) == (404, "dispute_member_not_found")
    assert await table_counts(ctx) == before


async def test_disputing_ones_own_or_an_unbound_member_is_refused(ctx, world, scene):
    mine = await enter(ctx, await world.user(), scene.li.code)
    with pytest.raises(DomainError) as err:
        await open_dispute(ctx, scene, scene.li, mine.member_id)
    assert (err.value.status_code, err.value.code) == (409, "dispute_own_member")

    await set_policy(ctx, scene, only_new_members=True)
    from linli.members import service as members

    veteran = await world.user()
    async with ctx.db.transaction() as s:
        await members.get_or_create_member(
            session=s, brand_id=scene.brand_id, user_id=veteran.user_id, now=ctx.clock.now()
        )
    refused = await enter(ctx, veteran, scene.li.code)
    with pytest.raises(DomainError) as err:
        await open_dispute(ctx, scene, scene.li, refused.member_id)
    assert err.value.code == "member_not_bound"


async def test_bad_resolutions(ctx, world, scene):
    member_id = await contested_member(ctx, world, scene)
    dispute = await open_dispute(ctx, scene, scene.li, member_id)
    before = await table_counts(ctx)
    for decision, reason, code in [
        ("maybe", "理由", "dispute_decision_invalid"),
        ("upheld", "   ", "reason_required"),
    ]:
        with pytest.raises(DomainError) as err:
            await resolve(ctx, scene, dispute.id, decision, reason=reason)
        assert err.value.code == code
    with pytest.raises(DomainError) as err:
        await resolve(ctx, scene, 999_999, "rejected")
    assert err.value.code == "dispute_not_found"
    assert await table_counts(ctx) == before
    assert (await binding_of(ctx, member_id)).leader_id == scene.wang.leader_id


async def test_upholding_for_a_claimant_who_left_is_refused(ctx, world, scene):
    from linli.leaders import service as leaders

    member_id = await contested_member(ctx, world, scene)
    dispute = await open_dispute(ctx, scene, scene.li, member_id)
    async with ctx.db.transaction() as s:
        await leaders.exit_leader(
            session=s, brand_id=scene.brand_id, leader_id=scene.li.leader_id, reason="退出",
            actor_user_id=scene.owner.user_id, now=ctx.clock.now(),
        )
    with pytest.raises(DomainError) as err:
        await resolve(ctx, scene, dispute.id, "upheld")
    assert err.value.code == "claimant_inactive"
    assert (await resolve(ctx, scene, dispute.id, "rejected")).status == "rejected"
