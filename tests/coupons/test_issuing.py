"""Issuing: `issue_coupon` (idempotent per template, member and source key), the per-member limit and the quota
(guarded, also under concurrency), by hand, by the welcome rule on `member.bound`, and by campaign."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from linli.coupons import handlers, issuing
from linli.coupons import service as coupons
from linli.coupons.models import Coupon, CouponAllowance, CouponTemplate
from linli.errors import DomainError
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry
from linli.worker import run_until_idle
from tests.coupons.setup import build_coupon_stage, coupons_of, days, give, make_template, member_id_of
from tests.factories import make_bound_member
from tests.live.helpers import error_code
from tests.orders.setup import bound_member


async def issue(ctx, brand_id, template_id, member_id, key="k-1", source="manual"):
    async with ctx.db.transaction() as s:
        return await coupons.issue_coupon(
            session=s, brand_id=brand_id, template_id=template_id, member_id=member_id, source=source, source_key=key,
            now=ctx.clock.now(),
        )


async def refused(ctx, *args, **kwargs) -> str:
    try:
        await issue(ctx, *args, **kwargs)
    except DomainError as exc:
        return exc.code
    raise AssertionError("issued")


async def counters(ctx, template_id) -> tuple[int, list[tuple[int, int]], int]:
    async with ctx.db.read() as s:
        template = await s.get(CouponTemplate, template_id)
        allowances = [(a.member_id, a.issued) for a in await s.scalars(
            select(CouponAllowance).where(CouponAllowance.template_id == template_id).order_by(CouponAllowance.member_id)
        )]
        count = len((await s.scalars(select(Coupon).where(Coupon.template_id == template_id))).all())
    return template.issued_count, allowances, count


async def test_the_same_source_key_issues_once_and_the_limit_holds(world, ctx):
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id, per_member_limit=2, valid_days=7)
    member = await member_id_of(ctx, cs.brand_id, await bound_member(world, cs.stage.leader))
    first = await issue(ctx, cs.brand_id, template_id, member, key="birthday:2026")
    again = await issue(ctx, cs.brand_id, template_id, member, key="birthday:2026")
    assert first.created and not again.created and again.coupon.id == first.coupon.id
    assert first.coupon.valid_until - first.coupon.valid_from == days(7)
    assert first.coupon.valid_from == ctx.clock.now() and first.coupon.status == "available"
    second = await issue(ctx, cs.brand_id, template_id, member, key="holiday:spring", source="care")
    assert second.created
    assert await refused(ctx, cs.brand_id, template_id, member, key="ugc:post-9", source="ugc") == "coupon_member_limit_reached"
    assert await counters(ctx, template_id) == (2, [(member, 2)], 2)  # the refusal moved no counter


async def test_the_quota_is_shared_by_all_members_and_a_refusal_changes_nothing(world, ctx):
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id, issue_quota=2)
    members = [await member_id_of(ctx, cs.brand_id, await bound_member(world, cs.stage.leader)) for _ in range(3)]
    await issue(ctx, cs.brand_id, template_id, members[0])
    await issue(ctx, cs.brand_id, template_id, members[1])
    assert await refused(ctx, cs.brand_id, template_id, members[2]) == "coupon_quota_exhausted"
    issued, allowances, count = await counters(ctx, template_id)
    assert (issued, count) == (2, 2) and [m for m, _ in allowances] == sorted(members[:2])


async def test_what_cannot_be_issued_is_refused_with_its_code(world, ctx):
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id)
    member = await member_id_of(ctx, cs.brand_id, await bound_member(world, cs.stage.leader))
    foreigner = await member_id_of(ctx, cs.other_brand_id, await world.user())
    assert await refused(ctx, cs.brand_id, template_id, foreigner) == "member_not_found"
    assert await refused(ctx, cs.brand_id, template_id, member, source="gift") == "coupon_source_invalid"
    assert await refused(ctx, cs.brand_id, template_id, member, key=" ") == "coupon_source_key_invalid"
    assert await refused(ctx, cs.other_brand_id, template_id, member) == "coupon_template_not_found"
    window = await make_template(ctx, cs.brand_id, valid_days=None, valid_from=ctx.clock.now() + days(1),
                                 valid_until=ctx.clock.now() + days(3))
    early = await issue(ctx, cs.brand_id, window, member)  # issued before its window opens: usable from then
    assert (early.coupon.valid_from, early.coupon.valid_until) == (ctx.clock.now() + days(1), ctx.clock.now() + days(3))
    ctx.clock.advance(days(3))
    assert await refused(ctx, cs.brand_id, window, member, key="late") == "coupon_template_ended"
    async with ctx.db.transaction() as s:
        await issuing.templates.disable_template(session=s, brand_id=cs.brand_id, template_id=template_id, now=ctx.clock.now())
    assert await refused(ctx, cs.brand_id, template_id, member) == "coupon_template_disabled"
    assert await counters(ctx, template_id) == (0, [], 0)


async def test_concurrent_issues_never_pass_the_limit_or_the_quota(world, ctx):
    cs = await build_coupon_stage(world)
    limited = await make_template(ctx, cs.brand_id, per_member_limit=1)
    scarce = await make_template(ctx, cs.brand_id, issue_quota=3)
    member = await member_id_of(ctx, cs.brand_id, await bound_member(world, cs.stage.leader))
    crowd = [await member_id_of(ctx, cs.brand_id, await bound_member(world, cs.stage.leader)) for _ in range(8)]

    async def attempt(template_id, member_id, key):
        try:
            return (await issue(ctx, cs.brand_id, template_id, member_id, key=key)).created
        except DomainError as exc:
            return exc.code

    same_member = await asyncio.gather(*(attempt(limited, member, f"k-{i}") for i in range(8)))
    assert same_member.count(True) == 1
    assert set(same_member) - {True} == {"coupon_member_limit_reached"}
    same_key = await asyncio.gather(*(attempt(scarce, member, "one-key") for _ in range(6)))
    assert same_key.count(True) == 1 and set(same_key) == {True, False}  # the others got the same coupon back
    many = await asyncio.gather(*(attempt(scarce, m, "campaign:1") for m in crowd))
    assert many.count(True) == 2 and set(many) - {True} == {"coupon_quota_exhausted"}
    assert (await counters(ctx, limited))[0::2] == (1, 1)
    assert (await counters(ctx, scarce))[0::2] == (3, 3)


# --- by hand ---------------------------------------------------------------------------------


def issue_url(brand_id: int, template_id: int) -> str:
    return f"/api/v1/brands/{brand_id}/coupon-templates/{template_id}/issue"


async def test_staff_issue_by_hand_once_per_key_and_say_who_was_skipped(client, world, ctx):
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id)
    neighbour = await make_bound_member(world, cs.stage.leader, name="张姐")
    other = await bound_member(world, cs.stage.leader)
    other_id = await member_id_of(ctx, cs.brand_id, other)
    await give(ctx, cs.brand_id, template_id, other)  # already holds the one allowed
    foreigner = await member_id_of(ctx, cs.other_brand_id, await world.user())
    headers = {**cs.stage.owner.headers, "Idempotency-Key": "hand-issue-0001"}
    body = {"phones": [neighbour.phone, "13912345678", "12"], "member_ids": [other_id, foreigner]}
    first = await client.post(issue_url(cs.brand_id, template_id), json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert [c["member_id"] for c in first.json()["issued"]] == [await member_id_of(ctx, cs.brand_id, neighbour)]
    skipped = {(s["member_id"], s["phone"], s["code"]) for s in first.json()["skipped"]}
    assert skipped == {
        (None, "13912345678", "member_not_found"), (None, "12", "phone_invalid"), (foreigner, None, "member_not_found"),
        (other_id, None, "coupon_member_limit_reached"),
    }
    again = await client.post(issue_url(cs.brand_id, template_id), json=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["issued"] == [] and again.json()["already"] == first.json()["issued"]
    none = await client.post(issue_url(cs.brand_id, template_id), json={}, headers=headers)
    assert (none.status_code, error_code(none)) == (422, "coupon_recipients_required")
    for outsider in (neighbour, cs.stage.leader.actor, cs.other_brand_owner):
        denied = await client.post(issue_url(cs.brand_id, template_id), json=body,
                                   headers={**outsider.headers, "Idempotency-Key": uuid.uuid4().hex})
        assert (denied.status_code, error_code(denied)) == (403, "staff_only")
    assert len(await coupons_of(ctx, await member_id_of(ctx, cs.brand_id, neighbour))) == 1


# --- by rule ---------------------------------------------------------------------------------


async def test_a_newly_bound_neighbour_gets_the_welcome_coupon_once(client, world, ctx):
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id, name="新邻居立减5元", amount_fen=500, threshold_fen=0, issue_quota=2)
    rule = await client.post(f"/api/v1/brands/{cs.brand_id}/coupon-rules",
                             json={"trigger": "member_bound", "template_id": template_id}, headers=cs.stage.owner.headers)
    assert rule.status_code == 201, rule.text
    twice = await client.post(f"/api/v1/brands/{cs.brand_id}/coupon-rules",
                              json={"trigger": "member_bound", "template_id": template_id}, headers=cs.stage.owner.headers)
    assert (twice.status_code, error_code(twice)) == (409, "coupon_rule_exists")
    await run_until_idle(ctx)  # the stage's own bindings, before the rule's first newcomer

    newcomer = await bound_member(world, cs.stage.leader)
    await run_until_idle(ctx)
    member = await member_id_of(ctx, cs.brand_id, newcomer)
    welcome = await coupons_of(ctx, member)
    assert [(c.template_id, c.source, c.source_key) for c in welcome] == [(template_id, "rule", f"rule:{rule.json()['id']}")]
    # The event delivered again (a worker that died before marking it) issues nothing more.
    async with ctx.db.read() as s:
        event = await s.scalar(select(OutboxEvent).where(OutboxEvent.topic == "member.bound").order_by(OutboxEvent.id.desc()))
    registry = HandlerRegistry()
    handlers.register(registry, ctx)
    async with ctx.db.transaction() as s:
        for handler in registry.for_topic("member.bound"):
            await handler(session=s, event=event, now=ctx.clock.now())
    assert len(await coupons_of(ctx, member)) == 1

    # The quota runs out: the next newcomer gets none and the event is still done (never retried forever).
    second, third = await bound_member(world, cs.stage.leader), await bound_member(world, cs.stage.leader)
    await run_until_idle(ctx)
    assert len(await coupons_of(ctx, await member_id_of(ctx, cs.brand_id, second))) == 1
    assert await coupons_of(ctx, await member_id_of(ctx, cs.brand_id, third)) == []
    async with ctx.db.read() as s:
        waiting = await s.scalar(select(OutboxEvent.id).where(OutboxEvent.processed_at.is_(None)))
    assert waiting is None

    disabled = await client.post(f"/api/v1/brands/{cs.brand_id}/coupon-rules/{rule.json()['id']}/disable",
                                 headers=cs.stage.owner.headers)
    assert disabled.json()["status"] == "disabled"
    listed = await client.get(f"/api/v1/brands/{cs.brand_id}/coupon-rules", headers=cs.stage.owner.headers)
    assert [r["status"] for r in listed.json()["items"]] == ["disabled"]


# --- by campaign -----------------------------------------------------------------------------


async def test_a_community_campaign_reaches_each_neighbour_once_however_often_it_runs(client, world, ctx):
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id, name="开团福利", per_member_limit=3)
    li = [await bound_member(world, cs.stage.leader) for _ in range(3)]
    wang = await bound_member(world, cs.stage.other_leader)
    headers = {**cs.stage.owner.headers, "Idempotency-Key": "campaign-yunding-1"}
    body = {"template_id": template_id, "name": "云顶华府开团福利", "audience": "community",
            "community_id": cs.stage.community_id}
    first = await client.post(f"/api/v1/brands/{cs.brand_id}/coupon-campaigns", json=body, headers=headers)
    assert first.status_code == 201, first.text
    reached = {c["member_id"] for c in first.json()["issued"]}
    assert reached == {await member_id_of(ctx, cs.brand_id, m) for m in li}
    assert await coupons_of(ctx, await member_id_of(ctx, cs.brand_id, wang)) == []
    replay = await client.post(f"/api/v1/brands/{cs.brand_id}/coupon-campaigns", json=body, headers=headers)
    assert replay.status_code == 200 and replay.json()["campaign"]["id"] == first.json()["campaign"]["id"]
    assert replay.json()["issued"] == []

    newcomer = await bound_member(world, cs.stage.leader)
    campaign_id = first.json()["campaign"]["id"]
    rerun = await client.post(f"/api/v1/brands/{cs.brand_id}/coupon-campaigns/{campaign_id}/run", headers=cs.stage.owner.headers)
    assert rerun.status_code == 200
    assert [c["member_id"] for c in rerun.json()["issued"]] == [await member_id_of(ctx, cs.brand_id, newcomer)]
    assert rerun.json()["campaign"]["issued"] == 4
    for member in li:  # the per-member limit (3) would allow more: the campaign itself gives one each
        assert len(await coupons_of(ctx, await member_id_of(ctx, cs.brand_id, member))) == 1

    listed = await client.get(f"/api/v1/brands/{cs.brand_id}/coupon-campaigns", headers=cs.stage.owner.headers)
    assert [c["issued"] for c in listed.json()["items"]] == [4]
    other = await client.post(f"/api/v1/brands/{cs.other_brand_id}/coupon-campaigns/{campaign_id}/run",
                              headers=cs.other_brand_owner.headers)
    assert (other.status_code, error_code(other)) == (404, "coupon_campaign_not_found")


@pytest.mark.parametrize(("change", "code"), [
    ({"audience": "community", "community_id": None}, "coupon_campaign_audience_invalid"),
    ({"name": " "}, "coupon_campaign_name_invalid"),
    ({"audience": "members"}, "coupon_recipients_required"),
])
async def test_a_bad_campaign_is_refused_and_creates_nothing(client, world, ctx, change, code):
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id)
    body = {"template_id": template_id, "name": "福利", "audience": "community", "community_id": cs.stage.community_id,
            **change}
    answer = await client.post(f"/api/v1/brands/{cs.brand_id}/coupon-campaigns", json=body,
                               headers={**cs.stage.owner.headers, "Idempotency-Key": uuid.uuid4().hex})
    assert (answer.status_code, error_code(answer)) == (422, code)
    listed = await client.get(f"/api/v1/brands/{cs.brand_id}/coupon-campaigns", headers=cs.stage.owner.headers)
    assert listed.json()["total"] == 0


async def test_a_list_campaign_names_members_by_phone(client, world, ctx):
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id, valid_days=None, valid_from=datetime(2026, 11, 1, tzinfo=UTC),
                                      valid_until=datetime(2026, 12, 31, 16, tzinfo=UTC))
    chosen = await make_bound_member(world, cs.stage.other_leader, name="刘姐")
    answer = await client.post(
        f"/api/v1/brands/{cs.brand_id}/coupon-campaigns",
        json={"template_id": template_id, "name": "老客回馈", "audience": "members", "phones": [chosen.phone]},
        headers={**cs.stage.owner.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 201, answer.text
    (coupon,) = await coupons_of(ctx, await member_id_of(ctx, cs.brand_id, chosen))
    assert coupon.source == "campaign" and coupon.valid_until == datetime(2026, 12, 31, 16, tzinfo=UTC)
