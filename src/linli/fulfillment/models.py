"""Fulfillment: delivery waves and one parcel per paid order, from the wave to the member's hands.

A parcel is the order as the warehouse and the pickup point see it. Its status moves forward only:
waiting (paid, in no wave yet) → packed → in_transit → arrived (at the pickup point) → picked_up;
an unclaimed parcel may end `returned` (the brand's policy), a parcel whose order was refunded in full
before it left ends `cancelled`. The order's own status stays `paid`: fulfillment is a separate story.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, Fen, IdMixin, IdType

PARCEL_WAITING = "waiting"
PARCEL_PACKED = "packed"
PARCEL_IN_TRANSIT = "in_transit"
PARCEL_ARRIVED = "arrived"
PARCEL_PICKED_UP = "picked_up"
PARCEL_RETURNED = "returned"
PARCEL_CANCELLED = "cancelled"
PARCEL_STATUSES = (
    PARCEL_WAITING, PARCEL_PACKED, PARCEL_IN_TRANSIT, PARCEL_ARRIVED, PARCEL_PICKED_UP, PARCEL_RETURNED,
    PARCEL_CANCELLED,
)

WAVE_OPEN = "open"
WAVE_PACKED = "packed"
WAVE_IN_TRANSIT = "in_transit"
WAVE_ARRIVED = "arrived"
WAVE_STATUSES = (WAVE_OPEN, WAVE_PACKED, WAVE_IN_TRANSIT, WAVE_ARRIVED)

UNCLAIMED_KEEP_WAITING = "keep_waiting"
UNCLAIMED_RETURN_REFUND = "return_refund"
UNCLAIMED_ACTIONS = (UNCLAIMED_KEEP_WAITING, UNCLAIMED_RETURN_REFUND)


class DeliveryWave(IdMixin, Base):
    """Orders paid by `cutoff_at` for one pickup point, delivered together (expected from `arrive_after`)."""

    __tablename__ = "delivery_waves"
    __table_args__ = (Index("ix_delivery_waves_point_cutoff", "pickup_point_id", "cutoff_at"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), index=True)
    pickup_point_id: Mapped[int] = mapped_column(IdType, ForeignKey("pickup_points.id"))
    community_id: Mapped[int] = mapped_column(IdType, ForeignKey("communities.id"))
    cutoff_at: Mapped[datetime]
    arrive_after: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))
    packed_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]


class Parcel(IdMixin, Base):
    """One per paid order (created when it is paid); `pickup_code` is unique among a point's open parcels.

    `open_code` repeats the code while the parcel can still be collected and is cleared when it closes
    (picked up, returned, cancelled): the unique (pickup point, open_code) pair enforces "unique among open
    parcels" on both databases (NULLs never collide), and a closed parcel's code may be drawn again.
    """

    __tablename__ = "parcels"
    __table_args__ = (
        UniqueConstraint("pickup_point_id", "open_code"),
        Index("ix_parcels_status_next_action", "status", "next_action_at"),
        Index("ix_parcels_point_status", "pickup_point_id", "status"),
        Index("ix_parcels_wave", "wave_id"),
        Index("ix_parcels_member", "member_id", "id"),
        Index("ix_parcels_point_code", "pickup_point_id", "pickup_code"),
    )

    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), unique=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    leader_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("leaders.id"))
    community_id: Mapped[int] = mapped_column(IdType, ForeignKey("communities.id"))
    pickup_point_id: Mapped[int] = mapped_column(IdType, ForeignKey("pickup_points.id"))
    wave_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("delivery_waves.id"))
    pickup_code: Mapped[str] = mapped_column(String(6))
    open_code: Mapped[str | None] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(16))
    paid_at: Mapped[datetime]
    created_at: Mapped[datetime]
    packed_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    picked_up_at: Mapped[datetime | None]
    picked_up_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_reminded_at: Mapped[datetime | None]
    # When the unclaimed-parcel job should look at this arrived parcel next (a reminder or the return).
    next_action_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class FulfillmentPolicy(Base):
    """A brand's rules for unclaimed parcels; a brand without a row has the defaults (see service.DEFAULT_POLICY)."""

    __tablename__ = "fulfillment_policies"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    remind_after_hours: Mapped[int]
    remind_every_hours: Mapped[int]
    max_reminders: Mapped[int]
    unclaimed_action: Mapped[str] = mapped_column(String(16))
    unclaimed_after_days: Mapped[int]
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))


class StaffRefund(IdMixin, Base):
    """A paid order refunded in full by brand staff before its parcel left the warehouse.

    One per order (a second refund is a 409) and one per (brand, idempotency key) (a replay returns this row).
    """

    __tablename__ = "staff_refunds"
    __table_args__ = (UniqueConstraint("brand_id", "idempotency_key"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), unique=True)
    parcel_id: Mapped[int] = mapped_column(IdType, ForeignKey("parcels.id"))
    refund_id: Mapped[int] = mapped_column(IdType, ForeignKey("refunds.id"))
    amount_fen: Mapped[Fen]
    reason: Mapped[str] = mapped_column(String(200))
    # Where the parcel was when it was stopped (waiting or packed): the warehouse knows whether to unpack a bag.
    parcel_status: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    refunded_by_user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))
    created_at: Mapped[datetime]
