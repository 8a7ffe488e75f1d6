"""The live room's fan-out: per process one tail per room, however many viewers watch it.

A `RoomHub` belongs to one AppContext (one per process; `hub_for(ctx)`). The first viewer of a room
starts its `StreamTail`, a task that reads the session's status and the stream's new events in one
short read transaction, formats each event once and hands the same text to every subscriber; it stops
`LINGER_SECONDS` after the last viewer left (a reconnecting browser finds it still running). A tail
reads when it is woken:
- by `linli.outbox.signals`: this process committed events on the stream (`linli.outbox.commit_hook`),
  or, on PostgreSQL, another process did and its NOTIFY reached this process's one LISTEN connection
  (`linli.outbox.listener.CommitListener`, started with the first tail);
- by its poll, every `poll_seconds` (the smallest any of its viewers asked), which covers a lost
  notification, a dropped LISTEN connection and SQLite's other processes.
The database's work therefore follows the rooms and their events, never the number of viewers.

Each read becomes one chunk (its events' texts, also joined, so a viewer writes a read's events in one
send). Each viewer has a bounded buffer (`SUBSCRIBER_BUFFER` chunks). A viewer that falls that far behind is
dropped: its stream ends and its browser reconnects with Last-Event-ID and resumes from the database;
a slow viewer never holds the tail nor the others.

Late commits: outbox ids are handed out at insert, not at commit, so on PostgreSQL an event can become
visible after one with a higher id. Besides "ids above the cursor", each read looks back over the ids
that were above the cursor `lookback` seconds ago and sends those not sent yet (`StreamCursor`), so
an event whose transaction took less than the look-back to commit is sent once, out of id order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.live import service
from linli.live.models import LiveSession
from linli.live.sse import format_event, session_ended
from linli.outbox import signals
from linli.outbox.listener import CommitListener
from linli.outbox.models import OutboxEvent

if TYPE_CHECKING:
    from linli.context import AppContext

log = logging.getLogger(__name__)

BATCH = 200  # events per read; a fuller stream is read again at once, after the viewers had their turn
SUBSCRIBER_BUFFER = 256  # reads (chunks) a viewer may fall behind before it is dropped
LINGER_SECONDS = 5.0
FAILED_READ_PAUSE_SECONDS = 1.0  # a tail whose read failed (database away) tries again after this at the soonest
TERMINAL_TOPICS = ("live.session_ended", "live.session_cancelled")


@dataclass(frozen=True, slots=True)
class Chunk:
    """What one read of a room's stream sends, the same object for every viewer.

    `parts` are its events' texts (with `event_ids`; None for the closing `session_ended`) and `text` all of
    them joined: a viewer that wants every part (nearly always) writes `text` in one send, however many
    events the read found, so a transaction's stock and ticker events cost each viewer one write.
    """

    event_ids: tuple[int | None, ...]
    parts: tuple[str, ...]
    text: str
    ends: bool = False

    @classmethod
    def of(cls, events: list[tuple[int | None, str]], *, ends: bool = False) -> Chunk:
        parts = tuple(text for _, text in events)
        return cls(tuple(i for i, _ in events), parts, parts[0] if len(parts) == 1 else "".join(parts), ends)


class StreamCursor:
    """The cursor over one stream, with the look-back for late commits."""

    def __init__(self, stream: str, cursor: int, lookback: float) -> None:
        self.stream = stream
        self.cursor = cursor
        self.lookback = lookback
        self.more = False  # the last read filled a batch: more may be waiting
        self.sent: set[int] = set()  # ids sent that are above `floor`
        self.history: deque[tuple[float, int]] = deque([(time.monotonic(), cursor)])

    def floor(self, at: float) -> int:
        """The cursor as it was `lookback` seconds ago: ids above it may still be committing."""
        while len(self.history) > 1 and self.history[1][0] <= at - self.lookback:
            self.history.popleft()
        return self.history[0][1]

    @property
    def lowest_floor(self) -> int:
        """Every id this cursor will ever return from now on is above this one."""
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
                    rows = await session.scalars(
                        select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.id)
                    )
                    late = list(rows.all())
        events = late + fresh
        for event in events:
            self.sent.add(event.id)
        if fresh:
            self.cursor = fresh[-1].id
        self.more = len(fresh) == BATCH
        self.history.append((at, self.cursor))
        return events


class Subscription:
    """One viewer's place at a tail: a bounded buffer of chunks and the wake-up of its connection.

    Waking a viewer costs one future per wait; its timeout is one timer that stays armed across events
    and is re-armed only when it fired early (so a viewer's timer fires at most once per heartbeat).
    """

    def __init__(self, tail: StreamTail, *, poll_seconds: float, lookback_seconds: float, limit: int) -> None:
        self.tail = tail
        self.poll_seconds = poll_seconds
        self.lookback_seconds = lookback_seconds
        self._limit = limit
        self._items: deque[Chunk] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.dropped = False  # fell `limit` chunks behind, or the hub closed: the stream ends
        self.floor = 0  # every chunk this subscription will get has an id above this (set once subscribed)

    def push(self, chunk: Chunk) -> bool:
        """False when the buffer is full: the subscription is dropped (its buffer is freed)."""
        if self.dropped:
            return False
        if len(self._items) >= self._limit:
            self.drop()
            return False
        self._items.append(chunk)
        if self._waiter is not None:
            self._wake()
        return True

    def drop(self) -> None:
        self.dropped = True
        self._items.clear()
        self._wake()

    def take(self) -> list[Chunk]:
        items = list(self._items)
        self._items.clear()
        return items

    async def wait(self, timeout: float) -> None:
        """Until a chunk arrives or the subscription is dropped, at most about `timeout` seconds."""
        if self._items or self.dropped:
            return
        loop = self.tail.loop
        due = loop.time() + timeout
        if self._timer is not None and self._timer.when() > due:
            self._timer.cancel()
            self._timer = None
        if self._timer is None:
            self._timer = loop.call_at(due, self._on_timer)
        self._waiter = loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _on_timer(self) -> None:
        self._timer = None
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.tail.remove(self)


class StreamTail:
    """The one reader of a room's stream in this process, and its subscribers."""

    def __init__(self, hub: RoomHub, session_id: int, lookback: float) -> None:
        self.hub = hub
        self.session_id = session_id
        self.stream = service.room_stream(session_id)
        self.subscribers: set[Subscription] = set()
        self.rounds = 0  # read transactions run (tests, the bench)
        self.cursor: StreamCursor | None = None
        self._lookback = lookback
        self._poll_seconds: float | None = None
        self._empty_since = time.monotonic()
        self._wake = asyncio.Event()
        self.loop = loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.ready.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved even if no one waits
        self.task = loop.create_task(self._run(), name=f"linli-room-tail:{session_id}")

    def wake(self) -> None:
        self._wake.set()

    def add(self, subscription: Subscription) -> None:
        self.subscribers.add(subscription)
        self._lookback = max(self._lookback, subscription.lookback_seconds)
        if self.cursor is not None:
            self.cursor.lookback = self._lookback
        if self._poll_seconds is None or subscription.poll_seconds < self._poll_seconds:
            self._poll_seconds = subscription.poll_seconds
            self.wake()  # so that a faster poll takes effect now, not after the slower one's pause

    def remove(self, subscription: Subscription) -> None:
        self.subscribers.discard(subscription)
        if not self.subscribers:
            self._empty_since = time.monotonic()
        self._poll_seconds = min((s.poll_seconds for s in self.subscribers), default=self._poll_seconds)

    def _broadcast(self, chunk: Chunk) -> None:
        for subscription in list(self.subscribers):
            if not subscription.push(chunk):
                self.remove(subscription)

    async def _run(self) -> None:
        try:
            try:
                async with self.hub.ctx.db.read() as s:
                    start = await s.scalar(
                        select(func.coalesce(func.max(OutboxEvent.id), 0)).where(OutboxEvent.stream == self.stream)
                    )
            except Exception as exc:  # noqa: BLE001 - the viewers waiting on `ready` get it
                self.ready.set_exception(exc)
                return
            self.cursor = StreamCursor(self.stream, int(start or 0), self._lookback)
            self.ready.set_result(None)
            while not self._lingered():
                self._wake.clear()  # before the read: a commit during the read wakes the next one
                try:
                    ended = await self._read_and_send()
                except Exception:  # noqa: BLE001 - a failed read is tried again after a pause
                    log.exception("room tail %s: read failed", self.stream)
                    self.cursor.more = False
                    await asyncio.sleep(max(FAILED_READ_PAUSE_SECONDS, self._poll_seconds or 0.0))
                    continue
                if ended:
                    return
                if self.cursor.more:
                    await asyncio.sleep(0)  # the viewers write out what they got before the next batch
                    continue
                await self._pause()
        finally:
            self.hub.forget(self)
            if not self.ready.done():
                self.ready.cancel()  # cancelled before the first read (the hub closes)
            for subscription in list(self.subscribers):
                subscription.drop()  # the tail stops while viewers remain (the hub closes): their streams end
            self.subscribers.clear()

    def _lingered(self) -> bool:
        return not self.subscribers and time.monotonic() - self._empty_since >= self.hub.linger_seconds

    async def _pause(self) -> None:
        pause = self._poll_seconds if self._poll_seconds is not None else LINGER_SECONDS
        if not self.subscribers:
            pause = min(pause, max(0.0, self._empty_since + self.hub.linger_seconds - time.monotonic()))
        try:
            async with asyncio.timeout(pause):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _read_and_send(self) -> bool:
        """One read transaction; True once the session is over (every subscriber got `session_ended`)."""
        assert self.cursor is not None
        self.rounds += 1
        # The status first, then the events: an end that committed before the status read is in the events.
        async with self.hub.ctx.db.read() as s:
            status = await s.scalar(select(LiveSession.status).where(LiveSession.id == self.session_id))
            events = await self.cursor.poll(s)
        sent: list[tuple[int | None, str]] = []
        ended = False
        for event in events:
            sent.append((event.id, format_event(event=event.topic, data=event.payload, event_id=event.id)))
            if event.topic in TERMINAL_TOPICS:
                ended, status = True, event.payload.get("status")
                break
        if not ended and not self.cursor.more and status in service.TERMINAL_STATUSES:
            ended = True
        if ended:
            self.hub.forget(self)  # a viewer arriving now starts afresh and reads the finished session itself
            sent.append((None, session_ended(session_id=self.session_id, status=status)))
        if sent:
            self._broadcast(Chunk.of(sent, ends=ended))
        if ended:
            self.subscribers.clear()
        return ended


class RoomHub:
    """This process's tails, by stream, and its LISTEN connection (PostgreSQL)."""

    def __init__(
        self, ctx: AppContext, *, buffer_size: int = SUBSCRIBER_BUFFER, linger_seconds: float = LINGER_SECONDS
    ) -> None:
        self.ctx = ctx
        self.buffer_size = buffer_size
        self.linger_seconds = linger_seconds
        self.tails: dict[str, StreamTail] = {}
        self.listener: CommitListener | None = None
        self._closed = False
        self._unsubscribe = signals.subscribe(self._on_signal)

    def _on_signal(self, stream: str, _topics: frozenset[str]) -> None:
        tail = self.tails.get(stream)
        if tail is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is tail.loop:
            tail.wake()
            return
        try:  # a commit made on another thread or loop (a command, a thread pool): wake the tail on its own
            tail.loop.call_soon_threadsafe(tail.wake)
        except RuntimeError:
            pass  # that loop is closed: its tail is gone with it

    def stop_signals(self) -> None:
        """This hub no longer hears the in-process signal (tests of the poll and LISTEN paths)."""
        self._unsubscribe()

    def ensure_listening(self) -> None:
        """Starts the LISTEN connection on PostgreSQL (idempotent; SQLite has no other writer to hear)."""
        if self.listener is None and self.ctx.db.dialect == "postgresql":
            self.listener = CommitListener(self.ctx.settings.listen_database_url or self.ctx.db.url)
            self.listener.start()

    async def subscribe(self, *, session_id: int, poll_seconds: float, lookback_seconds: float) -> Subscription:
        """A place at the room's tail (started if needed); every chunk it gets has an id above `.floor`."""
        if self._closed:
            raise RuntimeError("the room hub is closed")
        self.ensure_listening()
        stream = service.room_stream(session_id)
        tail = self.tails.get(stream)
        if tail is None:
            tail = self.tails[stream] = StreamTail(self, session_id, lookback_seconds)
        subscription = Subscription(
            tail, poll_seconds=poll_seconds, lookback_seconds=lookback_seconds, limit=self.buffer_size
        )
        tail.add(subscription)
        try:
            await asyncio.shield(tail.ready)
        except BaseException:
            subscription.close()
            raise
        assert tail.cursor is not None
        subscription.floor = tail.cursor.lowest_floor
        return subscription

    def forget(self, tail: StreamTail) -> None:
        if self.tails.get(tail.stream) is tail:
            del self.tails[tail.stream]

    async def close(self) -> None:
        """Stops every tail (their viewers' streams end) and the LISTEN connection."""
        self._closed = True
        self._unsubscribe()
        tails = list(self.tails.values())
        for tail in tails:
            tail.task.cancel()
        await asyncio.gather(*(tail.task for tail in tails), return_exceptions=True)
        if self.listener is not None:
            await self.listener.close()


def hub_for(ctx: AppContext) -> RoomHub:
    """The context's hub, made on first use."""
    if ctx.room_hub is None:
        ctx.room_hub = RoomHub(ctx)
    return ctx.room_hub
