"""Bindings (member → leader), the append-only attribution trail, disputes and the brand's policy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin, IdType


class BindingPolicy(Base):
    __tablename__ = "binding_policies"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), default="permanent")  # permanent, validity, last_touch
    validity_days: Mapped[int] = mapped_column(default=30)
    protection_days: Mapped[int] = mapped_column(default=0)
    only_new_members: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))


class Binding(IdMixin, Base):
    """A member's current attribution: one row per member (the unique constraint is the last defence)."""

    __tablename__ = "bindings"
    __table_args__ = (
        Index("ix_bindings_leader_status", "leader_id", "status"),
        Index("ix_bindings_leader_bound_at", "leader_id", "bound_at"),  # a leader's new members of a period
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), unique=True)
    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    status: Mapped[str] = mapped_column(String(16))  # active, expired
    source: Mapped[str] = mapped_column(String(16))  # invite_code, transfer, dispute
    invite_code: Mapped[str | None] = mapped_column(String(16))
    bound_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    protected_until: Mapped[datetime | None]


class AttributionEvent(IdMixin, Base):
    """The append-only attribution trail: every binding change and every refused attempt, with why."""

    __tablename__ = "attribution_events"
    __table_args__ = (
        Index("ix_attribution_events_member", "member_id", "id"),
        Index("ix_attribution_events_leader", "leader_id", "id"),
        Index("ix_attribution_events_previous_leader", "previous_leader_id", "id"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), index=True)
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(16))  # bound, renewed, expired, transferred, refused
    leader_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("leaders.id"))
    previous_leader_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("leaders.id"))
    reason: Mapped[str] = mapped_column(String(32))
    invite_code: Mapped[str | None] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    occurred_at: Mapped[datetime]


class Dispute(IdMixin, Base):
    """A leader's claim that a member bound elsewhere is theirs; brand staff uphold or reject it."""

    __tablename__ = "attribution_disputes"
    __table_args__ = (
        Index(
            "uq_disputes_open_per_claimant",
            "member_id",
            "claimant_leader_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), index=True)
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    claimant_leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    bound_leader_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("leaders.id"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))  # open, upheld, rejected
    resolution_reason: Mapped[str | None] = mapped_column(String(500))
    resolved_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    opened_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
