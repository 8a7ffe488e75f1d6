"""After-sales (售后): claims with photos, the brand's after-sales policy, and delivered orders for claim rates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, Fen, IdMixin, IdType

REASONS = ("bad", "missing", "wrong", "other")  # 坏果/破损, 少件/漏发, 发错货, 其他

CLAIM_REVIEWING = "reviewing"  # waiting for the brand
CLAIM_REFUNDING = "refunding"  # approved (at once, in full or in part); the refund is with the provider
CLAIM_REFUNDED = "refunded"
CLAIM_REFUND_FAILED = "refund_failed"  # the provider refused; staff retry
CLAIM_REJECTED = "rejected"
CLAIM_STATUSES = (CLAIM_REVIEWING, CLAIM_REFUNDING, CLAIM_REFUNDED, CLAIM_REFUND_FAILED, CLAIM_REJECTED)
# A claim in one of these still holds the order: no second claim until it is refunded or rejected.
OPEN_STATUSES = (CLAIM_REVIEWING, CLAIM_REFUNDING, CLAIM_REFUND_FAILED)

DECISION_INSTANT = "instant"
DECISION_APPROVED = "approved"
DECISION_PARTIAL = "partial"
DECISION_REJECTED = "rejected"


def _status_in(statuses: tuple[str, ...]) -> object:
    return text("status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")")


class AfterSalesPolicy(IdMixin, Base):
    """A brand's after-sales policy as of `created_at`. Never changed: a change is a new version (who, when)."""

    __tablename__ = "aftersales_policies"
    __table_args__ = (UniqueConstraint("brand_id", "version"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    version: Mapped[int]
    window_hours: Mapped[int]  # claims are accepted this long after pickup
    instant_enabled: Mapped[bool]
    instant_max_fen: Mapped[Fen]  # claims up to this amount may be refunded at once …
    instant_lookback_days: Mapped[int]  # … if, over this many days before the claim, the member filed
    instant_max_recent_claims: Mapped[int]  # fewer claims than this
    instant_max_claim_rate_bp: Mapped[int]  # and claims ÷ delivered orders ≤ this (basis points)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))


class Claim(IdMixin, Base):
    """One after-sales claim on one paid order; the order's facts are snapshotted when it is filed."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("filed_by_user_id", "idempotency_key"),
        # The last line of defence behind the order row lock: one open claim per order.
        Index(
            "uq_claims_order_open",
            "order_id",
            unique=True,
            sqlite_where=_status_in(OPEN_STATUSES),
            postgresql_where=_status_in(OPEN_STATUSES),
        ),
        Index("ix_claims_brand_status", "brand_id", "status", "id"),
        Index("ix_claims_community", "community_id", "id"),
        Index("ix_claims_member_filed", "member_id", "filed_at"),
        Index("ix_claims_brand_filed", "brand_id", "filed_at"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("amount_asked_fen > 0", name="amount_asked_positive"),
        CheckConstraint("approved_fen >= 0 AND approved_fen <= amount_asked_fen", name="approved_within_asked"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= approved_fen", name="refunded_within_approved"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), index=True)
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"), index=True)  # the member's user
    leader_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("leaders.id"))  # the order's leader
    community_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("communities.id"))
    pickup_point_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("pickup_points.id"))
    product_id: Mapped[int] = mapped_column(IdType, ForeignKey("products.id"))
    product_name: Mapped[str] = mapped_column(String(64))
    sku_name: Mapped[str] = mapped_column(String(64))
    wave_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("delivery_waves.id"))
    ordered_quantity: Mapped[int]
    paid_fen: Mapped[Fen]
    received_at: Mapped[datetime]  # picked up (or, for `missing`, arrived at the point): the window starts here
    reason: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int]
    amount_asked_fen: Mapped[Fen]
    description: Mapped[str] = mapped_column(String(500), default="")
    filed_by_user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))
    filed_by_role: Mapped[str] = mapped_column(String(16))  # member, leader
    idempotency_key: Mapped[str] = mapped_column(String(64))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str | None] = mapped_column(String(16))  # instant, approved, partial, rejected
    decision_reason: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    approved_fen: Mapped[Fen] = mapped_column(default=0)
    refund_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("refunds.id"), index=True)  # the latest attempt
    refund_attempts: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[Fen] = mapped_column(default=0)
    refunded_at: Mapped[datetime | None]


class ClaimPhoto(IdMixin, Base):
    __tablename__ = "claim_photos"
    __table_args__ = (UniqueConstraint("claim_id", "sha256"),)

    claim_id: Mapped[int] = mapped_column(IdType, ForeignKey("claims.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ClaimStatusChange(IdMixin, Base):
    """Append-only history: who moved a claim, when, and why (None actor: the system or the provider)."""

    __tablename__ = "claim_status_changes"

    claim_id: Mapped[int] = mapped_column(IdType, ForeignKey("claims.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(200))
    actor_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    changed_at: Mapped[datetime]


class DeliveredOrder(IdMixin, Base):
    """An order the member picked up (from `order.completed`): the denominator of claim rates."""

    __tablename__ = "aftersales_delivered_orders"
    __table_args__ = (
        Index("ix_aftersales_delivered_brand_at", "brand_id", "delivered_at"),
        Index("ix_aftersales_delivered_member_at", "member_id", "delivered_at"),
    )

    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), unique=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    leader_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("leaders.id"))
    product_id: Mapped[int] = mapped_column(IdType, ForeignKey("products.id"))
    wave_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("delivery_waves.id"))
    paid_fen: Mapped[Fen]
    delivered_at: Mapped[datetime]
