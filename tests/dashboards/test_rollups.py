"""The dashboards' roll-ups, kept from the outbox: figures computed by hand, idempotent, equal to a rebuild."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from linli.dashboards import rollups
from linli.dashboards.models import BrandDay, BrandMonth, LeaderDay, LeaderMonth, PaidOrder
from linli.dashboards.rebuild import expected_rollups, rebuild_rollups, rollups_agree, stored_rollups
from linli.orders.models import Order
from linli.outbox.service import emit
from linli.worker import run_until_idle
from tests.ledger.helpers import buy, refund
from tests.orders.setup import bound_member, build_stage

# Shanghai is UTC+8: 15:30 UTC is 23:30 the same day there, 16:30 UTC already the next day.
NOV_30_LATE = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # 2026-11-30 23:30 in Asia/Shanghai
DEC_1_EARLY = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 2026-12-01 00:30 in Asia/Shanghai
DEC_15 = datetime(2026, 12, 15, 4, 0, tzinfo=UTC)
NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)


@pytest.fixture
async def evening(ctx, world, clock):
    """Three neighbours of 小李 and one unbound buyer pay across a local midnight and a month; one refund."""
    stage = await build_stage(world, live_price_fen=8800)
    first, second = await bound_member(world, stage.leader), await bound_member(world, stage.leader)
    walk_in = await world.user()
    clock.set(NOV_30_LATE)
    a = await buy(ctx, stage, first, quantity=1, offer=False)
    clock.set(DEC_1_EARLY)
    b = await buy(ctx, stage, first, quantity=2, offer=False)
    c = await buy(ctx, stage, second, quantity=1, offer=False)
    clock.set(DEC_15)
    d = await buy(ctx, stage, walk_in, quantity=1, offer=False)
    refunded = await refund(ctx, b, 3000)
    return stage, {"a": a, "b": b, "c": c, "d": d, "refund": refunded}


async def test_every_figure_matches_the_hand_count(ctx, evening):
    stage, orders = evening
    brand, leader = stage.brand_id, stage.leader.leader_id
    async with ctx.db.read() as s:
        days = {(r.day, r.orders, r.paid_fen, r.refunded_fen) for r in await s.scalars(select(BrandDay).where(BrandDay.brand_id == brand))}
        leader_days = {(r.day, r.orders, r.paid_fen, r.refunded_fen) for r in await s.scalars(select(LeaderDay).where(LeaderDay.leader_id == leader))}
        months = {(r.month, r.paying_members, r.bought_again_next_month) for r in await s.scalars(select(BrandMonth).where(BrandMonth.brand_id == brand))}
        leader_months = {(r.month, r.paying_members, r.bought_again_next_month) for r in await s.scalars(select(LeaderMonth).where(LeaderMonth.leader_id == leader))}
        walk_in = await s.get(PaidOrder, orders["d"])
    # 23:30 on 30 Nov counts on 30 Nov; 00:30 on 1 Dec (the same UTC evening) on 1 Dec; the refund of 30.00 of
    # order b (paid 1 Dec) counts on 1 Dec although it came on the 15th.
    assert days == {(date(2026, 11, 30), 1, 8800, 0), (date(2026, 12, 1), 2, 26400, 3000), (date(2026, 12, 15), 1, 8800, 0)}
    assert leader_days == {(date(2026, 11, 30), 1, 8800, 0), (date(2026, 12, 1), 2, 26400, 3000)}  # the walk-in is nobody's
    # November: one paying member, who paid again in December; December: three, and nobody has paid in January.
    assert months == {(NOV, 1, 1), (DEC, 3, 0)}
    assert leader_months == {(NOV, 1, 1), (DEC, 2, 0)}
    assert walk_in.leader_id is None and (walk_in.paid_day, walk_in.paid_month) == (date(2026, 12, 15), DEC)
    assert await _agree(ctx) == {}


async def test_an_event_delivered_again_counts_once(ctx, evening):
    _, orders = evening
    before = await _stored(ctx)
    async with ctx.db.transaction() as s:
        for order_id in orders.values():
            order = await s.get(Order, order_id)
            if order is not None:
                emit(s, topic="order.paid", payload={"order_id": order_id}, now=ctx.clock.now())
        emit(s, topic="payment.refunded", payload={"refund_id": orders["refund"], "order_id": orders["b"], "amount_fen": 3000},
             now=ctx.clock.now())
    await run_until_idle(ctx)
    async with ctx.db.transaction() as s:  # and the services called directly once more
        assert await rollups.record_payment(session=s, order_id=orders["a"]) is False
        assert await rollups.record_refund(session=s, refund_id=orders["refund"], order_id=orders["b"], amount_fen=3000) is False
    assert await _stored(ctx) == before


async def test_a_refund_handled_before_its_payment_is_counted_with_it(ctx, world, clock):
    stage = await build_stage(world, live_price_fen=8800)
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, quantity=2, offer=False, work=False)
    refund_id = await _refund_unworked(ctx, order_id, 5000)
    async with ctx.db.transaction() as s:  # the refund's event is handled first (a retry reordered them)
        assert await rollups.record_refund(session=s, refund_id=refund_id, order_id=order_id, amount_fen=5000) is True
    await run_until_idle(ctx)
    async with ctx.db.read() as s:
        fact = await s.get(PaidOrder, order_id)
        day = await s.get(BrandDay, (stage.brand_id, fact.paid_day))
    assert (fact.paid_fen, fact.refunded_fen) == (17600, 5000)
    assert (day.orders, day.paid_fen, day.refunded_fen) == (1, 17600, 5000)
    assert await _agree(ctx) == {}


async def test_a_rebuild_writes_what_the_events_kept(ctx, evening):
    kept = await _stored(ctx)
    async with ctx.db.transaction() as s:
        written = await rebuild_rollups(session=s)
    assert await _stored(ctx) == kept
    async with ctx.db.read() as s:
        assert await expected_rollups(session=s) == kept
    # a, b, c and the walk-in's d; one refund; three brand days, two of 小李's; November 1 member, December 3.
    assert {name: written[name] for name in ("paid_orders", "applied_refunds", "brand_days", "leader_days",
                                             "member_months", "brand_months")} == {
        "paid_orders": 4, "applied_refunds": 1, "brand_days": 3, "leader_days": 2, "member_months": 4, "brand_months": 2}


async def test_a_rebuild_from_a_day_replaces_only_from_it(ctx, evening):
    stage, _ = evening
    async with ctx.db.transaction() as s:  # drift before and after 1 December, on days and on months
        for key in ((stage.brand_id, date(2026, 11, 30)), (stage.brand_id, date(2026, 12, 15))):
            (await s.get(BrandDay, key)).paid_fen += 1
        (await s.get(BrandMonth, (stage.brand_id, NOV))).bought_again_next_month = 0
        (await s.get(BrandMonth, (stage.brand_id, DEC))).paying_members = 9
    assert await _agree(ctx) == {"brand_days": 2, "brand_months": 2}
    async with ctx.db.transaction() as s:
        await rebuild_rollups(session=s, first_day=date(2026, 12, 1))
    # 15 December and December repaired; November's "paid again in December" recounted (it hangs on December);
    # 30 November before the day: left as it was.
    assert await _agree(ctx) == {"brand_days": 1}
    async with ctx.db.read() as s:
        assert (await s.get(BrandDay, (stage.brand_id, date(2026, 11, 30)))).paid_fen == 8801
        assert (await s.get(BrandMonth, (stage.brand_id, NOV))).bought_again_next_month == 1
    async with ctx.db.transaction() as s:
        await rebuild_rollups(session=s, first_day=date(2026, 11, 30))
    assert await _agree(ctx) == {}


async def test_a_kept_figure_that_drifted_is_reported_and_a_rebuild_repairs_it(ctx, evening):
    stage, _ = evening
    async with ctx.db.transaction() as s:
        day = await s.get(BrandDay, (stage.brand_id, date(2026, 12, 1)))
        day.paid_fen += 1  # a lost or doubled event would look like this
    assert await _agree(ctx) == {"brand_days": 1}
    async with ctx.db.transaction() as s:
        await rebuild_rollups(session=s, brand_id=stage.brand_id)
    assert await _agree(ctx) == {}


async def _refund_unworked(ctx, order_id: int, amount_fen: int) -> int:
    import uuid

    from linli.payments import service as payments
    from linli.payments.models import Payment
    from linli.payments.providers import REFUND_SUCCEEDED_STATUS

    async with ctx.db.transaction() as s:
        payment = await s.scalar(select(Payment).where(Payment.order_id == order_id, Payment.status == "succeeded"))
        row = await payments.request_refund(session=s, payment=payment, amount_fen=amount_fen, reason="坏果包赔",
                                            idempotency_key=uuid.uuid4().hex, now=ctx.clock.now())
        await payments.settle_refund(session=s, refund=row, status=REFUND_SUCCEEDED_STATUS, now=ctx.clock.now())
        return row.id


async def _stored(ctx):
    async with ctx.db.read() as s:
        return await stored_rollups(session=s)


async def _agree(ctx) -> dict[str, int]:
    async with ctx.db.read() as s:
        return await rollups_agree(session=s)
