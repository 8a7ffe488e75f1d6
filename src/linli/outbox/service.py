"""Writing domain events into the outbox, and processing them with registered handlers.

Events are written in the caller's transaction, so an event exists exactly when its change does.
A worker claims a batch (FOR UPDATE SKIP LOCKED on PostgreSQL, so any number of workers can run;
SQLite has one writer anyway), runs every handler of the event's topic in the same transaction and
marks it processed: a handler's writes and the "processed" mark commit together. A failing
handler rolls back only its event's savepoint; the event is retried later with a growing delay.

An event written on a stream also wakes the stream's tails when its transaction commits
(`linli.outbox.commit_hook`: NOTIFY on PostgreSQL, `linli.outbox.signals` in this process).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.outbox import commit_hook
from linli.outbox.models import OutboxEvent

Handler = Callable[..., Awaitable[None]]  # async def handler(*, session, event, now) -> None
MAX_BACKOFF = timedelta(minutes=10)


def emit(session: AsyncSession, *, topic: str, payload: dict[str, Any], now: datetime, stream: str | None = None) -> None:
    session.add(OutboxEvent(topic=topic, stream=stream, payload=payload, created_at=now, available_at=now))
    if stream is not None:
        # Whoever tails the stream hears of it when (and only if) this transaction commits.
        commit_hook.mark(session, stream=stream, topic=topic)


def announce(session: AsyncSession, *, stream: str, topic: str) -> None:
    """For a caller that wrote an event on `stream` itself (one statement with its other rows, the order path):
    whoever tails the stream hears of it when this transaction commits, exactly as after `emit`."""
    commit_hook.mark(session, stream=stream, topic=topic)


async def recent_on_stream(
    *, session: AsyncSession, stream: str, topic: str, since: datetime
) -> list[OutboxEvent]:
    """The events of one topic written to a stream after `since`, newest first (a rate limit's memory)."""
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.stream == stream, OutboxEvent.topic == topic, OutboxEvent.created_at > since)
        .order_by(OutboxEvent.id.desc())
    )
    return list(rows)


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    def register(self, topic: str, handler: Handler) -> None:
        self._handlers.setdefault(topic, []).append(handler)

    def for_topic(self, topic: str) -> list[Handler]:
        return self._handlers.get(topic, [])


@dataclass(frozen=True)
class BatchReport:
    claimed: int  # events taken from the outbox in this batch
    failed: int  # of which a handler failed (they are retried later)


async def process_batch(
    *, session: AsyncSession, registry: HandlerRegistry, now: datetime, limit: int = 100
) -> BatchReport:
    """Claims up to `limit` due events, runs their handlers and marks them processed."""
    events = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.processed_at.is_(None), OutboxEvent.available_at <= now)
            .order_by(OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    failed = 0
    processed: list[int] = []
    for event in events:
        handlers = registry.for_topic(event.topic)
        if handlers:  # an event nobody handles (a room's ticker) needs no savepoint: there is nothing to undo
            try:
                async with session.begin_nested():
                    for handler in handlers:
                        await handler(session=session, event=event, now=now)
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, never lost
                event.attempts += 1
                event.last_error = f"{type(exc).__name__}: {exc}"[:500]
                event.available_at = now + min(MAX_BACKOFF, timedelta(seconds=2**event.attempts))
                failed += 1
                continue
        processed.append(event.id)
    if processed:  # one statement for the batch, not one per event
        await session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(processed)).values(processed_at=now))
    return BatchReport(claimed=len(events), failed=failed)


async def prune_processed(*, session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(
        delete(OutboxEvent).where(OutboxEvent.processed_at.is_not(None), OutboxEvent.processed_at < older_than)
    )
    return result.rowcount or 0


# --- what an operator watches (`linli outbox status`, /healthz, /metrics) --------------------------

FAILING_ATTEMPTS = 3  # an event whose handlers failed this many times "keeps failing"


@dataclass(frozen=True)
class FailingEvent:
    id: int
    topic: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime


@dataclass(frozen=True)
class OutboxStatus:
    pending: int  # not processed yet
    due: int  # of which may be handled now (the others wait for their retry time)
    retrying: int  # pending whose handlers failed at least once
    failing: int  # pending whose handlers failed FAILING_ATTEMPTS times or more
    oldest_pending_at: datetime | None
    oldest_pending_age_seconds: float | None
    failing_topics: dict[str, int]
    failing_events: list[FailingEvent]


async def status(*, session: AsyncSession, now: datetime, limit: int = 10) -> OutboxStatus:
    """The outbox's backlog and the events that keep failing (most attempts first, with their last error)."""
    pending = OutboxEvent.processed_at.is_(None)
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((OutboxEvent.available_at <= now, 1), else_=0)), 0),
                func.coalesce(func.sum(case((OutboxEvent.attempts > 0, 1), else_=0)), 0),
                func.coalesce(func.sum(case((OutboxEvent.attempts >= FAILING_ATTEMPTS, 1), else_=0)), 0),
                func.min(OutboxEvent.created_at),
            ).where(pending)
        )
    ).one()
    oldest = row[4]
    failing = OutboxEvent.attempts >= FAILING_ATTEMPTS
    topics = await session.execute(
        select(OutboxEvent.topic, func.count())
        .where(pending, failing)
        .group_by(OutboxEvent.topic)
        .order_by(OutboxEvent.topic)
    )
    events = await session.scalars(
        select(OutboxEvent).where(pending, failing).order_by(OutboxEvent.attempts.desc(), OutboxEvent.id).limit(limit)
    )
    return OutboxStatus(
        pending=int(row[0]), due=int(row[1]), retrying=int(row[2]), failing=int(row[3]), oldest_pending_at=oldest,
        oldest_pending_age_seconds=max(0.0, (now - oldest).total_seconds()) if oldest is not None else None,
        failing_topics={topic: int(count) for topic, count in topics.all()},
        failing_events=[
            FailingEvent(e.id, e.topic, e.attempts, e.last_error, e.created_at, e.available_at) for e in events
        ],
    )
