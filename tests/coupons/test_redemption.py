"""Redemption at placement: the order keeps its total and stores the discount and what the member pays; every
refusal is a clear 4xx that changes nothing (no stock taken, the coupon untouched); payment, commission,
claims and the dashboards' GMV are on the paid amount."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from linli.aftersales import service as aftersales
from linli.coupons.models import CouponRedemption
from linli.dashboards.models import PaidOrder
from linli.dashboards.rebuild import rebuild_rollups, rollups_agree
from linli.ledger.audit import run_audit
from linli.ledger.models import CommissionLine
from linli.orders import service as orders
from linli.orders.models import Order
from linli.worker import run_until_idle
from tests.coupons.setup import (
    build_coupon_stage,
    coupon_row,
    days,
    give,
    make_template,
    member_id_of,
    neighbour_with_coupon,
    order,
)
from tests.live.helpers import error_code
from tests.orders.setup import assert_invariants, bound_member, counters


async def pay(client, actor, order_id: int) -> None:
    """Pays through the simulator as the app does: the payment asks what the order says is payable."""
    started = await client.post(f"/api/v1/orders/{order_id}/payments", json={}, headers=actor.headers)
    assert started.status_code in (200, 201), started.text
    done = await client.post(f"/api/v1/payments/simulator/{started.json()['out_trade_no']}/complete",
                             json={"outcome": "success"})
    assert done.status_code == 200, done.text


async def order_row(ctx, order_id: int) -> Order:
    async with ctx.db.read() as s:
        return await s.get(Order, order_id)


async def redemptions(ctx) -> list[tuple[int, int, int, str | None]]:
    async with ctx.db.read() as s:
        rows = await s.scalars(select(CouponRedemption).order_by(CouponRedemption.id))
        return [(r.coupon_id, r.order_id, r.discount_fen, r.release_reason) for r in rows]


async def test_the_order_keeps_its_total_and_pays_total_minus_discount(client, world, ctx):
    cs = await build_coupon_stage(world)
    buyer, coupon_id = await neighbour_with_coupon(world, cs)
    key = {**buyer.headers, "Idempotency-Key": uuid.uuid4().hex}
    body = {"offer_id": cs.stage.offer_id, "quantity": 1, "coupon_id": coupon_id}
    placed = await client.post("/api/v1/orders", json=body, headers=key)
    assert placed.status_code == 201, placed.text
    got = placed.json()
    assert (got["total_fen"], got["discount_fen"], got["payable_fen"], got["coupon_id"]) == (6800, 1000, 5800, coupon_id)
    assert (await coupon_row(ctx, coupon_id)).status == "used"
    assert await redemptions(ctx) == [(coupon_id, got["id"], 1000, None)]
    replay = await client.post("/api/v1/orders", json=body, headers=key)
    assert replay.status_code == 200 and replay.json()["id"] == got["id"]
    reused = await client.post("/api/v1/orders", json={**body, "coupon_id": None}, headers=key)
    assert (reused.status_code, error_code(reused)) == (409, "idempotency_key_reused")

    await pay(client, buyer, got["id"])
    await run_until_idle(ctx)
    paid = await order_row(ctx, got["id"])
    assert paid.status == "paid"
    async with ctx.db.read() as s:
        line = await s.scalar(select(CommissionLine).where(CommissionLine.order_id == got["id"]))
        gmv = await s.get(PaidOrder, got["id"])
    assert line.paid_fen == 5800 and line.commission_fen == 870  # 15% of what was paid, not of 68.00
    assert gmv.paid_fen == 5800
    async with ctx.db.read() as s:
        assert await aftersales.claimable_fen(session=s, order=paid) == 5800
        assert await rollups_agree(session=s) == {}  # the rebuild from the raw orders counts what was paid too
        assert (await run_audit(session=s, now=ctx.clock.now())).ok  # the line's base is the order's payable
    async with ctx.db.transaction() as s:
        await rebuild_rollups(session=s)
    async with ctx.db.read() as s:
        assert (await s.get(PaidOrder, got["id"])).paid_fen == 5800


async def test_a_percentage_is_capped_and_rounded_down(client, world, ctx):
    cs = await build_coupon_stage(world)
    buyer, capped = await neighbour_with_coupon(world, cs, name="9折券", kind="percent", amount_fen=None,
                                                 percent_off_bp=1000, cap_fen=500, threshold_fen=0)
    placed = await order(client, buyer, listing_id=cs.stage.listing_id, quantity=2, coupon_id=capped)
    assert (placed.json()["total_fen"], placed.json()["discount_fen"], placed.json()["payable_fen"]) == (17600, 500, 17100)
    template = await make_template(ctx, cs.brand_id, name="95折", kind="percent", amount_fen=None, percent_off_bp=500,
                                   cap_fen=10_000, threshold_fen=0)
    odd = await give(ctx, cs.brand_id, template, buyer)
    placed = await order(client, buyer, listing_id=cs.other_listing_id, quantity=1, coupon_id=odd)
    assert (placed.json()["total_fen"], placed.json()["discount_fen"]) == (4990, 249)  # 249.5 rounds down


async def test_a_fixed_coupon_never_makes_an_order_free(client, world, ctx):
    cs = await build_coupon_stage(world, live_price_fen=300)
    buyer, coupon_id = await neighbour_with_coupon(world, cs, name="立减5元", amount_fen=500, threshold_fen=0)
    placed = await order(client, buyer, listing_id=cs.stage.listing_id, coupon_id=coupon_id)
    assert (placed.json()["total_fen"], placed.json()["discount_fen"], placed.json()["payable_fen"]) == (300, 299, 1)


async def _snapshot(ctx, world, cs, coupon_id):
    c = await counters(world, cs.stage)
    coupon = await coupon_row(ctx, coupon_id)
    async with ctx.db.read() as s:
        placed = len((await s.scalars(select(Order))).all())
    return c, coupon.status, placed, await redemptions(ctx)


REFUSALS = ["expired", "not_yet_valid", "foreign_member", "other_brand", "missing", "used", "product_scope",
            "category_scope", "session_scope", "community_scope", "threshold", "offer_limit"]


@pytest.mark.parametrize("case", REFUSALS)
async def test_each_bad_coupon_is_refused_and_changes_nothing(client, world, ctx, case):
    cs = await build_coupon_stage(world)
    buyer = await bound_member(world, cs.stage.leader)
    target = {"offer_id": cs.stage.offer_id, "quantity": 1}
    template = {}
    expected = None
    if case == "expired":
        template = {"valid_days": None, "valid_from": ctx.clock.now(), "valid_until": ctx.clock.now() + timedelta(minutes=5)}
    elif case == "not_yet_valid":
        template = {"valid_days": None, "valid_from": ctx.clock.now() + days(1), "valid_until": ctx.clock.now() + days(2)}
    elif case == "product_scope":
        template = {"scope": "product", "scope_id": cs.other_product_id}
    elif case == "category_scope":
        template, target = {"scope": "category", "scope_id": cs.category_id}, {"listing_id": cs.other_listing_id}
    elif case == "session_scope":
        from tests.factories import make_live_session
        other_session = await make_live_session(world, cs.brand_id, title="下周专场")
        template = {"scope": "session", "scope_id": other_session}
    elif case == "community_scope":
        template = {"scope": "community", "scope_id": cs.stage.other_leader.community_id}
    elif case == "threshold":
        template = {"threshold_fen": 10_000}
    elif case == "offer_limit":
        target = {"offer_id": cs.stage.offer_id, "quantity": 2}
        first = await order(client, buyer, **target)  # the offer's limit of 2 is now used up
        assert first.status_code == 201
        expected = (409, "per_member_limit")
    owner = buyer
    if case == "foreign_member":
        owner = await bound_member(world, cs.stage.leader)
    template_id = await make_template(ctx, cs.other_brand_id if case == "other_brand" else cs.brand_id, **template)
    coupon_id = await give(ctx, cs.other_brand_id if case == "other_brand" else cs.brand_id, template_id, owner)
    if case == "used":
        assert (await order(client, buyer, listing_id=cs.stage.listing_id, coupon_id=coupon_id)).status_code == 201
    if case == "expired":
        ctx.clock.advance(timedelta(minutes=5))  # its window ends: valid while now < valid_until
    if case == "missing":
        coupon_id += 1000
    before = await _snapshot(ctx, world, cs, coupon_id if case != "missing" else coupon_id - 1000)
    refused = await order(client, buyer, **target, coupon_id=coupon_id)
    codes = {
        "expired": (409, "coupon_expired"), "not_yet_valid": (409, "coupon_not_yet_valid"),
        "foreign_member": (404, "coupon_not_found"), "other_brand": (404, "coupon_not_found"),
        "missing": (404, "coupon_not_found"), "used": (409, "coupon_already_used"),
        "product_scope": (422, "coupon_scope_mismatch"), "category_scope": (422, "coupon_scope_mismatch"),
        "session_scope": (422, "coupon_scope_mismatch"), "community_scope": (422, "coupon_scope_mismatch"),
        "threshold": (422, "coupon_threshold_not_met"),
    }
    assert (refused.status_code, error_code(refused)) == (expected or codes[case]), refused.text
    assert refused.json()["error"]["message"]
    assert await _snapshot(ctx, world, cs, coupon_id if case != "missing" else coupon_id - 1000) == before
    await assert_invariants(world, cs.stage, initial_stock=1000, quota=100, allocation=500)


@pytest.mark.parametrize("scope", ["category", "product", "session", "community"])
async def test_a_coupon_in_scope_is_taken(client, world, ctx, scope):
    cs = await build_coupon_stage(world)
    scope_id = {"category": cs.category_id, "product": cs.product_id, "session": cs.stage.session_id,
                "community": cs.stage.community_id}[scope]
    buyer, coupon_id = await neighbour_with_coupon(world, cs, scope=scope, scope_id=scope_id)
    placed = await order(client, buyer, offer_id=cs.stage.offer_id, coupon_id=coupon_id)
    assert placed.status_code == 201, placed.text
    assert placed.json()["payable_fen"] == 5800


async def test_a_stopped_template_stops_issuing_but_its_coupons_stay_usable(client, world, ctx):
    cs = await build_coupon_stage(world)
    buyer, coupon_id = await neighbour_with_coupon(world, cs)
    template_id = (await coupon_row(ctx, coupon_id)).template_id
    stopped = await client.post(f"/api/v1/brands/{cs.brand_id}/coupon-templates/{template_id}/disable",
                                headers=cs.stage.owner.headers)
    assert stopped.status_code == 200
    assert (await order(client, buyer, offer_id=cs.stage.offer_id, coupon_id=coupon_id)).status_code == 201


# --- release ---------------------------------------------------------------------------------


async def test_a_cancelled_order_gives_the_coupon_back_for_the_next_order(client, world, ctx):
    cs = await build_coupon_stage(world)
    buyer, coupon_id = await neighbour_with_coupon(world, cs)
    first = (await order(client, buyer, offer_id=cs.stage.offer_id, coupon_id=coupon_id)).json()
    cancelled = await client.post(f"/api/v1/orders/{first['id']}/cancel", headers=buyer.headers)
    assert cancelled.status_code == 200
    assert (await coupon_row(ctx, coupon_id)).status == "available"
    assert await redemptions(ctx) == [(coupon_id, first["id"], 1000, "cancelled")]
    second = await order(client, buyer, listing_id=cs.stage.listing_id, coupon_id=coupon_id)
    assert second.status_code == 201 and second.json()["discount_fen"] == 1000
    assert (await coupon_row(ctx, coupon_id)).status == "used"


async def test_an_expired_order_gives_it_back_and_a_coupon_past_its_window_shows_expired(client, world, ctx):
    cs = await build_coupon_stage(world)
    buyer, coupon_id = await neighbour_with_coupon(world, cs)
    short_lived = await make_template(ctx, cs.brand_id, name="限时券", valid_days=None, valid_from=ctx.clock.now(),
                                      valid_until=ctx.clock.now() + timedelta(minutes=5))
    brief = await give(ctx, cs.brand_id, short_lived, buyer)
    first = (await order(client, buyer, offer_id=cs.stage.offer_id, coupon_id=coupon_id)).json()
    second = (await order(client, buyer, listing_id=cs.stage.listing_id, coupon_id=brief)).json()
    ctx.clock.advance(timedelta(minutes=11))
    async with ctx.db.transaction() as s:
        assert await orders.expire_due_orders(session=s, now=ctx.clock.now()) == 2
    async with ctx.db.transaction() as s:  # expiring again finds nothing, releases nothing
        assert await orders.expire_due_orders(session=s, now=ctx.clock.now()) == 0
    assert (await coupon_row(ctx, coupon_id)).status == "available"
    assert [r[3] for r in await redemptions(ctx)] == ["expired", "expired"]
    mine = await client.get(f"/api/v1/brands/{cs.brand_id}/coupons/mine", headers=buyer.headers)
    statuses = {c["id"]: c["status"] for c in mine.json()["items"]}
    assert statuses == {coupon_id: "available", brief: "expired"}
    refused = await order(client, buyer, listing_id=cs.stage.listing_id, coupon_id=brief)
    assert error_code(refused) == "coupon_expired"
    assert second["id"] != first["id"]


async def test_a_full_refund_gives_it_back_and_a_partial_one_keeps_it_used(client, world, ctx):
    cs = await build_coupon_stage(world)
    buyer, coupon_id = await neighbour_with_coupon(world, cs)
    _, kept_coupon = await neighbour_with_coupon(world, cs)
    refunded = (await order(client, buyer, offer_id=cs.stage.offer_id, coupon_id=coupon_id)).json()
    await pay(client, buyer, refunded["id"])
    await run_until_idle(ctx)
    answer = await client.post(f"/api/v1/brands/{cs.brand_id}/orders/{refunded['id']}/refund", json={"reason": "缺货"},
                               headers={**cs.stage.owner.headers, "Idempotency-Key": uuid.uuid4().hex})
    assert answer.status_code in (200, 201), answer.text
    await run_until_idle(ctx)
    assert (await order_row(ctx, refunded["id"])).status == "refunded"
    assert (await coupon_row(ctx, coupon_id)).status == "available"
    async with ctx.db.read() as s:
        line = await s.scalar(select(CommissionLine).where(CommissionLine.order_id == refunded["id"]))
        from linli.payments.models import Refund
        money_back = (await s.scalars(select(Refund.amount_fen).where(Refund.order_id == refunded["id"]))).all()
    assert money_back == [5800]  # what was paid, not the total
    assert line.refunded_fen == 5800 and line.clawed_back_fen == line.commission_fen

    # A partial refund (a claim's) leaves the order paid and its coupon used.
    from tests.ledger.helpers import refund
    holder = await bound_member(world, cs.stage.leader)
    template = (await coupon_row(ctx, kept_coupon)).template_id
    partial_coupon = await give(ctx, cs.brand_id, template, holder)
    partial = (await order(client, holder, offer_id=cs.stage.offer_id, coupon_id=partial_coupon)).json()
    await pay(client, holder, partial["id"])
    await run_until_idle(ctx)
    await refund(ctx, partial["id"], 2000)
    assert (await order_row(ctx, partial["id"])).status == "paid"
    assert (await coupon_row(ctx, partial_coupon)).status == "used"


async def test_a_late_payment_takes_the_coupon_again_unless_another_order_has_it(client, world, ctx):
    cs = await build_coupon_stage(world)
    buyer, coupon_id = await neighbour_with_coupon(world, cs)
    late = (await order(client, buyer, offer_id=cs.stage.offer_id, coupon_id=coupon_id)).json()
    started = await client.post(f"/api/v1/orders/{late['id']}/payments", json={}, headers=buyer.headers)
    assert started.json()["amount_fen"] == 5800
    ctx.clock.advance(timedelta(minutes=11))
    async with ctx.db.transaction() as s:
        await orders.expire_due_orders(session=s, now=ctx.clock.now())
    assert (await coupon_row(ctx, coupon_id)).status == "available"
    async with ctx.db.transaction() as s:
        applied = await orders.apply_payment(session=s, order_id=late["id"], amount_fen=5800, now=ctx.clock.now())
    assert applied.outcome == "paid_late"
    assert (await coupon_row(ctx, coupon_id)).status == "used"
    assert await redemptions(ctx) == [(coupon_id, late["id"], 1000, None)]

    # Another neighbour's order expires, its coupon goes to a new order, then the late payment comes: refunded.
    other, other_coupon = await neighbour_with_coupon(world, cs)
    lost = (await order(client, other, offer_id=cs.stage.offer_id, coupon_id=other_coupon)).json()
    ctx.clock.advance(timedelta(minutes=11))
    async with ctx.db.transaction() as s:
        await orders.expire_due_orders(session=s, now=ctx.clock.now())
    taken = await order(client, other, listing_id=cs.stage.listing_id, coupon_id=other_coupon)
    assert taken.status_code == 201
    before = await counters(world, cs.stage)
    async with ctx.db.transaction() as s:
        applied = await orders.apply_payment(session=s, order_id=lost["id"], amount_fen=5800, now=ctx.clock.now())
    assert applied.outcome == "refund_required"
    assert await counters(world, cs.stage) == before  # the units it re-took went back with the savepoint
    assert (await order_row(ctx, lost["id"])).status == "expired"
    async with ctx.db.read() as s:
        holder = await s.scalar(select(CouponRedemption.order_id).where(CouponRedemption.coupon_id == other_coupon,
                                                                       CouponRedemption.released_at.is_(None)))
    assert holder == taken.json()["id"]


async def test_a_payment_for_the_total_instead_of_the_payable_amount_is_not_accepted(world, ctx, client):
    cs = await build_coupon_stage(world)
    buyer, coupon_id = await neighbour_with_coupon(world, cs)
    placed = (await order(client, buyer, offer_id=cs.stage.offer_id, coupon_id=coupon_id)).json()
    async with ctx.db.transaction() as s:
        applied = await orders.apply_payment(session=s, order_id=placed["id"], amount_fen=6800, now=ctx.clock.now())
    assert applied.outcome == "refund_required" and applied.order.status == "pending_payment"


async def test_the_same_member_in_another_brand_cannot_use_this_brands_coupon(client, world, ctx):
    """A member's coupon belongs to the brand it was issued in: used on another brand's listing it is unknown."""
    cs = await build_coupon_stage(world)
    buyer, coupon_id = await neighbour_with_coupon(world, cs)
    from tests.orders.setup import build_stage
    elsewhere = await build_stage(world)
    refused = await order(client, buyer, listing_id=elsewhere.listing_id, coupon_id=coupon_id,
                          pickup_community_id=elsewhere.community_id)
    assert (refused.status_code, error_code(refused)) == (404, "coupon_not_found")
    assert (await coupon_row(ctx, coupon_id)).status == "available"
    assert await member_id_of(ctx, cs.brand_id, buyer)
