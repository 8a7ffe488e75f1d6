"""The transactional outbox: domain events written in the same transaction as the change that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin


class OutboxEvent(IdMixin, Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_pending", "processed_at", "available_at"),
        Index("ix_outbox_stream", "stream", "id"),
    )

    topic: Mapped[str] = mapped_column(String(64))  # order.paid, live.offer_opened, …
    stream: Mapped[str | None] = mapped_column(String(64))  # e.g. live_session:7, for readers that tail one stream
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    available_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
