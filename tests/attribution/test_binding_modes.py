"""Entering through invite codes under each binding mode, protection, only-new-members and self-binding."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli.errors import Conflict
from tests.attribution.conftest import binding_of, enter, events_of, set_policy, table_counts


async def test_first_entry_binds_and_later_entries_do_not_move_the_member(ctx, world, scene):
    member = await world.user()
    first = await enter(ctx, member, scene.li.code)
    assert (first.result, first.reason, first.member_created) == ("bound", "first_entry", True)
    assert first.binding is not None and first.binding.leader_id == scene.li.leader_id

    again = await enter(ctx, member, scene.li.code.lower())  # codes are case-insensitive
    assert (again.result, again.reason) == ("already_yours", "same_leader")

    other = await enter(ctx, member, scene.wang.code)
    assert (other.result, other.reason) == ("refused", "already_bound")
    assert other.binding is not None and other.binding.leader_id == scene.li.leader_id

    ctx.clock.advance(timedelta(days=3650))  # permanent means permanent
    assert (await enter(ctx, member, scene.wang.code)).reason == "already_bound"
    binding = await binding_of(ctx, first.member_id)
    assert binding.leader_id == scene.li.leader_id and binding.expires_at is None
    assert await events_of(ctx, first.member_id) == [
        ("bound", "first_entry"), ("refused", "already_bound"), ("refused", "already_bound"),
    ]


async def test_refused_entry_names_both_leaders_in_the_trail(ctx, world, scene):
    from sqlalchemy import select

    from linli.attribution.models import AttributionEvent

    member = await world.user()
    await enter(ctx, member, scene.li.code)
    outcome = await enter(ctx, member, scene.wang.code)
    async with ctx.db.read() as s:
        refused = await s.scalar(
            select(AttributionEvent).where(
                AttributionEvent.member_id == outcome.member_id, AttributionEvent.kind == "refused"
            )
        )
    assert refused.leader_id == scene.wang.leader_id
    assert refused.previous_leader_id == scene.li.leader_id
    assert refused.invite_code == scene.wang.code
    assert refused.actor_user_id == member.user_id


async def test_validity_mode_binding_expires_and_entries_do_not_renew(ctx, world, scene):
    await set_policy(ctx, scene, mode="validity", validity_days=30)
    member = await world.user()
    bound = await enter(ctx, member, scene.li.code)
    assert bound.binding.expires_at == ctx.clock.now() + timedelta(days=30)

    ctx.clock.advance(timedelta(days=10))
    assert (await enter(ctx, member, scene.li.code)).result == "already_yours"
    assert (await binding_of(ctx, bound.member_id)).expires_at == bound.binding.expires_at  # no renewal by entry
    assert (await enter(ctx, member, scene.wang.code)).reason == "already_bound"

    ctx.clock.advance(timedelta(days=20))  # exactly at expires_at: the binding has ended
    taken = await enter(ctx, member, scene.wang.code)
    assert (taken.result, taken.reason) == ("bound", "after_expiry")
    assert taken.binding.leader_id == scene.wang.leader_id
    assert await events_of(ctx, bound.member_id) == [
        ("bound", "first_entry"),
        ("refused", "already_bound"),
        ("expired", "validity_ended"),
        ("bound", "after_expiry"),
    ]


async def test_same_leader_rebinds_after_expiry(ctx, world, scene):
    await set_policy(ctx, scene, mode="validity", validity_days=7)
    member = await world.user()
    first = await enter(ctx, member, scene.li.code)
    ctx.clock.advance(timedelta(days=8))
    again = await enter(ctx, member, scene.li.code)
    assert (again.result, again.reason) == ("bound", "after_expiry")
    assert again.binding.expires_at == ctx.clock.now() + timedelta(days=7)
    assert await events_of(ctx, first.member_id) == [
        ("bound", "first_entry"), ("expired", "validity_ended"), ("bound", "after_expiry"),
    ]


async def test_last_touch_rebinds_to_the_latest_code(ctx, world, scene):
    await set_policy(ctx, scene, mode="last_touch")
    member = await world.user()
    first = await enter(ctx, member, scene.li.code)
    moved = await enter(ctx, member, scene.wang.code)
    assert (moved.result, moved.reason) == ("rebound", "last_touch")
    assert moved.binding.leader_id == scene.wang.leader_id
    back = await enter(ctx, member, scene.li.code)
    assert back.result == "rebound" and back.binding.leader_id == scene.li.leader_id
    assert await events_of(ctx, first.member_id) == [
        ("bound", "first_entry"), ("rebound", "last_touch"), ("rebound", "last_touch"),
    ]


async def test_protection_period_holds_the_member_then_lets_go(ctx, world, scene):
    await set_policy(ctx, scene, mode="last_touch", protection_days=7)
    member = await world.user()
    first = await enter(ctx, member, scene.li.code)
    assert first.binding.protected_until == ctx.clock.now() + timedelta(days=7)

    ctx.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    held = await enter(ctx, member, scene.wang.code)
    assert (held.result, held.reason) == ("refused", "protected")
    assert held.binding.leader_id == scene.li.leader_id

    ctx.clock.advance(timedelta(seconds=1))
    moved = await enter(ctx, member, scene.wang.code)
    assert (moved.result, moved.reason) == ("rebound", "last_touch")
    # The new binding is protected in its turn.
    assert moved.binding.protected_until == ctx.clock.now() + timedelta(days=7)
    assert (await enter(ctx, member, scene.li.code)).reason == "protected"


async def test_protection_outlasting_validity_still_keeps_other_leaders_out(ctx, world, scene):
    await set_policy(ctx, scene, mode="validity", validity_days=3, protection_days=10)
    member = await world.user()
    first = await enter(ctx, member, scene.li.code)
    ctx.clock.advance(timedelta(days=5))
    refused = await enter(ctx, member, scene.wang.code)
    assert (refused.result, refused.reason, refused.binding) == ("refused", "protected", None)
    # The original leader may bind again; after the protection anybody may.
    assert (await enter(ctx, member, scene.li.code)).reason == "after_expiry"
    assert await events_of(ctx, first.member_id) == [
        ("bound", "first_entry"), ("expired", "validity_ended"), ("refused", "protected"), ("bound", "after_expiry"),
    ]


async def test_policy_change_applies_to_future_entries_only(ctx, world, scene):
    member = await world.user()
    old = await enter(ctx, member, scene.li.code)
    await set_policy(ctx, scene, mode="validity", validity_days=5)
    assert (await binding_of(ctx, old.member_id)).expires_at is None
    newcomer = await world.user()
    new = await enter(ctx, newcomer, scene.li.code)
    assert new.binding.expires_at == ctx.clock.now() + timedelta(days=5)


async def test_only_new_members(ctx, world, scene):
    await set_policy(ctx, scene, only_new_members=True)
    newcomer = await world.user()
    assert (await enter(ctx, newcomer, scene.li.code)).result == "bound"

    # Somebody who already came to the brand without a code (e.g. straight into a live room) is not new.
    from linli.members import service as members

    veteran = await world.user()
    async with ctx.db.transaction() as s:
        await members.get_or_create_member(
            session=s, brand_id=scene.brand_id, user_id=veteran.user_id, now=ctx.clock.now()
        )
    refused = await enter(ctx, veteran, scene.li.code)
    assert (refused.result, refused.reason, refused.member_created, refused.binding) == (
        "refused", "not_new_member", False, None,
    )
    assert await events_of(ctx, refused.member_id) == [("refused", "not_new_member")]
    assert await binding_of(ctx, refused.member_id) is None


async def test_only_new_members_does_not_rebind_after_expiry(ctx, world, scene):
    await set_policy(ctx, scene, mode="validity", validity_days=3, only_new_members=True)
    member = await world.user()
    first = await enter(ctx, member, scene.li.code)
    ctx.clock.advance(timedelta(days=4))
    again = await enter(ctx, member, scene.li.code)
    assert (again.result, again.reason) == ("refused", "not_new_member")
    assert (await binding_of(ctx, first.member_id)).status == "expired"


async def test_self_binding_is_refused_and_changes_nothing(ctx, world, scene):
    before = await table_counts(ctx)
    with pytest.raises(Conflict) as err:
        await enter(ctx, scene.li.actor, scene.li.code)
    assert err.value.code == "self_binding"
    assert await table_counts(ctx) == before


async def test_a_leader_may_be_bound_to_another_leader_as_a_customer(ctx, scene):
    outcome = await enter(ctx, scene.wang.actor, scene.li.code)
    assert outcome.result == "bound" and outcome.member_id == scene.wang.member_id
