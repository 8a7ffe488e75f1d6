"""The audit's clock check: no money moved at a moment that has not come yet.

Every money move is dated by the clock of the code that made it; one dated after the audit runs was made under a
future `--as-of` (or a machine whose clock runs ahead): commission settled early, a withdrawal paid early. The
rows are real and cannot be undone by the audit, only shown, so an operator can see what a rehearsal touched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from linli.clock import CLOCK_SKEW_TOLERANCE
from linli.ledger.audit import Check, _query_check
from linli.ledger.models import CommissionLine, LedgerEntry, LedgerTransaction, TierBonus
from linli.payments.models import Payment, Refund
from linli.payouts.models import Withdrawal

NAME = "nothing_dated_in_future"
DESCRIPTION = "没有晚于审计时刻的记账、结算、阶梯奖励、提现、支付与退款（未来的 --as-of 做过真实操作）"

# (label, id column, moment column) of every money move.
DATED_MOVES = (
    ("ledger_transaction.posted_at", LedgerTransaction.id, LedgerTransaction.posted_at),
    ("ledger_entry.posted_at", LedgerEntry.id, LedgerEntry.posted_at),
    ("commission_line.settled_at", CommissionLine.id, CommissionLine.settled_at),
    ("tier_bonus.computed_at", TierBonus.id, TierBonus.computed_at),
    ("withdrawal.requested_at", Withdrawal.id, Withdrawal.requested_at),
    ("withdrawal.approved_at", Withdrawal.id, Withdrawal.approved_at),
    ("withdrawal.finished_at", Withdrawal.id, Withdrawal.finished_at),
    ("withdrawal.returned_at", Withdrawal.id, Withdrawal.returned_at),
    ("payment.succeeded_at", Payment.id, Payment.succeeded_at),
    ("refund.completed_at", Refund.id, Refund.completed_at),
)


def _future_dated(now: datetime) -> Select:
    cutoff = now + CLOCK_SKEW_TOLERANCE
    moves = union_all(
        *(
            select(literal(label).label("dated"), id_column.label("row_id"), at.label("at")).where(at > cutoff)
            for label, id_column, at in DATED_MOVES
        )
    ).subquery()
    return select(moves.c.dated, moves.c.row_id, moves.c.at).order_by(moves.c.at.desc(), moves.c.dated, moves.c.row_id)


async def future_dated_check(*, session: AsyncSession, now: datetime) -> Check:
    return await _query_check(session, NAME, DESCRIPTION, _future_dated(now))
