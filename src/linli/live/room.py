"""The real-time live room: Server-Sent Events of the room's outbox stream, fanned out by the hub.

On connect the viewer gets a `snapshot` (session, phase, listings and open offers with what is left,
the last comments), then every event written to the stream `live_session:{id}` in id order, each with
`id:` = the outbox id and `event:` = the topic (`live.stock`, `live.order_ticker`, `live.phase_changed`,
`live.offer_opened`, `live.offer_closed`, `live.comment`, …). A reconnecting browser sends
`Last-Event-ID` and resumes after it. When the session is over (ended or cancelled) the stream sends
`session_ended` and closes.

A viewer does not read the stream itself: it subscribes to its process's `RoomHub` (`linli.live.hub`),
whose one tail per room reads the new events (woken by this process's commits, by other processes'
NOTIFY on PostgreSQL, and by a poll) and hands every viewer the same text. The viewer subscribes
first, then reads its snapshot (a fresh connection starts after the snapshot's `as_of_event_id`) or,
resuming, the events after its Last-Event-ID from the database, in batches; from then on it only
forwards what the hub brings, each event once. After connecting a viewer costs no database read and no
timer but its heartbeat's. A viewer that falls `hub.SUBSCRIBER_BUFFER` chunks behind is dropped (its
browser reconnects and resumes). Late commits (an event visible after one with a higher id) are the
tail's look-back: see `linli.live.hub`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.context import AppContext
from linli.live import comments, service
from linli.live.hub import BATCH, TERMINAL_TOPICS, hub_for
from linli.live.schemas import ListingOut, OfferOut, SessionOut
from linli.live.sse import HEARTBEAT, format_event, session_ended
from linli.outbox.models import OutboxEvent

__all__ = ["BATCH", "TERMINAL_TOPICS", "format_event", "parse_last_event_id", "room_events", "snapshot"]

POLL_SECONDS = 0.3
HEARTBEAT_SECONDS = 15.0
LOOKBACK_SECONDS = 5.0
RETRY_MS = 3000


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


async def _events_after(session: AsyncSession, *, stream: str, after: int) -> list[OutboxEvent]:
    return list(
        (
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.stream == stream, OutboxEvent.id > after)
                .order_by(OutboxEvent.id)
                .limit(BATCH)
            )
        ).all()
    )


def _already_sent(caught_up: set[int], event_id: int) -> bool:
    """Whether the catch-up read sent this event (the tail sends an id once: afterwards it is never needed)."""
    if event_id in caught_up:
        caught_up.discard(event_id)
        return True
    return False


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
    are still sent), once the session is over (after `session_ended`), or when the hub drops the
    viewer for falling behind. `poll_seconds` and `lookback_seconds` are asked of the room's tail
    (it polls as often as its most demanding viewer asks and looks back as far).
    """
    started = time.monotonic()
    deadline = None if max_seconds is None else started + max_seconds
    stream = service.room_stream(session_id)
    # Subscribe before reading: whatever commits after the read below reaches this viewer through the hub.
    subscription = await hub_for(ctx).subscribe(
        session_id=session_id, poll_seconds=poll_seconds, lookback_seconds=lookback_seconds
    )
    try:
        async with ctx.db.read() as s:
            snap = await snapshot(session=s, session_id=session_id, now=ctx.clock.now())
            backlog = [] if last_event_id is None else await _events_after(s, stream=stream, after=last_event_id)
        cursor = last_event_id if last_event_id is not None else snap["as_of_event_id"]
        yield f"retry: {RETRY_MS}\n\n"
        yield format_event(event="snapshot", data=snap, event_id=snap["as_of_event_id"] if last_event_id is None else None)
        last_write = time.monotonic()

        # Resuming: the events after Last-Event-ID, from the database. Those the hub may bring again
        # (above its floor) are remembered, so each is sent once.
        caught_up: set[int] = set()
        while backlog:
            for event in backlog:
                yield format_event(event=event.topic, data=event.payload, event_id=event.id)
                if event.id > subscription.floor:
                    caught_up.add(event.id)
                if event.topic in TERMINAL_TOPICS:
                    yield session_ended(session_id=session_id, status=event.payload.get("status"))
                    return
            last_write = time.monotonic()
            if len(backlog) < BATCH:
                break
            async with ctx.db.read() as s:
                backlog = await _events_after(s, stream=stream, after=backlog[-1].id)
        # The status was read before the events: an end that committed before it is among them.
        if snap["session"]["status"] in service.TERMINAL_STATUSES:
            yield session_ended(session_id=session_id, status=snap["session"]["status"])
            return
        if is_disconnected is not None and await is_disconnected():
            return

        while True:
            out: list[str] = []
            ends = False
            for chunk in subscription.take():
                wanted = [
                    event_id is None or (event_id > cursor and not _already_sent(caught_up, event_id))
                    for event_id in chunk.event_ids
                ]
                if all(wanted):
                    out.append(chunk.text)  # the common case: the very text every viewer writes
                else:
                    out.extend(part for part, keep in zip(chunk.parts, wanted, strict=True) if keep)
                if chunk.ends:
                    ends = True
                    break
            if out:
                yield out[0] if len(out) == 1 else "".join(out)  # one write for whatever arrived meanwhile
                last_write = time.monotonic()
            if ends:
                return
            if subscription.dropped:
                return  # fell behind (or the hub closed): the browser reconnects with Last-Event-ID
            now = time.monotonic()
            if now - last_write >= heartbeat_seconds:
                # Every heartbeat is a write, which finds a vanished client anyway; asking costs no more.
                if is_disconnected is not None and await is_disconnected():
                    return
                yield HEARTBEAT
                last_write = now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            timeout = heartbeat_seconds - (now - last_write)
            if deadline is not None:
                timeout = min(timeout, deadline - now)
            await subscription.wait(max(0.0, timeout))
    finally:
        subscription.close()
