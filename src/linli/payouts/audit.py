"""The withdrawal invariants `linli audit` checks (each one SQL query returning the breaching rows).

- every leader's withdrawing balance equals the sum of their open (requested or approved) withdrawals;
- each withdrawal has exactly the postings its status implies (request always; paid for paid and
  returned; release for failed and rejected; return for returned), each under its own key and kind,
  moving exactly the withdrawal's amount, net and fee between the right accounts;
- no withdrawal posting exists that no withdrawal owns (so nothing was paid, released or returned twice);
- fee = round_half_up(amount × fee_bp / 10000) and net = amount − fee.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Select, String, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from linli.ledger.audit import Check, _query_check
from linli.ledger.models import (
    BRAND_PAYOUT_FEE_INCOME,
    BRAND_PAYOUTS_CLEARING,
    LEADER_AVAILABLE,
    LEADER_WITHDRAWING,
    TX_WITHDRAWAL_PAID,
    TX_WITHDRAWAL_RELEASED,
    TX_WITHDRAWAL_REQUESTED,
    TX_WITHDRAWAL_RETURNED,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)
from linli.payouts.models import FAILED, OPEN_STATUSES, PAID, REJECTED, RETURNED, Withdrawal

WITHDRAWAL_KINDS = (TX_WITHDRAWAL_REQUESTED, TX_WITHDRAWAL_PAID, TX_WITHDRAWAL_RELEASED, TX_WITHDRAWAL_RETURNED)


def _withdrawing_balances() -> Select:
    balances = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount_fen).label("balance"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    open_sums = (
        select(Withdrawal.leader_id, func.sum(Withdrawal.amount_fen).label("open_fen"))
        .where(Withdrawal.status.in_(OPEN_STATUSES))
        .group_by(Withdrawal.leader_id)
        .subquery()
    )
    balance = func.coalesce(balances.c.balance, 0)
    expected = func.coalesce(open_sums.c.open_fen, 0)
    return (
        select(LedgerAccount.id.label("account_id"), LedgerAccount.code, balance.label("balance_fen"),
               expected.label("open_withdrawals_fen"))
        .outerjoin(balances, balances.c.account_id == LedgerAccount.id)
        .outerjoin(open_sums, open_sums.c.leader_id == LedgerAccount.leader_id)
        .where(LedgerAccount.kind == LEADER_WITHDRAWING, balance != expected)
        .order_by(LedgerAccount.id)
    )


def _transaction_sums() -> Any:
    """Per withdrawal transaction: its key, kind, leader and what it moved on each account kind."""

    def on(kind: str) -> Any:
        return func.coalesce(func.sum(case((LedgerAccount.kind == kind, LedgerEntry.amount_fen), else_=0)), 0)

    return (
        select(
            LedgerTransaction.id, LedgerTransaction.idempotency_key.label("key"), LedgerTransaction.kind,
            LedgerTransaction.leader_id,
            on(LEADER_AVAILABLE).label("available"), on(LEADER_WITHDRAWING).label("withdrawing"),
            on(BRAND_PAYOUTS_CLEARING).label("clearing"), on(BRAND_PAYOUT_FEE_INCOME).label("fees"),
            func.count(LedgerEntry.id).label("entries"),
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerTransaction.kind.in_(WITHDRAWAL_KINDS))
        .group_by(LedgerTransaction.id, LedgerTransaction.idempotency_key, LedgerTransaction.kind,
                  LedgerTransaction.leader_id)
        .subquery()
    )


def _postings_match_status() -> Select:
    sums = _transaction_sums()
    req, paid, rel, ret = (aliased(sums, name=n) for n in ("req", "paid", "rel", "ret"))
    w = Withdrawal
    a, n, f = w.amount_fen, w.net_fen, w.fee_fen

    def key(step: str) -> Any:
        return literal("withdrawal:") + cast(w.id, String) + literal(f":{step}")

    def wrong(row: Any, step: str, kind: str, moves: tuple[Any, Any, Any, Any], entries: int) -> Any:
        """The posting is missing, or is not the one this step makes."""
        available, withdrawing, clearing, fees = moves
        return or_(
            row.c.id.is_(None), row.c.key != key(step), row.c.kind != kind, row.c.leader_id != w.leader_id,
            row.c.available != available, row.c.withdrawing != withdrawing, row.c.clearing != clearing,
            row.c.fees != fees, row.c.entries != entries,
        )

    has_paid = w.status.in_((PAID, RETURNED))
    has_release = w.status.in_((FAILED, REJECTED))
    fee_entries = case((f > 0, 3), else_=2)
    return (
        select(w.id.label("withdrawal_id"), w.leader_id, w.status, w.amount_fen, w.net_fen, w.fee_fen,
               w.request_transaction_id, w.paid_transaction_id, w.release_transaction_id, w.return_transaction_id)
        .outerjoin(req, req.c.id == w.request_transaction_id)
        .outerjoin(paid, paid.c.id == w.paid_transaction_id)
        .outerjoin(rel, rel.c.id == w.release_transaction_id)
        .outerjoin(ret, ret.c.id == w.return_transaction_id)
        .where(
            or_(
                wrong(req, "request", TX_WITHDRAWAL_REQUESTED, (-a, a, 0, 0), 2),
                and_(has_paid, wrong(paid, "paid", TX_WITHDRAWAL_PAID, (0, -a, n, f), fee_entries)),
                and_(~has_paid, w.paid_transaction_id.is_not(None)),
                and_(has_release, wrong(rel, "release", TX_WITHDRAWAL_RELEASED, (a, -a, 0, 0), 2)),
                and_(~has_release, w.release_transaction_id.is_not(None)),
                and_(w.status == RETURNED, wrong(ret, "return", TX_WITHDRAWAL_RETURNED, (a, 0, -n, -f), fee_entries)),
                and_(w.status != RETURNED, w.return_transaction_id.is_not(None)),
            )
        )
        .order_by(w.id)
    )


def _postings_owned() -> Select:
    owned = exists().where(
        or_(
            Withdrawal.request_transaction_id == LedgerTransaction.id,
            Withdrawal.paid_transaction_id == LedgerTransaction.id,
            Withdrawal.release_transaction_id == LedgerTransaction.id,
            Withdrawal.return_transaction_id == LedgerTransaction.id,
        )
    )
    return (
        select(LedgerTransaction.id.label("transaction_id"), LedgerTransaction.idempotency_key.label("key"),
               LedgerTransaction.kind, LedgerTransaction.leader_id)
        .where(LedgerTransaction.kind.in_(WITHDRAWAL_KINDS), ~owned)
        .order_by(LedgerTransaction.id)
    )


def _fee_split() -> Select:
    amount = cast(Withdrawal.amount_fen, BigInteger)
    expected_fee = (2 * amount * Withdrawal.fee_bp + 10_000) // 20_000
    return (
        select(Withdrawal.id.label("withdrawal_id"), Withdrawal.amount_fen, Withdrawal.fee_bp, Withdrawal.fee_fen,
               Withdrawal.net_fen, expected_fee.label("expected_fee_fen"))
        .where(or_(Withdrawal.fee_fen != expected_fee, Withdrawal.net_fen != Withdrawal.amount_fen - Withdrawal.fee_fen,
                   Withdrawal.net_fen <= 0))
        .order_by(Withdrawal.id)
    )


QUERY_CHECKS = (
    ("withdrawing_balances", "团长提现中余额等于其待审核和打款中的提现之和", _withdrawing_balances),
    ("withdrawal_postings_match_status", "每笔提现的记账与状态一致：申请、到账、退回可提现、到账后退回各一笔且金额正确", _postings_match_status),
    ("withdrawal_postings_owned", "每笔提现记账都属于一笔提现（没有重复打款或重复退回）", _postings_owned),
    ("withdrawal_fee_split", "手续费 = 提现金额 × 费率 ÷ 10000 四舍五入，到账 = 提现金额 − 手续费", _fee_split),
)


async def withdrawal_checks(session: AsyncSession) -> list[Check]:
    return [await _query_check(session, name, description, build()) for name, description, build in QUERY_CHECKS]
