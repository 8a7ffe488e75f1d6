"""Accrual, clawback, completion and settlement: idempotent, exact to the fen, in the right accounts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from linli.errors import Conflict, InvalidInput
from linli.ledger import accrual, settlement
from linli.ledger import service as ledger
from linli.ledger.models import (
    BRAND_COMMISSION_EXPENSE,
    LINE_PENDING,
    LINE_REVERSED,
    LINE_SETTLED,
    TX_ACCRUAL,
    TX_CLAWBACK,
    TX_SETTLEMENT,
    CommissionLine,
    CommissionRefund,
    LedgerEntry,
    LedgerTransaction,
)
from linli.orders.models import Order
from linli.outbox.service import emit
from linli.worker import run_until_idle
from tests.ledger.helpers import (
    assert_audit_ok,
    balances,
    buy,
    complete,
    line_of,
    refund,
    refund_whole,
    settle,
    transactions,
    withdraw_like,
)
from tests.orders.setup import bound_member, build_stage

NEXT_MIDNIGHT = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 00:00 on 21 Nov, Shanghai


@pytest.fixture
async def stage(world):
    return await build_stage(world, quota=100, per_member_limit=20, price_fen=6800, live_price_fen=8800)


async def test_the_same_paid_event_twice_accrues_once(ctx, world, stage):
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, quantity=2)
    async with ctx.db.transaction() as s:  # the outbox delivers order.paid again (a retry, a second worker)
        order = await s.get(Order, order_id)
        emit(s, topic="order.paid", payload={"order_id": order.id, "leader_id": order.leader_id}, now=ctx.clock.now())
    await run_until_idle(ctx)
    async with ctx.db.transaction() as s:  # and someone calls the service directly once more
        line = await accrual.accrue_for_order(session=s, order_id=order_id, now=ctx.clock.now())
        assert line is not None and line.commission_fen == 2_040
    assert len(await transactions(ctx, LedgerTransaction.kind == TX_ACCRUAL)) == 1
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(CommissionLine)) == 1
    assert (await balances(ctx, stage)).pending_fen == 2_040
    await assert_audit_ok(ctx)


async def test_a_posting_replayed_returns_the_first_and_a_reused_key_is_refused(ctx, stage):
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        accounts = await ledger.leader_accounts(session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, now=now)
        first = await ledger.transfer(
            session=s, key="test:move:1", brand_id=stage.brand_id, kind="test", from_account_id=accounts.available.id,
            to_account_id=accounts.withdrawing.id, amount_fen=100, now=now, source=ledger.Source(leader_id=stage.leader.leader_id),
        )
        again = await ledger.transfer(
            session=s, key="test:move:1", brand_id=stage.brand_id, kind="test", from_account_id=accounts.available.id,
            to_account_id=accounts.withdrawing.id, amount_fen=100, now=now,
        )
        assert first.created and not again.created and first.transaction.id == again.transaction.id
        with pytest.raises(Conflict) as refused:
            await ledger.transfer(
                session=s, key="test:move:1", brand_id=stage.brand_id, kind="test",
                from_account_id=accounts.available.id, to_account_id=accounts.withdrawing.id, amount_fen=101, now=now,
            )
        assert refused.value.code == "ledger_key_reused"
        with pytest.raises(InvalidInput) as unbalanced:
            await ledger.post(
                session=s, key="test:bad", brand_id=stage.brand_id, kind="test",
                entries=[(accounts.available.id, 100), (accounts.withdrawing.id, -99)], now=now,
            )
        assert unbalanced.value.code == "ledger_unbalanced"
        with pytest.raises(InvalidInput):
            await ledger.post(
                session=s, key="test:one", brand_id=stage.brand_id, kind="test", entries=[(accounts.available.id, 0)], now=now
            )
    assert len(await transactions(ctx, LedgerTransaction.kind == "test")) == 1


async def test_partial_refunds_claw_back_cumulatively_and_a_full_refund_takes_exactly_the_rest(ctx, world, stage):
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, quantity=3, offer=False)  # 3 × 88 = 264 yuan at 15% → 3,960 fen
    assert (await line_of(ctx, order_id)).commission_fen == 3_960
    # 1 fen refunded: round_half_up(3960 × 1 / 26400) = 0, recorded but nothing posted.
    await refund(ctx, order_id, 1)
    line = await line_of(ctx, order_id)
    assert (line.refunded_fen, line.clawed_back_fen) == (1, 0)
    # 100 fen more: cumulative 101 → round_half_up(15.15) = 15.
    await refund(ctx, order_id, 100)
    assert (await line_of(ctx, order_id)).clawed_back_fen == 15
    # 8,800 more: cumulative 8,901 → round_half_up(1335.15) = 1335, so this refund took 1,320.
    await refund(ctx, order_id, 8_800)
    assert (await line_of(ctx, order_id)).clawed_back_fen == 1_335
    # The rest as a whole-order refund: exactly what is left, so the splits sum back to the commission.
    await refund_whole(ctx, order_id)
    line = await line_of(ctx, order_id)
    assert (line.refunded_fen, line.clawed_back_fen, line.status) == (26_400, 3_960, LINE_REVERSED)
    clawbacks = await transactions(ctx, LedgerTransaction.kind == TX_CLAWBACK)
    async with ctx.db.read() as s:
        taken = [
            -await s.scalar(
                select(func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.transaction_id == t.id, LedgerEntry.amount_fen < 0)
            )
            for t in clawbacks
        ]
        rows = list(await s.scalars(select(CommissionRefund).order_by(CommissionRefund.id)))
    assert taken == [15, 1_320, 2_625] and sum(taken) == 3_960
    assert [r.clawback_fen for r in rows] == [0, 15, 1_320, 2_625]
    assert (await balances(ctx, stage)).pending_fen == 0
    # Reversed lines are never settled, even once "completed".
    await complete(ctx, order_id)
    ctx.clock.set(NEXT_MIDNIGHT + timedelta(days=3))
    assert (await settle(ctx)).lines == 0
    await assert_audit_ok(ctx)


async def test_a_refund_replayed_claws_back_once_and_another_amount_under_its_id_is_refused(ctx, world, stage):
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, quantity=2)
    refund_id = await refund(ctx, order_id, 6_800)
    async with ctx.db.transaction() as s:
        again = await accrual.clawback_for_refund(
            session=s, order_id=order_id, refund_id=refund_id, refunded_fen=6_800, now=ctx.clock.now()
        )
        assert again is not None and again.clawback_fen == 1_020
    with pytest.raises(Conflict) as refused:
        async with ctx.db.transaction() as s:
            await accrual.clawback_for_refund(
                session=s, order_id=order_id, refund_id=refund_id, refunded_fen=100, now=ctx.clock.now()
            )
    assert refused.value.code == "clawback_key_reused"
    with pytest.raises(InvalidInput):
        async with ctx.db.transaction() as s:
            await accrual.clawback_for_refund(session=s, order_id=order_id, refund_id=refund_id, refunded_fen=0, now=ctx.clock.now())
    assert len(await transactions(ctx, LedgerTransaction.kind == TX_CLAWBACK)) == 1
    assert (await line_of(ctx, order_id)).clawed_back_fen == 1_020
    await assert_audit_ok(ctx)


async def test_a_clawback_after_settlement_comes_from_available(ctx, world, stage, clock):
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, quantity=2)
    await complete(ctx, order_id)
    clock.set(NEXT_MIDNIGHT)
    await settle(ctx)
    assert await balances(ctx, stage) == ledger.LeaderBalances(pending_fen=0, available_fen=2_040, withdrawing_fen=0)
    await refund_whole(ctx, order_id)
    line = await line_of(ctx, order_id)
    assert (line.status, line.settled_fen, line.clawed_back_fen) == (LINE_SETTLED, 2_040, 2_040)
    assert await balances(ctx, stage) == ledger.LeaderBalances(pending_fen=0, available_fen=0, withdrawing_fen=0)
    async with ctx.db.read() as s:
        row = await s.scalar(select(CommissionRefund))
    assert row.from_account_kind == "leader_available"
    await assert_audit_ok(ctx)


async def test_a_clawback_of_withdrawn_money_leaves_available_negative_and_later_earnings_repay_it(ctx, world, stage, clock):
    buyer = await bound_member(world, stage.leader)
    first = await buy(ctx, stage, buyer, quantity=5)  # 340 yuan → 5,100 fen
    await complete(ctx, first)
    clock.set(NEXT_MIDNIGHT)
    await settle(ctx)
    await withdraw_like(ctx, stage, 5_100, key="withdrawal:1")
    assert await balances(ctx, stage) == ledger.LeaderBalances(pending_fen=0, available_fen=0, withdrawing_fen=0)
    # Three of the five boxes are refunded after the money was withdrawn.
    await refund(ctx, first, 3 * 6_800)
    assert (await balances(ctx, stage)).available_fen == -3_060
    await assert_audit_ok(ctx)
    # Later earnings repay it naturally: one balance.
    second = await buy(ctx, stage, await bound_member(world, stage.leader), quantity=10, offer=False)  # 13,200 fen
    await complete(ctx, second)
    clock.advance(timedelta(days=1))
    await settle(ctx)
    assert await balances(ctx, stage) == ledger.LeaderBalances(pending_fen=0, available_fen=13_200 - 3_060, withdrawing_fen=0)
    await assert_audit_ok(ctx)


async def test_available_from_the_start_of_the_day_after_pickup(ctx, world, stage, clock):
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer)
    late_evening = datetime(2026, 11, 20, 15, 59, tzinfo=UTC)  # 23:59 on 20 Nov in Shanghai
    await complete(ctx, order_id, at=late_evening)
    assert (await line_of(ctx, order_id)).eligible_at == NEXT_MIDNIGHT
    await complete(ctx, order_id, at=late_evening + timedelta(hours=5))  # a second completion changes nothing
    line = await line_of(ctx, order_id)
    assert (line.completed_at, line.eligible_at) == (late_evening, NEXT_MIDNIGHT)
    assert (await settle(ctx, NEXT_MIDNIGHT - timedelta(microseconds=1))).lines == 0
    assert (await settle(ctx, NEXT_MIDNIGHT)).lines == 1
    await assert_audit_ok(ctx)


async def test_completion_before_the_paid_event_is_handled_still_accrues_first(ctx, world, stage):
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, work=False)
    async with ctx.db.transaction() as s:
        line = await accrual.record_completion(session=s, order_id=order_id, completed_at=ctx.clock.now(), now=ctx.clock.now())
        assert line is not None and line.commission_fen == 1_020 and line.eligible_at == NEXT_MIDNIGHT
    await run_until_idle(ctx)  # the paid event now finds the line and does nothing
    assert len(await transactions(ctx, LedgerTransaction.kind == TX_ACCRUAL)) == 1
    await assert_audit_ok(ctx)


async def test_orders_without_a_leader_earn_nothing(ctx, world, stage):
    stranger = await world.user()
    order_id = await buy(ctx, stage, stranger, offer=False)
    async with ctx.db.read() as s:
        assert (await s.get(Order, order_id)).leader_id is None
    assert await transactions(ctx) == []
    await complete(ctx, order_id)
    await refund(ctx, order_id, 100)
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(CommissionLine)) == 0
    await assert_audit_ok(ctx)


async def _eight_due_lines(ctx, world, stage, clock) -> list[int]:
    """Seven orders through 小李 (1,020 fen each) and one through 王姐 (1,320 fen), all due at NEXT_MIDNIGHT."""
    order_ids = []
    for _ in range(7):
        order_ids.append(await buy(ctx, stage, await bound_member(world, stage.leader), quantity=1))
    other_buyer = await bound_member(world, stage.other_leader)
    order_ids.append(await buy(ctx, stage, other_buyer, offer=False))
    for order_id in order_ids:
        await complete(ctx, order_id)
    clock.set(NEXT_MIDNIGHT)
    return order_ids


async def _each_line_names_a_settlement_of_its_leader(ctx, order_ids: list[int]) -> set[int]:
    by_id = {t.id: t for t in await transactions(ctx, LedgerTransaction.kind == TX_SETTLEMENT)}
    for order_id in order_ids:
        line = await line_of(ctx, order_id)
        assert line.status == LINE_SETTLED
        assert by_id[line.settlement_transaction_id].leader_id == line.leader_id
    return set(by_id)


async def test_one_settlement_transaction_per_leader_and_batch(ctx, world, stage, clock):
    order_ids = await _eight_due_lines(ctx, world, stage, clock)
    report = await settle(ctx)
    assert (report.lines, report.transactions, report.amount_fen, report.batches) == (8, 2, 7 * 1_020 + 1_320, 1)
    [xiao_li, wang_jie] = sorted(await transactions(ctx, LedgerTransaction.kind == TX_SETTLEMENT),
                                 key=lambda t: t.leader_id != stage.leader.leader_id)
    first = await line_of(ctx, order_ids[0])
    assert xiao_li.idempotency_key == f"settlement:leader:{stage.leader.leader_id}:line:{first.id}"
    assert "7 笔订单" in xiao_li.memo and "1 笔订单" in wang_jie.memo
    async with ctx.db.read() as s:
        amounts = {(e.account_id, e.amount_fen) for e in await ledger.transaction_entries(session=s, transaction_id=xiao_li.id)}
    accounts = await _leader_account_ids(ctx, stage)
    assert amounts == {(accounts["leader_pending"], -7 * 1_020), (accounts["leader_available"], 7 * 1_020)}
    assert await _each_line_names_a_settlement_of_its_leader(ctx, order_ids) == {xiao_li.id, wang_jie.id}
    assert (await balances(ctx, stage)).available_fen == 7 * 1_020
    await assert_audit_ok(ctx)


async def _leader_account_ids(ctx, stage) -> dict[str, int]:
    async with ctx.db.read() as s:
        found = await ledger.find_leader_accounts(session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id)
    return {kind: account.id for kind, account in found.items()}


async def test_settlement_walks_in_batches_and_two_settlers_at_once_settle_each_line_once(ctx, world, stage, clock):
    order_ids = await _eight_due_lines(ctx, world, stage, clock)
    reports = await asyncio.gather(
        settlement.settle_due(db=ctx.db, as_of=clock.now(), now=clock.now(), batch_size=3),
        settlement.settle_due(db=ctx.db, as_of=clock.now(), now=clock.now(), batch_size=2),
    )
    assert sum(r.lines for r in reports) == 8
    assert sum(r.amount_fen for r in reports) == 7 * 1_020 + 1_320
    settlements = await _each_line_names_a_settlement_of_its_leader(ctx, order_ids)
    assert sum(r.transactions for r in reports) == len(settlements) >= 2
    assert (await balances(ctx, stage)).available_fen == 7 * 1_020
    assert (await balances(ctx, stage, stage.other_leader.leader_id)).available_fen == 1_320
    assert (await settle(ctx)).lines == 0
    await assert_audit_ok(ctx)


async def test_several_settlers_in_one_run_settle_each_line_once(ctx, world, stage, clock):
    """`linli settle --settlers 3`, while a second settle runs too (another process, a cron overlap)."""
    order_ids = await _eight_due_lines(ctx, world, stage, clock)
    reports = await asyncio.gather(
        settlement.settle_due(db=ctx.db, as_of=clock.now(), now=clock.now(), batch_size=1, settlers=3),
        settlement.settle_due(db=ctx.db, as_of=clock.now(), now=clock.now(), batch_size=2, settlers=2),
    )
    assert sum(r.lines for r in reports) == 8 and sum(r.batches for r in reports) >= 4
    assert sum(r.amount_fen for r in reports) == 7 * 1_020 + 1_320
    settlements = await _each_line_names_a_settlement_of_its_leader(ctx, order_ids)
    assert sum(r.transactions for r in reports) == len(settlements)
    assert (await balances(ctx, stage)).available_fen == 7 * 1_020
    assert (await settle(ctx)).lines == 0
    await assert_audit_ok(ctx)
    with pytest.raises(ValueError):
        await settlement.settle_due(db=ctx.db, as_of=clock.now(), now=clock.now(), settlers=0)


async def test_a_line_whose_commission_was_all_clawed_back_settles_at_zero_without_a_transaction(ctx, world, stage, clock):
    """Rounding can claw back all of a commission before everything was refunded: nothing left to move."""
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer)
    await refund(ctx, order_id, 6_700)  # round_half_up(1020 × 6700/6800) = 1005
    await refund(ctx, order_id, 99)  # cumulative 6799 → round_half_up(1019.85) = 1020: all of it
    line = await line_of(ctx, order_id)
    assert (line.refunded_fen, line.clawed_back_fen, line.status) == (6_799, 1_020, LINE_PENDING)
    await complete(ctx, order_id)
    clock.set(NEXT_MIDNIGHT)
    report = await settle(ctx)
    assert (report.lines, report.transactions, report.amount_fen) == (1, 0, 0)
    line = await line_of(ctx, order_id)
    assert (line.status, line.settled_fen, line.settlement_transaction_id) == (LINE_SETTLED, 0, None)
    assert await transactions(ctx, LedgerTransaction.kind == TX_SETTLEMENT) == []
    await assert_audit_ok(ctx)


async def test_a_line_settled_at_zero_stays_out_of_its_leaders_settlement_in_the_same_batch(ctx, world, stage, clock):
    emptied = await buy(ctx, stage, await bound_member(world, stage.leader))
    await refund(ctx, emptied, 6_799)  # round_half_up(1020 × 6799/6800) = 1020: nothing left
    paying = await buy(ctx, stage, await bound_member(world, stage.leader))
    for order_id in (emptied, paying):
        await complete(ctx, order_id)
    clock.set(NEXT_MIDNIGHT)
    report = await settle(ctx)
    assert (report.lines, report.transactions, report.amount_fen) == (2, 1, 1_020)
    [posted] = await transactions(ctx, LedgerTransaction.kind == TX_SETTLEMENT)
    assert "1 笔订单" in posted.memo
    assert (await line_of(ctx, emptied)).settlement_transaction_id is None
    assert (await line_of(ctx, paying)).settlement_transaction_id == posted.id
    await assert_audit_ok(ctx)


async def test_the_brand_expense_mirrors_the_leaders_commission(ctx, world, stage):
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, quantity=4)
    await refund(ctx, order_id, 6_800)
    async with ctx.db.read() as s:
        expense = await s.scalar(
            select(ledger.LedgerAccount).where(ledger.LedgerAccount.kind == BRAND_COMMISSION_EXPENSE)
        )
        assert await ledger.balance(session=s, account_id=expense.id) == -(4_080 - 1_020)
    assert (await line_of(ctx, order_id)).status == LINE_PENDING
    await assert_audit_ok(ctx)
