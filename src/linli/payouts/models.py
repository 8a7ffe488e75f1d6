"""Withdrawals of a leader's available commission, the brand's payout policy, and provider notifications.

A withdrawal moves money in the ledger (linli.ledger.service) at each step; the ids of those postings
are kept on the row so that `linli audit` can check every step against the ledger:

    requested  ─approve→  approved  ─provider paid→  paid  ─provider returned→  returned
        │                    └─provider failed→  failed
        └─reject→  rejected

Postings (keys derived from the withdrawal id, so each happens at most once):
  request  `withdrawal:{id}:request`  leader available −amount, leader withdrawing +amount
  paid     `withdrawal:{id}:paid`     leader withdrawing −amount, brand payouts clearing +net, brand fee income +fee
  released `withdrawal:{id}:release`  leader withdrawing −amount, leader available +amount (failed or rejected)
  returned `withdrawal:{id}:return`   brand payouts clearing −net, brand fee income −fee, leader available +amount
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, Fen, IdMixin, IdType

REQUESTED = "requested"  # asked for; the amount waits in "withdrawing" for staff approval
APPROVED = "approved"  # approved; the payout provider is being asked / is transferring
PAID = "paid"  # the provider transferred the net amount
FAILED = "failed"  # the provider refused or gave up; the amount is back in available
REJECTED = "rejected"  # staff refused it (with a reason); the amount is back in available
RETURNED = "returned"  # paid, then the transfer came back; the amount is back in available
STATUSES = (REQUESTED, APPROVED, PAID, FAILED, REJECTED, RETURNED)
OPEN_STATUSES = (REQUESTED, APPROVED)  # the amount is in the leader's withdrawing account
COUNTED_STATUSES = (REQUESTED, APPROVED, PAID)  # what counts against the daily cap

STATUS_TEXT = {
    REQUESTED: "待审核",
    APPROVED: "打款中",
    PAID: "已到账",
    FAILED: "打款失败，已退回可提现",
    REJECTED: "已驳回，已退回可提现",
    RETURNED: "到账后被退回，已退回可提现",
}

# Defaults of a brand that never set a policy (docs/withdrawals.md).
DEFAULT_MIN_AMOUNT_FEN = 1_000  # 10 元
DEFAULT_FEE_BP = 0  # no fee
DEFAULT_DAILY_CAP_FEN = 500_000  # 5,000 元 per leader per business day


class PayoutPolicy(Base):
    """A brand's withdrawal rules; a brand without a row uses the defaults above."""

    __tablename__ = "payout_policies"
    __table_args__ = (
        CheckConstraint("min_amount_fen >= 1", name="min_positive"),
        CheckConstraint("fee_bp >= 0 AND fee_bp <= 2000", name="fee_range"),
        CheckConstraint("daily_cap_fen >= min_amount_fen", name="cap_above_min"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    min_amount_fen: Mapped[Fen]
    fee_bp: Mapped[int]
    daily_cap_fen: Mapped[Fen]
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))


class Withdrawal(IdMixin, Base):
    __tablename__ = "withdrawals"
    __table_args__ = (
        UniqueConstraint("leader_id", "idempotency_key"),
        Index("ix_withdrawals_leader_day", "leader_id", "business_date"),
        Index("ix_withdrawals_brand_status", "brand_id", "status", "id"),
        CheckConstraint("amount_fen > 0 AND fee_fen >= 0 AND net_fen > 0", name="amounts_positive"),
        CheckConstraint("amount_fen = fee_fen + net_fen", name="fee_split_sums"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[Fen]  # what leaves the leader's available balance
    fee_bp: Mapped[int]  # the policy's fee rate at request time
    fee_fen: Mapped[Fen]
    net_fen: Mapped[Fen]  # what the provider transfers
    status: Mapped[str] = mapped_column(String(16))
    business_date: Mapped[date]  # the request's day in the brand's time zone (daily cap)
    provider: Mapped[str | None] = mapped_column(String(16))  # chosen at approval
    out_batch_no: Mapped[str | None] = mapped_column(String(32), unique=True)  # stable: the provider dedupes by it
    out_detail_no: Mapped[str | None] = mapped_column(String(32), unique=True)
    provider_reference: Mapped[str | None] = mapped_column(String(64))  # the provider's batch / detail id
    provider_state: Mapped[str | None] = mapped_column(String(32))  # the provider's last word, e.g. PROCESSING
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    reject_reason: Mapped[str | None] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]
    approved_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    rejected_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    finished_at: Mapped[datetime | None]  # paid, failed or rejected
    returned_at: Mapped[datetime | None]
    request_transaction_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("ledger_transactions.id"))
    paid_transaction_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("ledger_transactions.id"))
    release_transaction_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("ledger_transactions.id"))
    return_transaction_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("ledger_transactions.id"))


class PayoutCallback(IdMixin, Base):
    """Every verified payout notification, keyed by the provider's notification id (duplicates are no-ops)."""

    __tablename__ = "payout_callbacks"

    provider: Mapped[str] = mapped_column(String(16))
    notification_id: Mapped[str] = mapped_column(String(64), unique=True)
    withdrawal_id: Mapped[int] = mapped_column(IdType, ForeignKey("withdrawals.id"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]
