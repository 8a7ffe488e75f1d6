"""A member is invited into their community's group after their first paid order, once: not on a second order,
not on a redelivered event, not twice when two orders are paid at once; one who paid before the group could be
joined is invited when its join link is set."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import func, select

from linli.community import invites
from linli.community import service as community
from linli.community.models import GroupInvite
from linli.notifications import robots
from linli.notifications import service as notifications
from linli.worker import run_until_idle
from tests.community.conftest import JOIN_URL, make_group
from tests.factories import make_bound_member
from tests.ledger.helpers import buy


async def invitations(ctx, user_id: int) -> list:  # noqa: ANN001
    async with ctx.db.read() as s:
        return await notifications.messages_for(session=s, user_id=user_id, kind=invites.INVITE_KIND)


async def invite_rows(ctx) -> int:  # noqa: ANN001
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(GroupInvite)))


async def test_the_first_paid_order_invites_once_and_the_second_invites_nobody(ctx, stage, world):
    group_id = await make_group(ctx, stage, join_url=JOIN_URL)
    buyer = await make_bound_member(world, stage.leader, name="黄阿姨")
    first_order = await buy(ctx, stage, buyer)
    [message] = await invitations(ctx, buyer.user_id)
    assert message.title == "邀请您加入「云顶华府·优邻优选品质生活圈」"
    assert (message.link, message.order_id, message.brand_id) == ("/me/groups", first_order, stage.brand_id)
    assert "云顶华府" in message.body
    await buy(ctx, stage, buyer)  # a second paid order
    async with ctx.db.transaction() as s:  # and the first order's event delivered again
        assert await invites.invite_after_payment(session=s, order_id=first_order, now=ctx.clock.now()) is None
    assert len(await invitations(ctx, buyer.user_id)) == 1 and await invite_rows(ctx) == 1
    async with ctx.db.read() as s:
        [(invite, group)] = await invites.invitations_of(session=s, user_id=buyer.user_id)
    assert (group.id, invite.order_id) == (group_id, first_order)


async def test_two_orders_paid_at_once_invite_once(ctx, stage, world):
    await make_group(ctx, stage, join_url=JOIN_URL)
    buyer = await make_bound_member(world, stage.leader)
    orders = [await buy(ctx, stage, buyer, work=False) for _ in range(2)]

    async def handle(order_id: int) -> None:
        async with ctx.db.transaction() as s:
            await invites.invite_after_payment(session=s, order_id=order_id, now=ctx.clock.now())

    await asyncio.gather(*(handle(o) for o in orders))  # two workers, one order.paid each
    await run_until_idle(ctx)  # and the worker's own delivery of both events after
    assert len(await invitations(ctx, buyer.user_id)) == 1 and await invite_rows(ctx) == 1


async def test_who_paid_before_the_group_could_be_joined_is_invited_when_its_link_is_set(ctx, stage, world):
    early = await make_bound_member(world, stage.leader, name="早鸟")
    await buy(ctx, stage, early)
    await buy(ctx, stage, early)
    elsewhere = await world.user(name="翠湖的邻居")  # paid for pickup at 翠湖花园: not this group's
    await buy(ctx, dataclasses.replace(stage, community_id=stage.other_leader.community_id), elsewhere, offer=False)
    assert await invite_rows(ctx) == 0
    group_id = await make_group(ctx, stage)  # a group without a join link yet: still nobody
    await run_until_idle(ctx)
    assert await invite_rows(ctx) == 0
    async with ctx.db.transaction() as s:
        await community.update_group(
            session=s, brand_id=stage.brand_id, group_id=group_id, patch=community.GroupPatch(join_url=JOIN_URL),
            policy=robots.WebhookPolicy.of(ctx.settings), now=ctx.clock.now(),
        )
    await run_until_idle(ctx)
    assert len(await invitations(ctx, early.user_id)) == 1 and await invitations(ctx, elsewhere.user_id) == []
    late = await make_bound_member(world, stage.leader, name="后来的邻居")
    await buy(ctx, stage, late)
    await buy(ctx, stage, early, offer=False)  # a third order (the offer's limit is 2)
    assert len(await invitations(ctx, late.user_id)) == 1 and len(await invitations(ctx, early.user_id)) == 1
    async with ctx.db.transaction() as s:  # the link changed, removed and set again: nobody twice
        for url in ("", JOIN_URL + "x"):
            await community.update_group(
                session=s, brand_id=stage.brand_id, group_id=group_id, patch=community.GroupPatch(join_url=url),
                policy=robots.WebhookPolicy.of(ctx.settings), now=ctx.clock.now(),
            )
    await run_until_idle(ctx)
    assert await invite_rows(ctx) == 2


async def test_the_leader_setting_the_join_link_makes_the_group_with_its_default_name(ctx, stage):
    async with ctx.db.transaction() as s:
        from linli.leaders import service as leaders

        leader = await leaders.get_leader(session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id)
        group = await community.set_join_url_as_leader(session=s, leader=leader, join_url=JOIN_URL,
                                                       allow_loopback=False, now=ctx.clock.now())
    assert (group.name, group.join_url, group.ready_at) == ("云顶华府·优邻优选品质生活圈", JOIN_URL, ctx.clock.now())
