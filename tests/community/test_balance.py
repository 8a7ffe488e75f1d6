"""The 70/30 guideline kept by the system: a commerce push that would take the group's last N messages over the
ceiling is held (exactly at the ceiling it goes), value always goes, a held push is released when the share allows
it (and refused while it does not) or discarded; two pushes at once are judged one after the other."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from linli.community import balance, group_pushes
from linli.community.models import GroupMessage
from linli.errors import Conflict, NotFound
from linli.notifications.models import Push
from tests.community.conftest import make_group
from tests.notifications.conftest import deliver


async def push(ctx, stage, group_id: int, tag: str, key: str):  # noqa: ANN001, ANN201
    async with ctx.db.transaction() as s:
        return await group_pushes.enqueue_for_group(
            session=s, brand_id=stage.brand_id, group_id=group_id, title=f"{tag} {key}", body="云顶华府的邻居们好",
            tag=tag, kind="group_post", dedupe_key=key, now=ctx.clock.now(), base_url=ctx.settings.public_base_url,
        )


async def states(ctx, enqueued) -> set[str]:  # noqa: ANN001
    async with ctx.db.read() as s:
        return set(await s.scalars(select(Push.state).where(Push.content_id == enqueued.content.id)))


async def test_exactly_at_the_ceiling_goes_and_over_it_is_held_with_the_share(ctx, stage, robot):
    group_id = await make_group(ctx, stage, webhook_url=robot.url("group"))  # 30% of the last 10, the defaults
    for i in range(7):
        assert not (await push(ctx, stage, group_id, "value", f"v{i}")).held
    for i in range(3):  # 1/8, 2/9, then 3/10 = 30%: at the ceiling, not over it
        assert not (await push(ctx, stage, group_id, "commerce", f"c{i}")).held
    over = await push(ctx, stage, group_id, "commerce", "c3")  # 4 of the last 10: 40%
    assert over.held and over.content.held_share_bp == 4000
    assert over.content.hold_note == "最近 10 条消息中商业内容将占 40%，超过上限 30%"
    await deliver(ctx)
    assert await states(ctx, over) == {"held"}
    assert sorted(r.payload["text"]["content"].split("\n")[0] for r in robot.of("group")) == sorted(
        [f"value v{i}" for i in range(7)] + [f"commerce c{i}" for i in range(3)]
    )  # the held one was not sent
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(GroupMessage)) == 10  # held: not counted


async def test_a_held_push_is_released_once_the_share_allows_it(ctx, stage, robot, world):
    group_id = await make_group(ctx, stage, webhook_url=robot.url("group"))
    for key in [f"v{i}" for i in range(7)]:
        await push(ctx, stage, group_id, "value", key)
    for key in ("c0", "c1", "c2"):
        await push(ctx, stage, group_id, "commerce", key)
    held = await push(ctx, stage, group_id, "commerce", "c3")
    push_id = held.pushes[0].id
    for i in range(7):  # c0 leaves the last 9 only after 7 more value messages
        async with ctx.db.transaction() as s:
            with pytest.raises(Conflict) as refused:
                await group_pushes.release(session=s, brand_id=stage.brand_id, push_id=push_id,
                                           actor_user_id=stage.owner.user_id, now=ctx.clock.now())
        assert refused.value.code == "push_still_over_ceiling" and "超过上限 30%" in refused.value.message
        await push(ctx, stage, group_id, "value", f"later{i}")
    assert await states(ctx, held) == {"held"}
    other_brand_staff = await world.staff(await world.brand(name="别家", slug="other-brand"))
    async with ctx.db.transaction() as s:
        with pytest.raises(NotFound):  # another brand's push, as if it did not exist
            await group_pushes.release(session=s, brand_id=stage.brand_id + 1, push_id=push_id,
                                       actor_user_id=other_brand_staff.user_id, now=ctx.clock.now())
    async with ctx.db.transaction() as s:
        released = await group_pushes.release(session=s, brand_id=stage.brand_id, push_id=push_id,
                                              actor_user_id=stage.owner.user_id, now=ctx.clock.now())
    assert (released.content_id, released.changed) == (held.content.id, 1)
    async with ctx.db.transaction() as s:
        with pytest.raises(Conflict) as twice:
            await group_pushes.release(session=s, brand_id=stage.brand_id, push_id=push_id,
                                       actor_user_id=stage.owner.user_id, now=ctx.clock.now())
    assert twice.value.code == "push_not_held"
    await deliver(ctx)
    assert await states(ctx, held) == {"sent"}
    async with ctx.db.read() as s:
        share = await balance.current_share(session=s, group=await balance.lock_group(session=s, group_id=group_id))
    assert (share.commerce, share.counted) == (3, 10)  # c1, c2 and the released c3 among the last 10


async def test_value_always_goes_and_a_new_group_begins_with_value(ctx, stage):
    group_id = await make_group(ctx, stage, commerce_ceiling_bp=0)  # no robot: the inbox of invited members
    first = await push(ctx, stage, group_id, "commerce", "c0")
    assert first.held and first.content.held_share_bp == 10_000  # 1 of 1
    assert not (await push(ctx, stage, group_id, "value", "v0")).held


async def test_a_discarded_push_is_never_sent(ctx, stage, robot):
    group_id = await make_group(ctx, stage, webhook_url=robot.url("group"))
    held = await push(ctx, stage, group_id, "commerce", "c0")
    async with ctx.db.transaction() as s:
        discarded = await group_pushes.discard(session=s, brand_id=stage.brand_id, push_id=held.pushes[0].id,
                                               actor_user_id=stage.owner.user_id, now=ctx.clock.now())
    assert discarded.changed == 1
    await deliver(ctx)
    assert await states(ctx, held) == {"discarded"} and robot.of("group") == []


async def test_two_commerce_pushes_at_once_are_judged_one_after_the_other(ctx, stage, robot):
    group_id = await make_group(ctx, stage, webhook_url=robot.url("group"))
    for i in range(7):
        await push(ctx, stage, group_id, "value", f"v{i}")
    for i in range(2):
        await push(ctx, stage, group_id, "commerce", f"c{i}")
    racing = await asyncio.gather(*(push(ctx, stage, group_id, "commerce", f"race{i}") for i in range(2)))
    assert sorted(e.held for e in racing) == [False, True]  # room for one: 3/10 goes, 4/10 is held


async def test_a_post_is_admitted_through_the_same_rule_once(ctx, stage):
    group_id = await make_group(ctx, stage)
    async with ctx.db.transaction() as s:
        first = await balance.admit(session=s, group_id=group_id, tag="value", source="post", source_id=41, now=ctx.clock.now())
        again = await balance.admit(session=s, group_id=group_id, tag="value", source="post", source_id=41, now=ctx.clock.now())
        sale = await balance.admit(session=s, group_id=group_id, tag="commerce", source="post", source_id=42, now=ctx.clock.now())
    assert first.admitted and again.admitted and not sale.admitted and sale.share.share_bp == 5000
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(GroupMessage)) == 1
