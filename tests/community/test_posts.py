"""UGC posts through the service: the community a post goes to, the states, 70/30 on approval, hiding with a reason
told by inbox, and the featured reward issued exactly once — under a double click and concurrent calls."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from linli.community import posts
from linli.community.models import GroupMessage, Post
from linli.coupons.models import Coupon
from linli.errors import DomainError
from linli.images import check_photo
from linli.notifications import service as notifications
from linli.pagination import PageParams
from linli.worker import run_until_idle
from tests.community.conftest import make_group
from tests.community.ugc_setup import build_ugc_stage, png, post_as
from tests.coupons.setup import make_template
from tests.ledger.helpers import buy

PAGE = PageParams(page=1, page_size=20)


async def refused(ctx, call) -> str:  # noqa: ANN001
    with pytest.raises(DomainError) as caught:
        async with ctx.db.transaction() as s:
            await call(s)
    return caught.value.code


async def post_row(ctx, post_id: int) -> Post:  # noqa: ANN001
    async with ctx.db.read() as s:
        return await s.get(Post, post_id)


async def reward_coupons(ctx, post_id: int) -> list[Coupon]:  # noqa: ANN001
    async with ctx.db.read() as s:
        return list(await s.scalars(select(Coupon).where(Coupon.source_key == f"ugc:post:{post_id}")))


async def inbox(ctx, user_id: int, kind: str) -> list:  # noqa: ANN001
    await run_until_idle(ctx)
    async with ctx.db.read() as s:
        return await notifications.messages_for(session=s, user_id=user_id, kind=kind)


async def test_a_post_goes_to_the_bound_leaders_community_pending_and_value(world, ctx):
    us = await build_ugc_stage(world)
    post = await post_row(ctx, await post_as(ctx, us, us.author, photos=3))
    assert (post.community_id, post.status, post.tag, post.kind) == (us.community_id, "pending", "value", "recipe")
    async with ctx.db.read() as s:
        assert (await posts.feed(session=s, community_id=us.community_id, params=PAGE))[1] == 0  # not before approval


async def test_a_show_off_of_an_own_paid_order_is_commerce_and_foreign_or_unpaid_orders_are_refused(world, ctx):
    us = await build_ugc_stage(world)
    order_id = await buy(ctx, us.cs.stage, us.author)
    post = await post_row(ctx, await post_as(ctx, us, us.author, kind="show", title="草莓到了", order_id=order_id))
    assert (post.order_id, post.tag, post.community_id) == (order_id, "commerce", us.community_id)
    photo = [check_photo(png(), index=0)]

    def make(user_id, order, kind="show"):  # noqa: ANN001, ANN202
        return lambda s: posts.create_post(session=s, storage=ctx.storage, brand_id=us.brand_id, user_id=user_id,
                                           new=posts.NewPost(kind=kind, title="t", body="b", order_id=order),
                                           photos=photo, now=ctx.clock.now())
    assert await refused(ctx, make(us.neighbour.user_id, order_id)) == "order_not_found"  # not theirs
    assert await refused(ctx, make(us.author.user_id, order_id, kind="recipe")) == "post_order_not_allowed"


async def test_a_member_bound_to_nobody_cannot_post_and_bad_input_is_refused_writing_nothing(world, ctx):
    us = await build_ugc_stage(world)
    stranger = await world.user(name="路人")
    photo = [check_photo(png(), index=0)]

    def make(user_id, *, title="草莓", body="好吃", kind="recipe", photos=photo):  # noqa: ANN001, ANN202
        return lambda s: posts.create_post(session=s, storage=ctx.storage, brand_id=us.brand_id, user_id=user_id,
                                           new=posts.NewPost(kind=kind, title=title, body=body), photos=photos,
                                           now=ctx.clock.now())
    assert await refused(ctx, make(stranger.user_id)) == "post_no_community"
    assert await refused(ctx, make(us.author.user_id, title=" ")) == "post_title_invalid"
    assert await refused(ctx, make(us.author.user_id, title="长" * 41)) == "post_title_invalid"
    assert await refused(ctx, make(us.author.user_id, body="长" * 2001)) == "post_body_invalid"
    assert await refused(ctx, make(us.author.user_id, kind="video")) == "post_kind_invalid"
    assert await refused(ctx, make(us.author.user_id, photos=[])) == "post_photos_count"
    assert await refused(ctx, make(us.author.user_id, photos=photo * 7)) == "post_photos_count"
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Post)) == 0


async def test_approve_then_hide_with_a_reason_the_author_reads_in_the_inbox(world, ctx):
    us = await build_ugc_stage(world)
    owner = us.cs.stage.owner.user_id
    first, second = await post_as(ctx, us, us.author, title="第一篇"), await post_as(ctx, us, us.author, title="第二篇")
    async with ctx.db.transaction() as s:
        await posts.approve(session=s, brand_id=us.brand_id, post_id=first, actor_user_id=owner, now=ctx.clock.now())
    ctx.clock.advance(timedelta(minutes=1))
    async with ctx.db.transaction() as s:
        await posts.approve(session=s, brand_id=us.brand_id, post_id=second, actor_user_id=owner, now=ctx.clock.now())
    async with ctx.db.read() as s:
        rows, total = await posts.feed(session=s, community_id=us.community_id, params=PAGE)
    assert [p.title for p in rows] == ["第二篇", "第一篇"] and total == 2  # newest first
    assert await refused(ctx, lambda s: posts.approve(session=s, brand_id=us.brand_id, post_id=first,
                                                      actor_user_id=owner, now=ctx.clock.now())) == "post_not_pending"
    async with ctx.db.transaction() as s:
        await posts.hide(session=s, brand_id=us.brand_id, post_id=first, reason="图片与内容不符", actor_user_id=owner,
                         base_url="https://linli.example", now=ctx.clock.now())
    hidden = await post_row(ctx, first)
    assert (hidden.status, hidden.hide_reason) == ("hidden", "图片与内容不符")
    [message] = await inbox(ctx, us.author.user_id, "ugc_hidden")
    assert "第一篇" in message.title and "图片与内容不符" in message.body
    assert await refused(ctx, lambda s: posts.hide(
        session=s, brand_id=us.brand_id, post_id=first, reason="再次", actor_user_id=owner, base_url="", now=ctx.clock.now()
    )) == "post_already_hidden"
    assert await refused(ctx, lambda s: posts.hide(
        session=s, brand_id=us.brand_id, post_id=second, reason="  ", actor_user_id=owner, base_url="", now=ctx.clock.now()
    )) == "hide_reason_invalid"
    async with ctx.db.read() as s:
        assert [p.title for p in (await posts.feed(session=s, community_id=us.community_id, params=PAGE))[0]] == ["第二篇"]
    assert await refused(ctx, lambda s: posts.approve(session=s, brand_id=us.cs.other_brand_id, post_id=second,
                                                      actor_user_id=owner, now=ctx.clock.now())) == "post_not_found"


async def test_approval_counts_the_post_in_its_group_and_a_commerce_post_over_the_ceiling_waits(world, ctx):
    us = await build_ugc_stage(world)
    group_id = await make_group(ctx, us.cs.stage, commerce_ceiling_bp=0)  # no commerce at all
    owner = us.cs.stage.owner.user_id
    recipe = await post_as(ctx, us, us.author)
    order_id = await buy(ctx, us.cs.stage, us.author)
    show = await post_as(ctx, us, us.author, kind="show", order_id=order_id)
    async with ctx.db.transaction() as s:
        await posts.approve(session=s, brand_id=us.brand_id, post_id=recipe, actor_user_id=owner, now=ctx.clock.now())
    assert await refused(ctx, lambda s: posts.approve(session=s, brand_id=us.brand_id, post_id=show, actor_user_id=owner,
                                                      now=ctx.clock.now())) == "post_commerce_over_ceiling"
    assert (await post_row(ctx, show)).status == "pending"
    async with ctx.db.read() as s:
        tags = list(await s.scalars(select(GroupMessage.tag).where(GroupMessage.group_id == group_id,
                                                                   GroupMessage.source == "post")))
    assert tags == ["value"]


async def test_featuring_issues_the_reward_once_and_tells_the_author(world, ctx):
    us = await build_ugc_stage(world)
    owner = us.cs.stage.owner.user_id
    post_id = await post_as(ctx, us, us.author)

    def feature(s):  # noqa: ANN001, ANN202
        return posts.feature(session=s, brand_id=us.brand_id, post_id=post_id, actor_user_id=owner,
                             base_url="https://linli.example", now=ctx.clock.now())
    assert await refused(ctx, feature) == "post_not_approved"  # pending
    async with ctx.db.transaction() as s:
        await posts.approve(session=s, brand_id=us.brand_id, post_id=post_id, actor_user_id=owner, now=ctx.clock.now())
    async with ctx.db.transaction() as s:
        first = await feature(s)
    async with ctx.db.transaction() as s:
        again = await feature(s)  # a double click
    assert (first.changed, again.changed) == (True, False)
    [coupon] = await reward_coupons(ctx, post_id)
    assert (coupon.template_id, coupon.source, coupon.member_id, coupon.status) == (
        us.template_id, "ugc", first.post.member_id, "available")
    assert (await post_row(ctx, post_id)).reward_coupon_id == coupon.id
    [message] = await inbox(ctx, us.author.user_id, "ugc_featured")
    assert "精选" in message.title


async def test_concurrent_features_issue_one_coupon(world, ctx):
    us = await build_ugc_stage(world)
    owner = us.cs.stage.owner.user_id
    post_id = await post_as(ctx, us, us.author)
    async with ctx.db.transaction() as s:
        await posts.approve(session=s, brand_id=us.brand_id, post_id=post_id, actor_user_id=owner, now=ctx.clock.now())

    async def feature() -> bool:
        async with ctx.db.transaction() as s:
            done = await posts.feature(session=s, brand_id=us.brand_id, post_id=post_id, actor_user_id=owner,
                                       base_url="", now=ctx.clock.now())
            await asyncio.sleep(0.05)  # hold the transaction open while the others ask
            return done.changed
    outcomes = await asyncio.gather(*(feature() for _ in range(4)))
    assert sorted(outcomes) == [False, False, False, True]
    assert len(await reward_coupons(ctx, post_id)) == 1


async def test_featuring_without_a_reward_or_with_the_quota_spent_is_refused_and_changes_nothing(world, ctx):
    us = await build_ugc_stage(world)
    owner = us.cs.stage.owner.user_id
    post_id = await post_as(ctx, us, us.author)
    async with ctx.db.transaction() as s:
        await posts.approve(session=s, brand_id=us.brand_id, post_id=post_id, actor_user_id=owner, now=ctx.clock.now())
        await posts.set_reward_template(session=s, brand_id=us.brand_id, template_id=None, now=ctx.clock.now())

    def feature(s):  # noqa: ANN001, ANN202
        return posts.feature(session=s, brand_id=us.brand_id, post_id=post_id, actor_user_id=owner, base_url="",
                             now=ctx.clock.now())
    assert await refused(ctx, feature) == "ugc_reward_not_configured"
    spent = await make_template(ctx, us.brand_id, name="已发完", issue_quota=1)
    async with ctx.db.transaction() as s:
        await posts.set_reward_template(session=s, brand_id=us.brand_id, template_id=spent, now=ctx.clock.now())
    other = await post_as(ctx, us, us.neighbour)
    async with ctx.db.transaction() as s:
        await posts.approve(session=s, brand_id=us.brand_id, post_id=other, actor_user_id=owner, now=ctx.clock.now())
        await posts.feature(session=s, brand_id=us.brand_id, post_id=other, actor_user_id=owner, base_url="",
                            now=ctx.clock.now())
    assert await refused(ctx, feature) == "coupon_quota_exhausted"
    row = await post_row(ctx, post_id)
    assert (row.featured_at, row.reward_coupon_id) == (None, None)
    assert await reward_coupons(ctx, post_id) == []
    assert await refused(ctx, lambda s: posts.set_reward_template(
        session=s, brand_id=us.brand_id, template_id=10**9, now=ctx.clock.now())) == "coupon_template_not_found"


async def test_the_value_share_per_community_over_the_last_30_days(world, ctx):
    us = await build_ugc_stage(world)
    owner = us.cs.stage.owner.user_id
    order_id = await buy(ctx, us.cs.stage, us.author)
    old = await post_as(ctx, us, us.author, title="旧的")
    ids = [await post_as(ctx, us, us.author), await post_as(ctx, us, us.neighbour),
           await post_as(ctx, us, us.author, kind="show", order_id=order_id)]
    far = await post_as(ctx, us, us.far)
    async with ctx.db.transaction() as s:
        await posts.approve(session=s, brand_id=us.brand_id, post_id=old, actor_user_id=owner, now=ctx.clock.now())
    ctx.clock.advance(timedelta(days=31))
    async with ctx.db.transaction() as s:
        for post_id in [*ids, far]:
            await posts.approve(session=s, brand_id=us.brand_id, post_id=post_id, actor_user_id=owner,
                                now=ctx.clock.now())
        shares = await posts.value_shares(session=s, brand_id=us.brand_id, now=ctx.clock.now())
    by_name = {s.community_name: (s.value_posts, s.approved_posts, s.share_bp) for s in shares}
    assert by_name == {"云顶华府": (2, 3, 6666), "翠湖花园": (1, 1, 10_000)}  # the old one is outside the 30 days
