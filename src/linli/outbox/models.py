"""The transactional outbox: domain events written in the same transaction as the change that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, Index, String, event
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


# On PostgreSQL every INSERT into the outbox tells the LISTENing processes which streams it wrote, when it
# commits (see linli.outbox.commit_hook): a trigger, so that the writing transaction sends no statement more.
NOTIFY_CHANNEL = "linli_room"
# PostgreSQL refuses payloads of 8000 bytes or more: a stream with many topics sends its name alone (no
# topics = "anything may have changed"); a stream whose very name is that long is left to the poll.
NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION linli_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    PERFORM pg_notify('{NOTIFY_CHANNEL}', CASE WHEN octet_length(payload) <= 1000 THEN payload ELSE stream END)
    FROM (
        SELECT stream, stream || ' ' || string_agg(DISTINCT topic, ',' ORDER BY topic) AS payload
        FROM new_rows WHERE stream IS NOT NULL GROUP BY stream
    ) AS streams
    WHERE octet_length(stream) <= 1000;
    RETURN NULL;
END
$body$
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION linli_outbox_notify()
"""

for _ddl in (NOTIFY_FUNCTION, NOTIFY_TRIGGER):
    event.listen(OutboxEvent.__table__, "after_create", DDL(_ddl).execute_if(dialect="postgresql"))
