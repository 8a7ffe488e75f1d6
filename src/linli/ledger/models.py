"""The commission ledger: accounts, append-only double-entry transactions, commission rules and lines.

Sign convention: an entry's `amount_fen` is signed and the entries of one transaction sum to zero.
An account's balance is the sum of its entries. Leader accounts are positive when the brand owes the
leader; the brand's expense accounts run negative (money the brand has committed to pay out).

Append-only: ledger_transactions and ledger_entries rows are inserted, never updated or deleted (a
guard below refuses it in the ORM; corrections are new transactions). Commission lines are the
per-order snapshot of the rule plus the running state the ledger explains (`linli audit` checks that
every figure on a line equals the sum of its ledger entries).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from linli.db import Base, Fen, IdMixin, IdType

# Account kinds. Per leader: pending (accrued, not yet withdrawable), available (withdrawable; may go
# negative after a clawback of withdrawn money), withdrawing (asked for, not yet paid out).
LEADER_PENDING = "leader_pending"
LEADER_AVAILABLE = "leader_available"
LEADER_WITHDRAWING = "leader_withdrawing"
LEADER_KINDS = (LEADER_PENDING, LEADER_AVAILABLE, LEADER_WITHDRAWING)
# Per brand.
BRAND_COMMISSION_EXPENSE = "brand_commission_expense"
BRAND_BONUS_EXPENSE = "brand_bonus_expense"
BRAND_PAYOUTS_CLEARING = "brand_payouts_clearing"
BRAND_PAYOUT_FEE_INCOME = "brand_payout_fee_income"  # withdrawal fees the brand keeps (linli.payouts)
BRAND_KINDS = (BRAND_COMMISSION_EXPENSE, BRAND_BONUS_EXPENSE, BRAND_PAYOUTS_CLEARING, BRAND_PAYOUT_FEE_INCOME)
ACCOUNT_KINDS = LEADER_KINDS + BRAND_KINDS

# Transaction kinds.
TX_ACCRUAL = "accrual"
TX_CLAWBACK = "clawback"
TX_SETTLEMENT = "settlement"
TX_TIER_BONUS = "tier_bonus"
# Withdrawals (linli.payouts): asked for, paid out, released back (failed or rejected), returned after payout.
TX_WITHDRAWAL_REQUESTED = "withdrawal_requested"
TX_WITHDRAWAL_PAID = "withdrawal_paid"
TX_WITHDRAWAL_RELEASED = "withdrawal_released"
TX_WITHDRAWAL_RETURNED = "withdrawal_returned"

# Commission line statuses.
LINE_PENDING = "pending"  # accrued, waiting for completion + the after-sales window
LINE_SETTLED = "settled"  # moved to available
LINE_REVERSED = "reversed"  # fully refunded before settlement: nothing left to settle
LINE_EXCLUDED = "excluded"  # the rule gives no commission (e.g. self-purchase not counted, rate 0)
LINE_STATUSES = (LINE_PENDING, LINE_SETTLED, LINE_REVERSED, LINE_EXCLUDED)


class LedgerAccount(IdMixin, Base):
    """One account; `code` (kind:brand:leader) is unique so that concurrent creation cannot make two."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (Index("ix_ledger_accounts_leader", "leader_id"),)

    code: Mapped[str] = mapped_column(String(64), unique=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    leader_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("leaders.id"))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class LedgerTransaction(IdMixin, Base):
    """One posting of two or more entries summing to zero; exactly one per idempotency key.

    The source columns say what made it, so that a statement line can name the order and the rule.
    """

    __tablename__ = "ledger_transactions"
    __table_args__ = (
        Index("ix_ledger_transactions_line", "commission_line_id"),
        Index("ix_ledger_transactions_order", "order_id"),
        Index("ix_ledger_transactions_leader_posted", "leader_id", "posted_at"),
    )

    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    brand_id: Mapped[int] = mapped_column(IdType)
    kind: Mapped[str] = mapped_column(String(32))
    leader_id: Mapped[int | None] = mapped_column(IdType)
    order_id: Mapped[int | None] = mapped_column(IdType)
    commission_line_id: Mapped[int | None] = mapped_column(IdType)
    rule_version_id: Mapped[int | None] = mapped_column(IdType)
    refund_id: Mapped[int | None] = mapped_column(IdType)
    memo: Mapped[str] = mapped_column(String(200), default="")
    posted_at: Mapped[datetime]


class LedgerEntry(IdMixin, Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_account", "account_id", "id"),
        Index("ix_ledger_entries_transaction", "transaction_id"),
        # A statement reads one leader's accounts over a period in posting order (posted_at, transaction).
        Index("ix_ledger_entries_account_posted", "account_id", "posted_at", "transaction_id"),
    )

    transaction_id: Mapped[int] = mapped_column(IdType)
    account_id: Mapped[int] = mapped_column(IdType)
    amount_fen: Mapped[Fen]
    posted_at: Mapped[datetime]  # a copy of the transaction's, so statements range over one index


class CommissionRuleVersion(IdMixin, Base):
    """A brand's commission rules as of `created_at`. Never changed: a change is a new version.

    Rates are basis points (1500 = 15%). An order takes the version in force when it was placed.
    """

    __tablename__ = "commission_rule_versions"
    __table_args__ = (
        UniqueConstraint("brand_id", "version"),
        Index("ix_commission_rule_versions_brand_created", "brand_id", "created_at"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    version: Mapped[int]
    live_rate_bp: Mapped[int]
    off_session_rate_bp: Mapped[int]
    product_overrides: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"product_id", "rate_bp"}]
    session_overrides: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"session_id", "product_id"|None, "rate_bp"}]
    referral_rate_bp: Mapped[int]
    referral_months: Mapped[int]
    self_purchase_counts: Mapped[bool]
    tier_bonuses: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"threshold_fen", "bonus_fen", "reward"}]
    settlement_window_days: Mapped[int]
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))


class CommissionLine(IdMixin, Base):
    """One per paid order with a leader: the rule snapshotted at payment, and where its money stands.

    commission_fen = round_half_up(paid_fen × (rate_bp + referral_bp) / 10000), 0 when excluded;
    clawed_back_fen = round_half_up(commission_fen × refunded_fen / paid_fen) (cumulative);
    settled_fen = what moved to available (commission − clawbacks at settlement time).
    """

    __tablename__ = "commission_lines"
    __table_args__ = (
        Index("ix_commission_lines_leader", "leader_id", "id"),
        Index("ix_commission_lines_due", "status", "eligible_at", "leader_id", "id"),
        Index("ix_commission_lines_brand_paid", "brand_id", "paid_at"),
        Index("ix_commission_lines_settlement", "settlement_transaction_id"),
        CheckConstraint("paid_fen >= 0 AND commission_fen >= 0", name="amounts_non_negative"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= paid_fen", name="refunded_within_paid"),
        CheckConstraint("clawed_back_fen >= 0 AND clawed_back_fen <= commission_fen", name="clawback_within_commission"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), unique=True)
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    session_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("live_sessions.id"))
    product_id: Mapped[int] = mapped_column(IdType, ForeignKey("products.id"))
    product_name: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    paid_fen: Mapped[Fen]
    rule_version_id: Mapped[int] = mapped_column(IdType, ForeignKey("commission_rule_versions.id"))
    rule: Mapped[str] = mapped_column(String(32))  # see rules.RULE_TEXT
    rate_bp: Mapped[int]
    referral_bp: Mapped[int]
    commission_fen: Mapped[Fen]
    refunded_fen: Mapped[Fen] = mapped_column(default=0)
    clawed_back_fen: Mapped[Fen] = mapped_column(default=0)
    settled_fen: Mapped[Fen] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16))
    placed_at: Mapped[datetime]
    paid_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    eligible_at: Mapped[datetime | None]  # available from; set when the order completes
    settled_at: Mapped[datetime | None]
    # The settlement transaction that moved this line's money (one per leader and settlement batch);
    # None until settled, and for a line settled at 0.
    settlement_transaction_id: Mapped[int | None] = mapped_column(IdType)
    created_at: Mapped[datetime]


class CommissionRefund(IdMixin, Base):
    """A refund as the commission sees it: one row per source (refund id, or the order's full refund).

    `requested_fen` is what the caller said was refunded; `applied_fen` the part that still counted
    (never beyond what was paid); `clawback_fen` what this refund took back (0 when rounding leaves
    nothing, in which case no ledger transaction exists). Append-only.
    """

    __tablename__ = "commission_refunds"

    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    line_id: Mapped[int] = mapped_column(IdType, ForeignKey("commission_lines.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("refunds.id"))
    requested_fen: Mapped[Fen]
    applied_fen: Mapped[Fen]
    clawback_fen: Mapped[Fen]
    from_account_kind: Mapped[str | None] = mapped_column(String(32))  # leader_pending or leader_available
    transaction_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime]


class TierBonus(IdMixin, Base):
    """A leader's tier bonus for one month (brand time zone): what the last computation found and awarded.

    Every change of `awarded_fen` is a ledger transaction (`tier-bonus:{leader}:{month}:{revision}`).
    """

    __tablename__ = "tier_bonuses"
    __table_args__ = (UniqueConstraint("leader_id", "month"), Index("ix_tier_bonuses_brand_month", "brand_id", "month"))

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    rule_version_id: Mapped[int] = mapped_column(IdType, ForeignKey("commission_rule_versions.id"))
    gmv_fen: Mapped[Fen]
    threshold_fen: Mapped[Fen | None]  # the tier reached, None below the first
    reward: Mapped[str] = mapped_column(String(100), default="")  # in-kind reward of that tier, if any
    awarded_fen: Mapped[Fen]
    revision: Mapped[int]
    computed_at: Mapped[datetime]


_APPEND_ONLY = (LedgerTransaction, LedgerEntry, CommissionRefund)


@event.listens_for(Session, "before_flush")
def _refuse_ledger_rewrites(session: Session, _context: Any, _instances: Any) -> None:
    """Ledger rows are never updated or deleted through the ORM; corrections are new transactions."""
    for obj in session.deleted:
        if isinstance(obj, _APPEND_ONLY):
            raise RuntimeError(f"{type(obj).__name__} rows are append-only; post a correcting transaction")
    for obj in session.dirty:
        if isinstance(obj, _APPEND_ONLY) and session.is_modified(obj, include_collections=False):
            raise RuntimeError(f"{type(obj).__name__} rows are append-only; post a correcting transaction")
