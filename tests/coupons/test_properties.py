"""Hypothesis: the discount arithmetic's invariants, and random place / cancel / expire / pay sequences with
coupons keep every coupon held by at most one live order (and used exactly when one holds it)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from linli.coupons.models import Coupon, CouponRedemption
from linli.coupons.terms import Terms, discount_fen, meets_threshold
from linli.errors import DomainError
from linli.orders import service as orders
from linli.orders.models import Order
from tests.coupons.setup import build_coupon_stage, give, make_template
from tests.orders.setup import assert_invariants, bound_member

MAX = 100_000_000 * 99  # the largest order: the highest price × the most units


@st.composite
def coupon_terms(draw: st.DrawFn) -> Terms:
    if draw(st.booleans()):
        return Terms("fixed", draw(st.integers(1, 100_000_000)), None, None, 0, "all", None)
    return Terms("percent", None, draw(st.integers(1, 9999)), draw(st.integers(1, 100_000_000)), 0, "all", None)


@given(terms=coupon_terms(), total=st.integers(1, MAX))
def test_payable_plus_discount_is_the_total_and_the_member_pays_at_least_a_fen(terms, total):
    discount = discount_fen(terms, total)
    payable = total - discount
    assert payable + discount == total
    assert 0 <= discount and payable >= 1
    if terms.kind == "fixed":
        assert discount <= terms.amount_fen
        assert discount == min(terms.amount_fen, total - 1)
    else:
        assert discount <= terms.cap_fen
        assert discount * 10_000 <= total * terms.percent_off_bp  # never more than the percentage
        if discount < min(terms.cap_fen, total - 1):  # not capped: the percentage rounded down, to the fen
            assert (discount + 1) * 10_000 > total * terms.percent_off_bp


@given(threshold=st.integers(0, MAX), total=st.integers(1, MAX))
def test_the_threshold_is_met_from_the_total_before_the_discount(threshold, total):
    terms = Terms("fixed", 1, None, None, threshold, "all", None)
    assert meets_threshold(terms, total) == (total >= threshold)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("place_offer"), st.integers(0, 2), st.integers(0, 2)),
        st.tuples(st.just("place_listing"), st.integers(0, 2), st.integers(0, 2)),
        st.tuples(st.just("pay"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("refund"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("wait"), st.integers(1, 12), st.just(0)),
    ),
    min_size=1,
    max_size=20,
)


async def _assert_each_coupon_has_one_holder_at_most(ctx) -> None:
    async with ctx.db.read() as s:
        coupons = {c.id: c for c in await s.scalars(select(Coupon))}
        held = list(await s.scalars(select(CouponRedemption).where(CouponRedemption.released_at.is_(None))))
        placed = {o.id: o for o in await s.scalars(select(Order))}
    holders = [r.coupon_id for r in held]
    assert len(holders) == len(set(holders))
    for redemption in held:
        assert placed[redemption.order_id].status in ("pending_payment", "paid")
        assert placed[redemption.order_id].discount_fen == redemption.discount_fen
    assert {c.id for c in coupons.values() if c.status == "used"} == set(holders)
    for o in placed.values():
        assert o.payable_fen + o.discount_fen == o.total_fen and o.payable_fen >= 1
        if o.status in ("pending_payment", "paid") and o.coupon_id is not None:
            assert o.coupon_id in holders


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
async def test_random_sequences_with_coupons_keep_one_holder_per_coupon(world, ctx, clock, ops):
    cs = await build_coupon_stage(world, quota=6, allocation=8, stock=10, per_member_limit=4)
    buyers = [await bound_member(world, cs.stage.leader) for _ in range(3)]
    template = await make_template(ctx, cs.brand_id, threshold_fen=0, per_member_limit=2)
    wallets = [[await give(ctx, cs.brand_id, template, b) for _ in range(2)] for b in buyers]
    placed: list[int] = []
    for op, arg, pick in ops:
        try:
            async with ctx.db.transaction() as s:
                if op in ("place_offer", "place_listing"):
                    buyer = arg % len(buyers)
                    coupon = wallets[buyer][pick] if pick < 2 else None
                    result = await orders.place_order(
                        session=s, user_id=buyers[buyer].user_id,
                        listing_id=cs.stage.listing_id if op == "place_listing" else None,
                        offer_id=cs.stage.offer_id if op == "place_offer" else None, quantity=1,
                        idempotency_key=uuid.uuid4().hex, pickup_community_id=None, payment_ttl=timedelta(minutes=10),
                        now=clock.now(), coupon_id=coupon,
                    )
                    placed.append(result.order.id)
                elif op in ("pay", "cancel", "refund") and placed:
                    order = await orders.get_order(session=s, order_id=placed[arg % len(placed)])
                    if op == "pay":
                        await orders.apply_payment(session=s, order_id=order.id, amount_fen=order.payable_fen, now=clock.now())
                    elif op == "cancel":
                        await orders.cancel_order(session=s, user_id=order.user_id, order_id=order.id, now=clock.now())
                    elif order.status == "paid":
                        await orders.mark_refunded(session=s, order_id=order.id, now=clock.now(), reason="整单退款")
                elif op == "wait":
                    clock.advance(timedelta(minutes=arg))
                    await orders.expire_due_orders(session=s, now=clock.now())
        except DomainError:
            pass
        await _assert_each_coupon_has_one_holder_at_most(ctx)
        await assert_invariants(world, cs.stage, initial_stock=10, quota=6, allocation=8)
