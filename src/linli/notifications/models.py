"""In-app notifications: a user's inbox (the default notification channel)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin, IdType


class Notification(IdMixin, Base):
    """One message in one user's inbox. `dedupe_key` is unique: a redelivered event notifies once."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user", "user_id", "id"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))
    brand_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("brands.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(500))
    order_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("orders.id"))
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
