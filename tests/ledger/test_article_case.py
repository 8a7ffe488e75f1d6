"""The article's case: 100 boxes of strawberries at 68 yuan through 小李 at 15% → 1,020 yuan of commission,
pending after payment, available the day after pickup (T+1), minus the exact share of a refund."""

from __future__ import annotations

from datetime import UTC, datetime

from linli.ledger.models import LINE_PENDING, LINE_SETTLED
from linli.ledger.service import LeaderBalances
from tests.ledger.helpers import assert_audit_ok, balances, buy, complete, line_of, refund, settle
from tests.orders.setup import bound_member, build_stage

MIDNIGHT_AFTER_PICKUP = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 21 Nov 00:00 in Asia/Shanghai


async def test_100_boxes_at_68_yuan_through_xiao_li(world, ctx, clock):
    stage = await build_stage(world, quota=100, per_member_limit=10, price_fen=6800)
    buyers = [await bound_member(world, stage.leader) for _ in range(10)]
    order_ids = [await buy(ctx, stage, buyer, quantity=10) for buyer in buyers]  # 10 neighbours × 10 boxes

    # Paid: 102,000 fen (1,020 yuan) accrued, all of it pending.
    assert await balances(ctx, stage) == LeaderBalances(pending_fen=102_000, available_fen=0, withdrawing_fen=0)
    first = await line_of(ctx, order_ids[0])
    assert (first.paid_fen, first.rule, first.rate_bp, first.referral_bp, first.commission_fen, first.status) == (
        68_000, "live_base", 1500, 0, 10_200, LINE_PENDING
    )
    assert first.eligible_at is None  # not picked up yet: no date to show
    await assert_audit_ok(ctx)

    # Picked up on 20 Nov at 10:00 (Shanghai): available from 00:00 on 21 Nov.
    for order_id in order_ids:
        await complete(ctx, order_id)
    first = await line_of(ctx, order_ids[0])
    assert first.completed_at == clock.now()
    assert first.eligible_at == MIDNIGHT_AFTER_PICKUP

    # One box of the first order goes bad and is refunded (6,800 fen): 1,020 fen of its commission goes back.
    await refund(ctx, order_ids[0], 6_800)
    assert (await line_of(ctx, order_ids[0])).clawed_back_fen == 1_020
    assert (await balances(ctx, stage)).pending_fen == 102_000 - 1_020

    # A second before midnight nothing is due; at midnight everything is.
    early = await settle(ctx, datetime(2026, 11, 20, 15, 59, 59, tzinfo=UTC))
    assert early.lines == 0
    clock.set(MIDNIGHT_AFTER_PICKUP)
    report = await settle(ctx)
    # One settlement transaction for 小李's ten lines; each line names it.
    assert (report.lines, report.transactions, report.amount_fen) == (10, 1, 100_980)
    assert await balances(ctx, stage) == LeaderBalances(pending_fen=0, available_fen=100_980, withdrawing_fen=0)
    settled = await line_of(ctx, order_ids[0])
    assert (settled.status, settled.settled_fen, settled.settled_at) == (LINE_SETTLED, 9_180, MIDNIGHT_AFTER_PICKUP)
    assert (await settle(ctx)).lines == 0  # running it again settles nothing twice

    # Two more boxes of the second order refunded after settlement: 2,040 fen back, from available.
    await refund(ctx, order_ids[1], 13_600)
    assert await balances(ctx, stage) == LeaderBalances(pending_fen=0, available_fen=100_980 - 2_040, withdrawing_fen=0)
    report = await assert_audit_ok(ctx)
    assert report.counts["commission_lines"] == 10
