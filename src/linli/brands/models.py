"""Brands, their staff, their communities (小区) and each community's pickup point."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin, IdType


class Brand(IdMixin, Base):
    __tablename__ = "brands"

    name: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime]


class StaffMember(IdMixin, Base):
    __tablename__ = "staff_members"
    __table_args__ = (UniqueConstraint("brand_id", "user_id"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # owner, operator
    created_at: Mapped[datetime]


class Community(IdMixin, Base):
    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("brand_id", "name"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class PickupPoint(IdMixin, Base):
    """Where a community's orders are delivered and collected; one per community."""

    __tablename__ = "pickup_points"

    community_id: Mapped[int] = mapped_column(IdType, ForeignKey("communities.id"), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(255))
    opening_hours: Mapped[str] = mapped_column(String(64))
    contact_name: Mapped[str] = mapped_column(String(32))
    contact_phone: Mapped[str] = mapped_column(String(20))
