"""Hypothesis drives random sequences of place / pay / expire / cancel; the stock invariants hold after every step."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.errors import DomainError
from linli.orders import service as orders
from tests.orders.setup import assert_invariants, bound_member, build_stage

QUOTA, ALLOCATION, STOCK = 5, 8, 10

operations = st.lists(
    st.one_of(
        st.tuples(st.just("place_offer"), st.integers(0, 3), st.integers(1, 3)),
        st.tuples(st.just("place_listing"), st.integers(0, 3), st.integers(1, 4)),
        st.tuples(st.just("pay"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("wait"), st.integers(1, 12), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
async def test_random_order_sequences_keep_stock_invariants(world, ctx, clock, ops):
    stage = await build_stage(world, quota=QUOTA, allocation=ALLOCATION, stock=STOCK, per_member_limit=3)
    buyers = [await bound_member(world, stage.leader) for _ in range(4)]
    placed: list[int] = []
    for op, arg, quantity in ops:
        try:
            async with ctx.db.transaction() as s:
                if op in ("place_offer", "place_listing"):
                    result = await orders.place_order(
                        session=s, user_id=buyers[arg].user_id,
                        listing_id=stage.listing_id if op == "place_listing" else None,
                        offer_id=stage.offer_id if op == "place_offer" else None,
                        quantity=quantity, idempotency_key=uuid.uuid4().hex, pickup_community_id=None,
                        payment_ttl=timedelta(minutes=10), now=clock.now(),
                    )
                    placed.append(result.order.id)
                elif op == "pay" and placed:
                    order = await orders.get_order(session=s, order_id=placed[arg % len(placed)])
                    outcome = await orders.apply_payment(session=s, order_id=order.id, amount_fen=order.total_fen, now=clock.now())
                    assert outcome.outcome in ("paid", "already_paid", "paid_late", "refund_required")
                    if outcome.outcome == "refund_required":
                        assert outcome.order.status in ("expired", "cancelled")
                elif op == "cancel" and placed:
                    order = await orders.get_order(session=s, order_id=placed[arg % len(placed)])
                    await orders.cancel_order(session=s, user_id=order.user_id, order_id=order.id, now=clock.now())
                elif op == "wait":
                    clock.advance(timedelta(minutes=arg))
                    await orders.expire_due_orders(session=s, now=clock.now())
        except DomainError:
            pass  # a refusal rolls back; the invariants must hold all the same
        await assert_invariants(world, stage, initial_stock=STOCK, quota=QUOTA, allocation=ALLOCATION)
