"""Writing domain events into the outbox, and processing them with registered handlers.

Events are written in the caller's transaction, so an event exists exactly when its change does.
A worker claims a batch (FOR UPDATE SKIP LOCKED on PostgreSQL, so any number of workers can run;
SQLite has one writer anyway), runs every handler of the event's topic in the same transaction and
marks it processed: a handler's writes and the "processed" mark commit together. A failing
handler rolls back only its savepoint; the event is retried later with a growing delay.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.outbox.models import OutboxEvent

Handler = Callable[..., Awaitable[None]]  # async def handler(*, session, event, now) -> None
MAX_BACKOFF = timedelta(minutes=10)


def emit(session: AsyncSession, *, topic: str, payload: dict[str, Any], now: datetime, stream: str | None = None) -> None:
    session.add(OutboxEvent(topic=topic, stream=stream, payload=payload, created_at=now, available_at=now))


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    def register(self, topic: str, handler: Handler) -> None:
        self._handlers.setdefault(topic, []).append(handler)

    def for_topic(self, topic: str) -> list[Handler]:
        return self._handlers.get(topic, [])


async def process_batch(
    *, session: AsyncSession, registry: HandlerRegistry, now: datetime, limit: int = 100
) -> int:
    """Claims up to `limit` due events, runs their handlers and marks them processed. Returns how many."""
    events = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.processed_at.is_(None), OutboxEvent.available_at <= now)
            .order_by(OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for event in events:
        try:
            async with session.begin_nested():
                for handler in registry.for_topic(event.topic):
                    await handler(session=session, event=event, now=now)
        except Exception as exc:  # noqa: BLE001 - any handler failure is retried, never lost
            event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:500]
            event.available_at = now + min(MAX_BACKOFF, timedelta(seconds=2**event.attempts))
            continue
        event.processed_at = now
    return len(events)


async def prune_processed(*, session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(
        delete(OutboxEvent).where(OutboxEvent.processed_at.is_not(None), OutboxEvent.processed_at < older_than)
    )
    return result.rowcount or 0
