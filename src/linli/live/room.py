"""The real-time live room: Server-Sent Events tailing the room's outbox stream.

On connect the viewer gets a `snapshot` (session, phase, listings and open offers with what is left,
the last comments), then every event written to the stream `live_session:{id}` in id order, each with
`id:` = the outbox id and `event:` = the topic (`live.stock`, `live.order_ticker`, `live.phase_changed`,
`live.offer_opened`, `live.offer_closed`, `live.comment`, …). A reconnecting browser sends
`Last-Event-ID` and resumes after it. When the session is over (ended or cancelled) the stream sends
`session_ended` and closes. Any API process can serve any viewer: events cross processes through the
database, which each connection polls in short read-only transactions (no connection is held between
polls).

Late commits: outbox ids are handed out at insert, not at commit, so on PostgreSQL an event can become
visible after one with a higher id. Besides "ids above the cursor", each poll looks back over the ids
that were above the cursor a few seconds ago (`LOOKBACK_SECONDS`) and sends any it has not sent yet; the
ids sent in that window are kept (a bounded set). A viewer therefore sees every event whose transaction
took less than the look-back to commit, exactly once, though such a late one arrives out of id order.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.context import AppContext
from linli.live import comments, service
from linli.live.models import LiveSession
from linli.live.schemas import ListingOut, OfferOut, SessionOut
from linli.outbox.models import OutboxEvent

POLL_SECONDS = 0.3
HEARTBEAT_SECONDS = 15.0
LOOKBACK_SECONDS = 5.0
BATCH = 200
RETRY_MS = 3000
TERMINAL_TOPICS = ("live.session_ended", "live.session_cancelled")


def format_event(*, event: str, data: Any, event_id: int | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    body = json.dumps(to_jsonable_python(data), ensure_ascii=False, separators=(",", ":"))
    lines.append(f"data: {body}")  # json.dumps never emits a raw newline
    return "\n".join(lines) + "\n\n"


def parse_last_event_id(value: str | None) -> int | None:
    """The id a browser resumes after; anything that is not a plain non-negative integer is ignored."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


async def snapshot(*, session: AsyncSession, session_id: int, now: datetime) -> dict[str, Any]:
    """The room as it is now, and the newest event id of its stream that this state already reflects."""
    state = await service.room_state(session=session, session_id=session_id, now=now)
    as_of = await session.scalar(
        select(func.coalesce(func.max(OutboxEvent.id), 0)).where(OutboxEvent.stream == service.room_stream(session_id))
    )
    return {
        "session": SessionOut(**service.session_card(state.live)).model_dump(mode="json"),
        "listings": [ListingOut(**v.card()).model_dump(mode="json") for v in state.listings],
        "offers": [OfferOut(**v.card()).model_dump(mode="json") for v in state.offers],
        "comments": to_jsonable_python(await comments.recent_comments(session=session, session_id=session_id)),
        "as_of_event_id": int(as_of or 0),
    }


class _Tail:
    """The cursor over one stream, with the look-back for late commits."""

    def __init__(self, stream: str, cursor: int, lookback: float) -> None:
        self.stream = stream
        self.cursor = cursor
        self.lookback = lookback
        self.sent: set[int] = set()  # ids sent that are above `floor`
        self.history: deque[tuple[float, int]] = deque([(time.monotonic(), cursor)])

    def floor(self, at: float) -> int:
        """The cursor as it was `lookback` seconds ago: ids above it may still be committing."""
        while len(self.history) > 1 and self.history[1][0] <= at - self.lookback:
            self.history.popleft()
        return self.history[0][1]

    async def poll(self, session: AsyncSession) -> list[OutboxEvent]:
        at = time.monotonic()
        floor = self.floor(at)
        self.sent = {i for i in self.sent if i > floor}
        fresh = list(
            (
                await session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.stream == self.stream, OutboxEvent.id > self.cursor)
                    .order_by(OutboxEvent.id)
                    .limit(BATCH)
                )
            ).all()
        )
        late: list[OutboxEvent] = []
        if floor < self.cursor:
            window = (OutboxEvent.stream == self.stream) & (OutboxEvent.id > floor) & (OutboxEvent.id <= self.cursor)
            seen_in_window = sum(1 for i in self.sent if i <= self.cursor)
            present = await session.scalar(select(func.count()).where(window))
            if present and present > seen_in_window:
                ids = set((await session.scalars(select(OutboxEvent.id).where(window))).all()) - self.sent
                if ids:
                    late = list(
                        (await session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.id))).all()
                    )
        events = late + fresh
        for event in events:
            self.sent.add(event.id)
        if fresh:
            self.cursor = fresh[-1].id
        self.history.append((at, self.cursor))
        return events


async def room_events(
    *,
    ctx: AppContext,
    session_id: int,
    last_event_id: int | None = None,
    max_seconds: float | None = None,
    is_disconnected: Callable[[], Awaitable[bool]] | None = None,
    poll_seconds: float = POLL_SECONDS,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
    lookback_seconds: float = LOOKBACK_SECONDS,
) -> AsyncIterator[str]:
    """The SSE body of one viewer's connection (text chunks, one event each).

    Stops when the client disconnects, after `max_seconds` (if given; the events due at that moment
    are still sent), or once the session is over (after `session_ended`).
    """
    started = time.monotonic()
    deadline = None if max_seconds is None else started + max_seconds
    async with ctx.db.read() as s:
        snap = await snapshot(session=s, session_id=session_id, now=ctx.clock.now())
    cursor = last_event_id if last_event_id is not None else snap["as_of_event_id"]
    tail = _Tail(service.room_stream(session_id), cursor, lookback_seconds)
    yield f"retry: {RETRY_MS}\n\n"
    yield format_event(event="snapshot", data=snap, event_id=snap["as_of_event_id"] if last_event_id is None else None)
    last_write = time.monotonic()

    while True:
        if is_disconnected is not None and await is_disconnected():
            return
        # The status first, then the events: an end that committed before the status read is in the events.
        async with ctx.db.read() as s:
            status = await s.scalar(select(LiveSession.status).where(LiveSession.id == session_id))
            batches: list[OutboxEvent] = []
            while True:
                events = await tail.poll(s)
                batches.extend(events)
                if len(events) < BATCH:
                    break
        for event in batches:
            yield format_event(event=event.topic, data=event.payload, event_id=event.id)
            last_write = time.monotonic()
            if event.topic in TERMINAL_TOPICS:
                yield format_event(event="session_ended", data={"session_id": session_id, "status": event.payload.get("status")})
                return
        if status in service.TERMINAL_STATUSES:
            yield format_event(event="session_ended", data={"session_id": session_id, "status": status})
            return
        now = time.monotonic()
        if now - last_write >= heartbeat_seconds:
            yield ": heartbeat\n\n"
            last_write = now
        if deadline is not None and now >= deadline:
            return
        pause = poll_seconds if deadline is None else max(0.0, min(poll_seconds, deadline - now))
        await asyncio.sleep(pause)
