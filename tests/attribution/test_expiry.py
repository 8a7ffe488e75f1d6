"""Validity expiry: lazy detection, renewal by purchase, the expire job and active counts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from linli.attribution import service as attribution
from linli.attribution.models import AttributionEvent
from tests.attribution.conftest import binding_of, enter, events_of, set_policy


async def renew(ctx, member_id):
    async with ctx.db.transaction() as s:
        return await attribution.renew_on_purchase(session=s, member_id=member_id, now=ctx.clock.now())


async def expire(ctx, brand_id=None):
    async with ctx.db.transaction() as s:
        return await attribution.expire_bindings(session=s, now=ctx.clock.now(), brand_id=brand_id)


async def notes_of(ctx, member_id):
    async with ctx.db.read() as s:
        rows = await s.scalars(
            select(AttributionEvent.note).where(AttributionEvent.member_id == member_id).order_by(AttributionEvent.id)
        )
        return list(rows)


async def counts(ctx, scene):
    async with ctx.db.read() as s:
        return await attribution.count_active_bindings(
            session=s, leader_ids={scene.li.leader_id, scene.wang.leader_id}, now=ctx.clock.now()
        )


async def test_purchase_renews_a_validity_binding(ctx, world, scene):
    await set_policy(ctx, scene, mode="validity", validity_days=30)
    member = await world.user()
    bound = await enter(ctx, member, scene.li.code)
    ctx.clock.advance(timedelta(days=20))
    renewed = await renew(ctx, bound.member_id)
    assert renewed is not None and renewed.leader_id == scene.li.leader_id
    assert renewed.expires_at == ctx.clock.now() + timedelta(days=30)

    # The trail's note gives the new end in the brand's time (Asia/Shanghai), as people read it.
    assert await notes_of(ctx, bound.member_id) == [None, "有效期至 2027年1月9日 10:00"]

    ctx.clock.advance(timedelta(days=25))  # 45 days after binding, still inside the renewed validity
    assert (await enter(ctx, member, scene.wang.code)).reason == "already_bound"
    assert await events_of(ctx, bound.member_id) == [
        ("bound", "first_entry"), ("renewed", "purchase"), ("refused", "already_bound"),
    ]


async def test_renewal_never_shortens_and_permanent_bindings_record_nothing(ctx, world, scene):
    member = await world.user()
    permanent = await enter(ctx, member, scene.li.code)
    assert (await renew(ctx, permanent.member_id)).expires_at is None
    assert await events_of(ctx, permanent.member_id) == [("bound", "first_entry")]

    await set_policy(ctx, scene, mode="validity", validity_days=90)
    other = await world.user()
    long = await enter(ctx, other, scene.li.code)
    await set_policy(ctx, scene, mode="validity", validity_days=10)
    assert (await renew(ctx, long.member_id)).expires_at == long.binding.expires_at
    assert await events_of(ctx, long.member_id) == [("bound", "first_entry")]


async def test_purchase_after_expiry_does_not_revive_the_binding(ctx, world, scene):
    await set_policy(ctx, scene, mode="validity", validity_days=7)
    member = await world.user()
    bound = await enter(ctx, member, scene.li.code)
    ctx.clock.advance(timedelta(days=7))
    assert await renew(ctx, bound.member_id) is None
    assert (await binding_of(ctx, bound.member_id)).status == "expired"
    assert await events_of(ctx, bound.member_id) == [("bound", "first_entry"), ("expired", "validity_ended")]
    assert await renew(ctx, 999_999) is None  # never bound: nothing to renew


async def test_expire_job_is_idempotent_and_agrees_with_lazy_detection(ctx, world, scene):
    await set_policy(ctx, scene, mode="validity", validity_days=7)
    outcomes = [await enter(ctx, await world.user(), scene.li.code) for _ in range(3)]
    ctx.clock.advance(timedelta(days=3))
    late = await enter(ctx, await world.user(), scene.wang.code)
    assert await counts(ctx, scene) == {scene.li.leader_id: 3, scene.wang.leader_id: 1}

    ctx.clock.advance(timedelta(days=4))  # the first three are due, the fourth is not
    assert await counts(ctx, scene) == {scene.li.leader_id: 0, scene.wang.leader_id: 1}  # before the job runs
    assert await expire(ctx) == 3
    assert await expire(ctx) == 0
    for outcome in outcomes:
        binding = await binding_of(ctx, outcome.member_id)
        assert binding.status == "expired"
        assert await events_of(ctx, outcome.member_id) == [("bound", "first_entry"), ("expired", "validity_ended")]
    assert (await binding_of(ctx, late.member_id)).status == "active"
    assert await counts(ctx, scene) == {scene.li.leader_id: 0, scene.wang.leader_id: 1}


async def test_expire_job_can_be_limited_to_one_brand(ctx, world, scene):
    await set_policy(ctx, scene, mode="validity", validity_days=1)
    await enter(ctx, await world.user(), scene.li.code)
    ctx.clock.advance(timedelta(days=2))
    assert await expire(ctx, brand_id=scene.brand_id + 1000) == 0
    assert await expire(ctx, brand_id=scene.brand_id) == 1


async def test_expired_event_is_dated_at_the_expiry(ctx, world, scene):
    from sqlalchemy import select

    from linli.attribution.models import AttributionEvent

    await set_policy(ctx, scene, mode="validity", validity_days=2)
    bound = await enter(ctx, await world.user(), scene.li.code)
    ctx.clock.advance(timedelta(days=9))
    await expire(ctx)
    async with ctx.db.read() as s:
        event = await s.scalar(select(AttributionEvent).where(AttributionEvent.kind == "expired"))
    assert event.occurred_at == bound.binding.expires_at
    assert (event.leader_id, event.previous_leader_id) == (None, scene.li.leader_id)


async def test_count_active_bindings_of_no_leaders(ctx):
    async with ctx.db.read() as s:
        assert await attribution.count_active_bindings(session=s, leader_ids=set(), now=ctx.clock.now()) == {}
