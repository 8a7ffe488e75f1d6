"""Interest groups: members found by a rule over their purchases (net of refunds), recomputed on schedule and on
a rule change, idempotently; the figures here are computed by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from linli.catalog import service as catalog
from linli.marketing import interests
from linli.marketing.models import InterestMember
from linli.members import service as members
from linli.scheduler import jobs
from tests.factories import Actor, World, make_listing, make_live_session, make_product
from tests.ledger.helpers import refund
from tests.marketing.helpers import buy_listing, error_code, work


@dataclass
class Shop:
    brand: int
    owner: Actor
    community: int
    light_meal: int  # category 轻食
    fruit: int  # category 水果
    salad_listing: int  # 轻食 at ¥30.00
    strawberry_listing: int  # 水果 at ¥70.00
    salad_product: int
    other_owner: Actor


@pytest.fixture
async def shop(world: World) -> Shop:
    brand = await world.brand()
    owner = await world.staff(brand)
    community = await world.community(brand)
    await world.leader(brand, community, approver=owner)
    async with world.ctx.db.transaction() as s:
        light_meal = (await catalog.create_category(session=s, brand_id=brand, name="轻食", now=world.ctx.clock.now())).id
        fruit = (await catalog.create_category(session=s, brand_id=brand, name="水果", now=world.ctx.clock.now())).id
    salad, [salad_sku] = await make_product(world, brand, name="鸡胸肉沙拉", skus=(("一份", 3000, 1000),))
    strawberry, [strawberry_sku] = await make_product(world, brand, name="草莓", skus=(("一盒", 7000, 1000),))
    async with world.ctx.db.transaction() as s:
        await catalog.update_product(session=s, brand_id=brand, product_id=salad, patch=catalog.ProductPatch(category_id=light_meal))
        await catalog.update_product(session=s, brand_id=brand, product_id=strawberry, patch=catalog.ProductPatch(category_id=fruit))
    session_id = await make_live_session(world, brand, start=True)
    other_brand = await world.brand("鲜果坊")
    return Shop(
        brand=brand, owner=owner, community=community, light_meal=light_meal, fruit=fruit,
        salad_listing=await make_listing(world, brand, session_id, salad_sku, live_price_fen=3000),
        strawberry_listing=await make_listing(world, brand, session_id, strawberry_sku, live_price_fen=7000),
        salad_product=salad, other_owner=await world.staff(other_brand),
    )


async def member_of(ctx, user_id: int, brand: int) -> int:  # noqa: ANN001
    async with ctx.db.read() as s:
        return (await members.find_member(session=s, brand_id=brand, user_id=user_id)).id


async def members_in(ctx, group_id: int) -> set[int]:  # noqa: ANN001
    async with ctx.db.read() as s:
        return set(await s.scalars(select(InterestMember.member_id).where(InterestMember.group_id == group_id)))


async def test_the_rule_finds_members_by_their_share_of_spend(client, shop: Shop, world: World, ctx):
    fit, fruity, none = await world.user(name="健身达人"), await world.user(name="果粉"), await world.user(name="路人")
    # 健身达人: 2 salads (¥60) + 1 strawberry (¥70): 60 / 130 = 46% on 轻食.
    await buy_listing(ctx, listing_id=shop.salad_listing, community_id=shop.community, buyer_user_id=fit.user_id, quantity=2)
    await buy_listing(ctx, listing_id=shop.strawberry_listing, community_id=shop.community, buyer_user_id=fit.user_id)
    # 果粉: 1 salad (¥30) + 2 strawberries (¥140): 30 / 170 = 17.6%.
    await buy_listing(ctx, listing_id=shop.salad_listing, community_id=shop.community, buyer_user_id=fruity.user_id)
    await buy_listing(ctx, listing_id=shop.strawberry_listing, community_id=shop.community, buyer_user_id=fruity.user_id, quantity=2)
    response = await client.post(f"/api/v1/brands/{shop.brand}/interest-groups", headers=shop.owner.headers, json={
        "name": "健身轻食组", "category_ids": [shop.light_meal], "min_share_bp": 3000, "window_days": 90})
    assert response.status_code == 201, response.text
    group = response.json()
    assert group["rule_text"] == "近 90 天在「轻食」的消费占比 ≥ 30%，至少 1 单" and group["member_count"] == 0
    await work(ctx)  # a new rule is computed at once by the worker
    fit_member, fruity_member = await member_of(ctx, fit.user_id, shop.brand), await member_of(ctx, fruity.user_id, shop.brand)
    assert await members_in(ctx, group["id"]) == {fit_member}
    assert none.user_id  # never bought: in no group

    # A lower bar (15%) takes 果粉 in too; exactly at the bar counts (17.6% ≥ 17.6% is not tested: 30/170 is inexact).
    changed = await client.put(f"/api/v1/brands/{shop.brand}/interest-groups/{group['id']}", headers=shop.owner.headers, json={
        "name": "健身轻食组", "category_ids": [shop.light_meal], "min_share_bp": 1500})
    assert changed.status_code == 200
    await work(ctx)
    assert await members_in(ctx, group["id"]) == {fit_member, fruity_member}
    listed = await client.get(f"/api/v1/brands/{shop.brand}/interest-groups/{group['id']}/members", headers=shop.owner.headers)
    assert listed.json()["total"] == 2 and {m["phone"][3:7] for m in listed.json()["items"]} == {"****"}


async def test_exactly_at_the_share_counts_and_refunds_lower_the_spend(client, shop: Shop, world: World, ctx):
    buyer = await world.user()
    await buy_listing(ctx, listing_id=shop.salad_listing, community_id=shop.community, buyer_user_id=buyer.user_id)  # ¥30
    fruit_order = await buy_listing(ctx, listing_id=shop.strawberry_listing, community_id=shop.community, buyer_user_id=buyer.user_id)
    await refund(ctx, fruit_order, 4000)  # ¥70 − ¥40 = ¥30 net on fruit: exactly 50% on 轻食
    async with ctx.db.transaction() as s:
        group = await interests.create_group(session=s, brand_id=shop.brand, now=ctx.clock.now(), data=interests.GroupInput(
            name="半数轻食", category_ids=[shop.light_meal], min_share_bp=5000))
    await work(ctx)
    member = await member_of(ctx, buyer.user_id, shop.brand)
    assert await members_in(ctx, group.id) == {member}
    async with ctx.db.transaction() as s:
        await interests.update_group(session=s, brand_id=shop.brand, group_id=group.id, now=ctx.clock.now(), data=interests.GroupInput(
            name="半数轻食", category_ids=[shop.light_meal], min_share_bp=5001))
    await work(ctx)
    assert await members_in(ctx, group.id) == set()


async def test_the_window_moves_and_recomputing_twice_changes_nothing(client, shop: Shop, world: World, ctx):
    buyer = await world.user()
    await buy_listing(ctx, listing_id=shop.salad_listing, community_id=shop.community, buyer_user_id=buyer.user_id)
    async with ctx.db.transaction() as s:
        group = await interests.create_group(session=s, brand_id=shop.brand, now=ctx.clock.now(), data=interests.GroupInput(
            name="轻食", category_ids=[shop.light_meal], window_days=30))
    await work(ctx)
    member = await member_of(ctx, buyer.user_id, shop.brand)
    assert await members_in(ctx, group.id) == {member}
    async with ctx.db.transaction() as s:
        again = await interests.recompute_brand(session=s, brand_id=shop.brand, as_of=ctx.clock.now())
    assert [(r.joined, r.left, r.members) for r in again] == [(0, 0, 1)]
    # 31 days on, the purchase has left the window: the member leaves the group.
    async with ctx.db.transaction() as s:
        later = await interests.recompute_brand(session=s, brand_id=shop.brand, as_of=ctx.clock.now() + timedelta(days=31))
    assert [(r.joined, r.left, r.members) for r in later] == [(0, 1, 0)]
    assert await members_in(ctx, group.id) == set()


async def test_the_daily_job_is_due_at_half_past_three_local(shop: Shop, ctx):
    from datetime import UTC, datetime

    brand = jobs.BrandSchedule(brand_id=shop.brand, timezone="Asia/Shanghai", settle_at=jobs.DEFAULT_SETTLE_AT, created_at=ctx.clock.now())
    # 19:29 UTC is 03:29 in Shanghai: yesterday's period; at 19:30 UTC today's becomes due.
    before = [d for d in jobs.due_now(now=datetime(2026, 12, 1, 19, 29, tzinfo=UTC), brands=[brand]) if d.job == "interest-groups"]
    after = [d for d in jobs.due_now(now=datetime(2026, 12, 1, 19, 30, tzinfo=UTC), brands=[brand]) if d.job == "interest-groups"]
    assert [d.period for d in before] == ["2026-12-01"] and [d.period for d in after] == ["2026-12-02"]
    assert after[0].due_at == datetime(2026, 12, 1, 19, 30, tzinfo=UTC)


async def test_a_bad_rule_is_refused_and_changes_nothing(client, shop: Shop, world: World, ctx):
    url = f"/api/v1/brands/{shop.brand}/interest-groups"
    base = {"name": "健身轻食组", "category_ids": [shop.light_meal]}
    cases = [
        ({**base, "name": " "}, 422, "interest_group_name_invalid"),
        ({"name": "x"}, 422, "interest_focus_invalid"),
        ({**base, "product_ids": [shop.salad_product]}, 422, "interest_focus_invalid"),
        ({**base, "category_ids": [999999]}, 404, "interest_focus_not_found"),
        ({**base, "window_days": 3}, 422, "interest_window_invalid"),
        ({**base, "min_share_bp": 10001}, 422, "interest_share_invalid"),
        ({**base, "min_focus_orders": 0}, 422, "interest_orders_invalid"),
        ({**base, "min_focus_fen": -1}, 422, "interest_spend_invalid"),
    ]
    for body, status, code in cases:
        response = await client.post(url, headers=shop.owner.headers, json=body)
        assert (response.status_code, error_code(response)) == (status, code), body
    assert (await client.get(url, headers=shop.owner.headers)).json()["total"] == 0
    assert (await client.post(url, headers=shop.owner.headers, json=base)).status_code == 201
    taken = await client.post(url, headers=shop.owner.headers, json=base)
    assert (taken.status_code, error_code(taken)) == (409, "interest_group_name_taken")
    # Another brand's category is not this brand's to use.
    elsewhere = await world.brand("别家")
    async with ctx.db.transaction() as s:
        foreign = await catalog.create_category(session=s, brand_id=elsewhere, name="轻食", now=ctx.clock.now())
    theirs = await client.post(url, headers=shop.owner.headers, json={"name": "别家的", "category_ids": [foreign.id]})
    assert (theirs.status_code, error_code(theirs)) == (404, "interest_focus_not_found")


async def test_only_this_brands_staff_call_the_routes(client, shop: Shop, world: World, ctx):
    created = await client.post(f"/api/v1/brands/{shop.brand}/interest-groups", headers=shop.owner.headers, json={
        "name": "健身轻食组", "category_ids": [shop.light_meal]})
    group_id = created.json()["id"]
    member = await world.user()
    base = f"/api/v1/brands/{shop.brand}/interest-groups"
    for method, url in (("GET", base), ("POST", base), ("PUT", f"{base}/{group_id}"), ("POST", f"{base}/{group_id}/archive"),
                        ("POST", f"{base}/{group_id}/recompute"), ("GET", f"{base}/{group_id}/members")):
        body = {"name": "x", "category_ids": [shop.light_meal]}
        assert (await client.request(method, url, json=body)).status_code == 401
        for actor in (member, shop.other_owner):
            assert (await client.request(method, url, json=body, headers=actor.headers)).status_code == 403, url
    archived = await client.post(f"{base}/{group_id}/archive", headers=shop.owner.headers)
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    async with ctx.db.read() as s:
        assert await interests.member_ids_of(session=s, brand_id=shop.brand, group_id=group_id) == []
    other = await client.get(f"/api/v1/brands/{shop.brand}/interest-groups/999999/members", headers=shop.owner.headers)
    assert (other.status_code, error_code(other)) == (404, "interest_group_not_found")


async def test_coupons_and_pushes_reach_the_groups_members_only(client, shop: Shop, world: World, ctx):
    from tests.coupons.setup import coupons_of, make_template

    fit, other = await world.user(name="健身达人"), await world.user(name="果粉")
    await buy_listing(ctx, listing_id=shop.salad_listing, community_id=shop.community, buyer_user_id=fit.user_id)
    await buy_listing(ctx, listing_id=shop.strawberry_listing, community_id=shop.community, buyer_user_id=other.user_id)
    created = await client.post(f"/api/v1/brands/{shop.brand}/interest-groups", headers=shop.owner.headers, json={
        "name": "健身轻食组", "category_ids": [shop.light_meal]})
    group_id = created.json()["id"]
    await work(ctx)
    fit_member, other_member = await member_of(ctx, fit.user_id, shop.brand), await member_of(ctx, other.user_id, shop.brand)
    template_id = await make_template(ctx, shop.brand)

    campaign = await client.post(
        f"/api/v1/brands/{shop.brand}/coupon-campaigns", headers={**shop.owner.headers, "Idempotency-Key": "campaign-0001"},
        json={"template_id": template_id, "name": "轻食周", "audience": "interest_group", "interest_group_id": group_id},
    )
    assert campaign.status_code == 201, campaign.text
    assert campaign.json()["campaign"]["interest_group_id"] == group_id and len(campaign.json()["issued"]) == 1
    assert len(await coupons_of(ctx, fit_member)) == 1 and await coupons_of(ctx, other_member) == []
    missing = await client.post(
        f"/api/v1/brands/{shop.brand}/coupon-campaigns", headers={**shop.owner.headers, "Idempotency-Key": "campaign-0002"},
        json={"template_id": template_id, "name": "轻食周", "audience": "interest_group"},
    )
    assert (missing.status_code, error_code(missing)) == (422, "coupon_campaign_audience_invalid")

    url = f"/api/v1/brands/{shop.brand}/interest-groups/{group_id}/pushes"
    body = {"title": "轻食食谱", "body": "三款十分钟快手沙拉，周末试试", "tag": "value"}
    pushed = await client.post(url, headers={**shop.owner.headers, "Idempotency-Key": "push-000001"}, json=body)
    assert pushed.status_code == 201 and pushed.json()["recipients"] == 1
    again = await client.post(url, headers={**shop.owner.headers, "Idempotency-Key": "push-000001"}, json=body)
    assert again.status_code == 200 and again.json()["created"] is False
    await work(ctx)
    from linli.notifications import service as inbox

    async with ctx.db.read() as s:
        assert [m.title for m in await inbox.messages_for(session=s, user_id=fit.user_id, kind="interest_group")] == ["轻食食谱"]
        assert await inbox.messages_for(session=s, user_id=other.user_id, kind="interest_group") == []
    for actor in (fit, shop.other_owner):
        refused = await client.post(url, headers={**actor.headers, "Idempotency-Key": "push-000002"}, json=body)
        assert refused.status_code == 403
    bad = await client.post(url, headers={**shop.owner.headers, "Idempotency-Key": "push-000003"}, json={**body, "tag": "ads"})
    assert bad.status_code == 422
    await client.post(f"/api/v1/brands/{shop.brand}/interest-groups/{group_id}/archive", headers=shop.owner.headers)
    archived = await client.post(url, headers={**shop.owner.headers, "Idempotency-Key": "push-000004"}, json=body)
    assert (archived.status_code, error_code(archived)) == (409, "interest_group_archived")
