"""`linli audit` passes on a healthy ledger and names each kind of breach (written directly, behind the services' back)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import insert, select, update

from linli.ledger import service as ledger
from linli.ledger.models import CommissionLine, CommissionRefund, LedgerEntry, LedgerTransaction
from linli.outbox.models import OutboxEvent
from tests.ledger.helpers import audit, buy, complete, refund
from tests.orders.setup import bound_member, build_stage


@pytest.fixture
async def healthy(ctx, world):
    stage = await build_stage(world, quota=100, per_member_limit=20)
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, quantity=3)
    await refund(ctx, order_id, 6_800)
    await complete(ctx, order_id)
    report = await audit(ctx)
    assert report.ok, report.to_text()
    return stage, order_id


def failed(report) -> set[str]:
    return {c.name for c in report.failed}


async def test_a_healthy_ledger_passes_every_check(ctx, healthy):
    report = await audit(ctx)
    assert report.ok and len(report.checks) == 26  # 21 of the ledger, 4 of withdrawals, 1 of the clock (audit_future)
    data = json.loads(report.to_json())
    assert data["ok"] is True and data["counts"]["commission_lines"] == 1
    assert "ledger audit: OK" in report.to_text()


async def test_an_unbalanced_entry_is_found(ctx, healthy):
    stage, order_id = healthy
    async with ctx.db.transaction() as s:
        accrual = await s.scalar(select(LedgerTransaction).where(LedgerTransaction.kind == "accrual"))
        accounts = await ledger.leader_accounts(session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, now=ctx.clock.now())
        await s.execute(
            insert(LedgerEntry).values(
                transaction_id=accrual.id, account_id=accounts.pending.id, amount_fen=1, posted_at=ctx.clock.now()
            )
        )
    report = await audit(ctx)
    assert not report.ok
    assert {"transactions_balance", "lines_match_ledger", "pending_balances"} <= failed(report)
    check = next(c for c in report.checks if c.name == "transactions_balance")
    assert check.breaches == 1 and check.samples[0]["transaction_id"] == accrual.id and check.samples[0]["sum_fen"] == 1
    assert "FAIL" in report.to_text()


async def test_a_commission_that_does_not_match_its_rule_is_found(ctx, healthy):
    _, order_id = healthy
    async with ctx.db.transaction() as s:
        await s.execute(update(CommissionLine).where(CommissionLine.order_id == order_id).values(rate_bp=1400))
    assert {"commission_arithmetic", "line_rule_matches_version"} <= failed(await audit(ctx))


async def test_a_paid_order_whose_accrual_never_happened_is_found(ctx, world, healthy):
    stage, _ = healthy
    buyer = await bound_member(world, stage.leader)
    await buy(ctx, stage, buyer, work=False)
    assert (await audit(ctx)).ok  # the worker is merely behind: order.paid is still waiting
    async with ctx.db.transaction() as s:  # the event is lost (marked done without its handler)
        await s.execute(update(OutboxEvent).where(OutboxEvent.processed_at.is_(None)).values(processed_at=ctx.clock.now()))
    assert failed(await audit(ctx)) == {"paid_orders_have_lines"}


async def test_a_clawback_that_does_not_match_the_refund_is_found(ctx, healthy):
    _, order_id = healthy
    async with ctx.db.transaction() as s:
        await s.execute(update(CommissionLine).where(CommissionLine.order_id == order_id).values(refunded_fen=13_600))
    assert "clawbacks_match_refunds" in failed(await audit(ctx))


async def test_settling_before_eligible_is_found(ctx, healthy):
    _, order_id = healthy
    async with ctx.db.transaction() as s:
        await s.execute(update(CommissionLine).where(CommissionLine.order_id == order_id).values(status="settled", settled_at=ctx.clock.now()))
    assert {"settled_only_after_eligible", "lines_match_ledger", "pending_balances"} <= failed(await audit(ctx))


async def _settled(ctx, clock) -> None:
    from datetime import timedelta

    from tests.ledger.helpers import settle

    clock.advance(timedelta(days=2))
    assert (await settle(ctx)).transactions == 1
    assert (await audit(ctx)).ok


async def test_a_settled_amount_the_ledger_did_not_move_is_found(ctx, clock, healthy):
    _, order_id = healthy
    await _settled(ctx, clock)
    async with ctx.db.transaction() as s:
        await s.execute(
            update(CommissionLine).where(CommissionLine.order_id == order_id)
            .values(settled_fen=CommissionLine.settled_fen + 1, clawed_back_fen=CommissionLine.clawed_back_fen - 1)
        )
    assert "settlements_match_lines" in failed(await audit(ctx))


async def test_a_settled_line_without_its_settlement_transaction_is_found(ctx, clock, healthy):
    _, order_id = healthy
    await _settled(ctx, clock)
    async with ctx.db.transaction() as s:
        await s.execute(update(CommissionLine).where(CommissionLine.order_id == order_id).values(settlement_transaction_id=None))
    assert {"settlements_match_lines", "settled_lines_name_their_settlement"} <= failed(await audit(ctx))


async def test_a_line_naming_a_transaction_that_is_not_a_settlement_is_found(ctx, clock, healthy):
    _, order_id = healthy
    await _settled(ctx, clock)
    async with ctx.db.transaction() as s:
        accrual = await s.scalar(select(LedgerTransaction).where(LedgerTransaction.kind == "accrual"))
        await s.execute(
            update(CommissionLine).where(CommissionLine.order_id == order_id).values(settlement_transaction_id=accrual.id)
        )
    assert "settled_lines_name_their_settlement" in failed(await audit(ctx))


async def test_ledger_rows_pointing_at_nothing_are_found(ctx, healthy):
    """The ledger tables carry no foreign keys (every posting would pay for their checks): the audit checks."""
    stage, _ = healthy
    async with ctx.db.transaction() as s:
        accounts = await ledger.leader_accounts(session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, now=ctx.clock.now())
        posted = await ledger.transfer(
            session=s, key="test:dangling", brand_id=stage.brand_id, kind="adjustment", from_account_id=accounts.pending.id,
            to_account_id=accounts.available.id, amount_fen=5, now=ctx.clock.now(),
            source=ledger.Source(leader_id=stage.leader.leader_id, order_id=987_654),
        )
        await s.execute(
            insert(LedgerEntry).values(transaction_id=posted.transaction.id, account_id=876_543, amount_fen=0, posted_at=ctx.clock.now())
        )
    report = await audit(ctx)
    check = next(c for c in report.checks if c.name == "references_exist")
    assert check.breaches == 2
    assert {(s["reference"], s["missing_id"]) for s in check.samples} == {
        ("entry.account_id", 876_543), ("transaction.order_id", 987_654)
    }


async def test_a_clawback_without_its_refund_is_found(ctx, healthy):
    async with ctx.db.transaction() as s:
        await s.execute(update(CommissionRefund).values(requested_fen=6_801, applied_fen=6_800))
    assert "refund_sources" in failed(await audit(ctx))


async def test_ledger_rows_cannot_be_rewritten_through_the_orm(ctx, healthy):
    with pytest.raises(RuntimeError, match="append-only"):
        async with ctx.db.transaction() as s:
            entry = await s.scalar(select(LedgerEntry).limit(1))
            entry.amount_fen += 1
            await s.flush()
    with pytest.raises(RuntimeError, match="append-only"):
        async with ctx.db.transaction() as s:
            await s.delete(await s.scalar(select(LedgerTransaction).limit(1)))
            await s.flush()
    assert (await audit(ctx)).ok


async def test_an_event_the_ledger_keeps_failing_on_is_found(ctx, clock, healthy):
    from datetime import timedelta

    from linli.ledger.handlers import order_completed_payload
    from linli.outbox.service import emit
    from linli.worker import run_until_idle

    async with ctx.db.transaction() as s:  # completion of an order that does not exist: the handler raises
        emit(s, topic="order.completed", payload=order_completed_payload(order_id=999_999, completed_at=clock.now()), now=clock.now())
    for _ in range(3):
        await run_until_idle(ctx)
        clock.advance(timedelta(minutes=1))
    report = await audit(ctx)
    assert failed(report) == {"ledger_events_not_stuck"}
    [sample] = next(c for c in report.checks if c.name == "ledger_events_not_stuck").samples
    assert sample["attempts"] == 3 and "order_not_found" in sample["last_error"]
