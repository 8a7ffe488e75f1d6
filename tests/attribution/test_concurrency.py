"""Two first entries of one member through two different codes, at the same time, bind exactly once."""

from __future__ import annotations

import asyncio

from linli.attribution import service as attribution
from linli.members import service as members
from tests.attribution.conftest import binding_of, enter, events_of

ROUNDS = 5


async def _assert_bound_once(ctx, scene, member_id: int, results: list[str]) -> None:
    assert sorted(results) == ["bound", "refused"]
    events = await events_of(ctx, member_id)
    assert events.count(("bound", "first_entry")) == 1
    assert events.count(("refused", "already_bound")) == 1
    assert len(events) == 2
    binding = await binding_of(ctx, member_id)
    assert binding is not None and binding.leader_id in (scene.li.leader_id, scene.wang.leader_id)


async def test_concurrent_first_entries_of_a_new_user_bind_once(ctx, world, scene):
    for _ in range(ROUNDS):
        user = await world.user()
        a, b = await asyncio.gather(enter(ctx, user, scene.li.code), enter(ctx, user, scene.wang.code))
        assert a.member_id == b.member_id
        assert sorted([a.member_created, b.member_created]) == [False, True]  # one membership, too
        await _assert_bound_once(ctx, scene, a.member_id, [a.result, b.result])


async def test_concurrent_first_entries_of_an_existing_member_bind_once(ctx, world, scene):
    # The member exists already, so both transactions get past the member insert and race for the binding.
    for _ in range(ROUNDS):
        user = await world.user()
        async with ctx.db.transaction() as s:
            member, _ = await members.get_or_create_member(
                session=s, brand_id=scene.brand_id, user_id=user.user_id, now=ctx.clock.now()
            )
        a, b = await asyncio.gather(enter(ctx, user, scene.wang.code), enter(ctx, user, scene.li.code))
        await _assert_bound_once(ctx, scene, member.id, [a.result, b.result])


async def test_concurrent_first_entries_over_http_bind_once(ctx, world, scene, client):
    for _ in range(ROUNDS):
        user = await world.user()
        responses = await asyncio.gather(
            client.post("/api/v1/entries", json={"invite_code": scene.li.code}, headers=user.headers),
            client.post("/api/v1/entries", json={"invite_code": scene.wang.code}, headers=user.headers),
        )
        assert [r.status_code for r in responses] == [200, 200]
        bodies = [r.json() for r in responses]
        assert bodies[0]["member_id"] == bodies[1]["member_id"]
        # Both answers name the same, single leader.
        assert bodies[0]["binding"]["leader"]["id"] == bodies[1]["binding"]["leader"]["id"]
        await _assert_bound_once(ctx, scene, bodies[0]["member_id"], [b["result"] for b in bodies])


async def test_the_unique_constraint_catches_a_binding_the_check_missed(ctx, world, scene, monkeypatch):
    """Simulates losing the race deterministically: the locked read misses the other entry's binding once."""
    user = await world.user()
    first = await enter(ctx, user, scene.li.code)
    real_lock = attribution._lock_binding
    calls = []

    async def blind_first_read(session, member_id):
        calls.append(member_id)
        return None if len(calls) == 1 else await real_lock(session, member_id)

    monkeypatch.setattr(attribution, "_lock_binding", blind_first_read)
    second = await enter(ctx, user, scene.wang.code)
    assert (second.result, second.reason) == ("refused", "already_bound")
    assert len(calls) == 2
    assert await events_of(ctx, first.member_id) == [("bound", "first_entry"), ("refused", "already_bound")]
