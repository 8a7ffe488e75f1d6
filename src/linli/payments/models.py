"""Payments and refunds through a provider; every callback is recorded and applied at most once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, Fen, IdMixin, IdType


class Payment(IdMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), index=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    provider: Mapped[str] = mapped_column(String(16))  # simulator, wechatpay
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    amount_fen: Mapped[Fen]
    status: Mapped[str] = mapped_column(String(16))  # pending, succeeded, failed
    provider_transaction_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    prepay: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the client needs to pay
    created_at: Mapped[datetime]
    succeeded_at: Mapped[datetime | None]


class Refund(IdMixin, Base):
    """Money back to the payer; one per idempotency key (e.g. "order-expired:42", "claim:7")."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    payment_id: Mapped[int] = mapped_column(IdType, ForeignKey("payments.id"), index=True)
    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), index=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[Fen]
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # pending, succeeded, failed
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class PaymentCallback(IdMixin, Base):
    """Every verified provider notification, keyed by the provider's notification id (duplicates are no-ops)."""

    __tablename__ = "payment_callbacks"

    provider: Mapped[str] = mapped_column(String(16))
    notification_id: Mapped[str] = mapped_column(String(64), unique=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), index=True)
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]
