"""Orders: what a member reserved, at which price, attributed to which leader, and where it goes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, Fen, IdMixin, IdType


class Order(IdMixin, Base):
    """A snapshot taken at placement: later price, binding or pickup-point changes never rewrite it."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("member_id", "idempotency_key"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("total_fen = unit_price_fen * quantity", name="total_is_price_times_quantity"),
        CheckConstraint("discount_fen >= 0", name="discount_not_negative"),
        CheckConstraint("payable_fen = total_fen - discount_fen", name="payable_is_total_minus_discount"),
        CheckConstraint("payable_fen >= 1", name="payable_at_least_one_fen"),
        Index("ix_orders_status_expires", "status", "expires_at"),
        Index("ix_orders_leader_placed", "leader_id", "placed_at"),
        Index("ix_orders_offer_member", "offer_id", "member_id"),
        Index("ix_orders_listing_member", "listing_id", "member_id"),
        Index("ix_orders_member_placed", "member_id", "placed_at"),
        Index("ix_orders_session_leader", "session_id", "leader_id"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))
    session_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("live_sessions.id"))
    listing_id: Mapped[int] = mapped_column(IdType, ForeignKey("listings.id"))
    offer_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("community_offers.id"))
    sku_id: Mapped[int] = mapped_column(IdType, ForeignKey("skus.id"))
    product_id: Mapped[int] = mapped_column(IdType, ForeignKey("products.id"))
    product_name: Mapped[str] = mapped_column(String(64))
    sku_name: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    unit_price_fen: Mapped[Fen]
    total_fen: Mapped[Fen]  # price × quantity, before any coupon
    discount_fen: Mapped[Fen]  # what the coupon took off (0 without one)
    payable_fen: Mapped[Fen]  # what the member pays: the payment, commission, refunds and GMV are on it
    coupon_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("coupons.id"))
    leader_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("leaders.id"))
    community_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("communities.id"))
    pickup_point_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("pickup_points.id"))
    status: Mapped[str] = mapped_column(String(24))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]  # expired, cancelled or fully refunded


class OrderStatusChange(IdMixin, Base):
    __tablename__ = "order_status_changes"

    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime]
