"""Live sessions with their run-of-show, listings (products mounted with a live price and a cap) and
community offers (社区专享价: one community's price, quota, per-member limit and window)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, Fen, IdMixin, IdType


class LiveSession(IdMixin, Base):
    __tablename__ = "live_sessions"
    __table_args__ = (Index("ix_live_sessions_brand_start", "brand_id", "scheduled_start_at"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    title: Mapped[str] = mapped_column(String(100))
    stream_url: Mapped[str] = mapped_column(String(500), default="")
    cover_url: Mapped[str] = mapped_column(String(500), default="")
    scheduled_start_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled, live, ended, cancelled
    phases: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"code", "title", "minutes"}]
    current_phase: Mapped[int | None]  # index into phases while live
    phase_started_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Listing(IdMixin, Base):
    """A SKU mounted in a session at a live price; `sold` (reserved or paid) never exceeds `allocation`."""

    __tablename__ = "listings"
    __table_args__ = (
        UniqueConstraint("session_id", "sku_id"),
        CheckConstraint("sold >= 0 AND sold <= allocation", name="sold_within_allocation"),
        CheckConstraint("live_price_fen > 0", name="live_price_positive"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    session_id: Mapped[int] = mapped_column(IdType, ForeignKey("live_sessions.id"))
    sku_id: Mapped[int] = mapped_column(IdType, ForeignKey("skus.id"))
    live_price_fen: Mapped[Fen]
    allocation: Mapped[int]
    sold: Mapped[int] = mapped_column(default=0)
    per_member_limit: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, withdrawn
    created_at: Mapped[datetime]


class CommunityOffer(IdMixin, Base):
    """社区专享价: only members bound to this community's leader may take it, within quota and window."""

    __tablename__ = "community_offers"
    __table_args__ = (
        CheckConstraint("sold >= 0 AND sold <= quota", name="sold_within_quota"),
        CheckConstraint("price_fen > 0", name="price_positive"),
        CheckConstraint("per_member_limit > 0", name="limit_positive"),
        Index("ix_community_offers_session", "session_id", "status"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    session_id: Mapped[int] = mapped_column(IdType, ForeignKey("live_sessions.id"))
    listing_id: Mapped[int] = mapped_column(IdType, ForeignKey("listings.id"))
    community_id: Mapped[int] = mapped_column(IdType, ForeignKey("communities.id"))
    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    title: Mapped[str] = mapped_column(String(100), default="")
    price_fen: Mapped[Fen]
    quota: Mapped[int]
    sold: Mapped[int] = mapped_column(default=0)
    per_member_limit: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft, open, closed
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class RoomVisit(IdMixin, Base):
    """One viewer opening a live room, with the invite code's leader when they came through one (the funnel)."""

    __tablename__ = "room_visits"
    __table_args__ = (Index("ix_room_visits_session_leader", "session_id", "leader_id"),)

    session_id: Mapped[int] = mapped_column(IdType, ForeignKey("live_sessions.id"))
    user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    leader_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("leaders.id"))
    visited_at: Mapped[datetime]


class RoomComment(IdMixin, Base):
    __tablename__ = "room_comments"
    __table_args__ = (Index("ix_room_comments_session_user", "session_id", "user_id", "created_at"),)

    session_id: Mapped[int] = mapped_column(IdType, ForeignKey("live_sessions.id"))
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
