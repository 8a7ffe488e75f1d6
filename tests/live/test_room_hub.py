"""The room's hub: one tail per room per process whatever the audience, resume and late commits through it,
slow viewers dropped, and its wake-ups (this process's commits, the poll, PostgreSQL NOTIFY from another
process, a LISTEN connection that drops and comes back).

Each viewer runs in a task of its own, as every connection does under a server; a viewer's `until`
waits for what it must receive, with a timeout that only turns a hang into a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing

import pytest
from sqlalchemy import event, text

from linli.context import AppContext
from linli.db import Database
from linli.live import room
from linli.live import service as live
from linli.live.hub import SUBSCRIBER_BUFFER, RoomHub, hub_for
from linli.outbox import commit_hook
from linli.outbox.models import OutboxEvent
from linli.outbox.service import emit
from tests.conftest import POSTGRESQL_ONLY
from tests.factories import World, make_live_session
from tests.live.helpers import parse_sse

FAST = {"poll_seconds": 0.01}
SLOW = {"poll_seconds": 60.0}  # no poll within a test: only a wake-up brings an event
WAIT = 10.0


class Viewer:
    """One connection's body, read by its own task as the server's response would read it."""

    def __init__(self, ctx: AppContext, session_id: int, **params: object) -> None:
        self.chunks: list[str] = []
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(self._watch(ctx, session_id, params))

    async def _watch(self, ctx: AppContext, session_id: int, params: dict) -> None:
        try:
            async with aclosing(room.room_events(ctx=ctx, session_id=session_id, **params)) as body:
                async for chunk in body:
                    self.chunks.append(chunk)
                    self._changed.set()
        finally:
            self._changed.set()

    def events(self) -> list[dict]:
        return parse_sse("".join(self.chunks))

    def ids(self) -> list[int]:
        return [e["id"] for e in self.events() if e["event"].startswith("live.")]

    async def until(self, done: Callable[[list[dict]], bool]) -> list[dict]:
        async with asyncio.timeout(WAIT):
            while not done(self.events()):
                if self.task.done():
                    self.task.result()
                    raise AssertionError(f"the stream ended early: {[e['event'] for e in self.events()]}")
                self._changed.clear()
                await self._changed.wait()
        return self.events()

    async def connected(self) -> None:
        await self.until(lambda events: any(e["event"] == "snapshot" for e in events))

    async def has(self, event_id: int) -> None:
        await self.until(lambda events: any(e["id"] == event_id and e["event"] != "snapshot" for e in events))

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def session_id(world: World) -> int:
    brand = await world.brand("优邻优选", slug="youlin")
    return await make_live_session(world, brand, start=True)


async def say(ctx: AppContext, session_id: int, n: int, *, topic: str = "live.comment") -> int:
    """One event on the room's stream, written as the services write them (and so announced at commit)."""
    async with ctx.db.transaction() as s:
        emit(s, topic=topic, payload={"n": n}, now=ctx.clock.now(), stream=live.room_stream(session_id))
        [row] = [obj for obj in s.new if isinstance(obj, OutboxEvent)]
        await s.flush()
        return row.id


async def write_unannounced(ctx: AppContext, session_id: int, n: int, *, event_id: int | None = None) -> int:
    """An event added to the outbox directly, not through `emit`: this process's listeners do not hear of it
    (on PostgreSQL the outbox's trigger still NOTIFYs)."""
    async with ctx.db.transaction() as s:
        row = OutboxEvent(
            id=event_id, topic="live.comment", stream=live.room_stream(session_id), payload={"n": n},
            created_at=ctx.clock.now(), available_at=ctx.clock.now(),
        )
        s.add(row)
        await s.flush()
        return row.id


async def newest_id(ctx: AppContext, session_id: int) -> int:
    async with ctx.db.read() as s:
        return await s.scalar(
            text("SELECT max(id) FROM outbox_events WHERE stream = :stream"), {"stream": live.room_stream(session_id)}
        )


class StatementLog:
    """The statements the read engine runs, with the task that ran each."""

    def __init__(self, db: Database) -> None:
        self.entries: list[tuple[asyncio.Task | None, str]] = []
        self._engine = db.read_engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, _params, _context, _many) -> None:
        self.entries.append((asyncio.current_task(), statement))

    def tasks(self) -> set[asyncio.Task | None]:
        return {task for task, _ in self.entries}

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)


async def test_many_viewers_share_one_tail_and_its_reads(ctx, session_id: int):
    hub = hub_for(ctx)
    first = Viewer(ctx, session_id, **SLOW)
    await first.connected()
    [tail] = hub.tails.values()

    # One viewer: three events, each read once by the tail.
    rounds = tail.rounds
    for n in range(3):
        await first.has(await say(ctx, session_id, n))
    alone = tail.rounds - rounds

    crowd = [Viewer(ctx, session_id, **SLOW) for _ in range(49)]
    for viewer in crowd:
        await viewer.connected()
    assert list(hub.tails.values()) == [tail] and len(tail.subscribers) == 50
    log = StatementLog(ctx.db)
    rounds = tail.rounds
    try:
        ids = []
        for n in range(3, 6):
            ids.append(await say(ctx, session_id, n))
            for viewer in [first, *crowd]:
                await viewer.has(ids[-1])
    finally:
        log.close()
    together = tail.rounds - rounds

    # After connecting, no viewer reads the database: only the tail (and this test's writes) did.
    assert log.tasks() <= {tail.task, asyncio.current_task()}
    assert any(task is tail.task for task in log.tasks())
    # At most one read per wake-up (the commit's own signal, and on PostgreSQL its NOTIFY), whatever the audience.
    assert alone <= 6 and together <= 6
    # Each event was formatted once: every viewer holds the very same text.
    for viewer in crowd:
        assert viewer.ids()[-3:] == ids
        assert all(mine is theirs for mine, theirs in zip(viewer.chunks[-3:], first.chunks[-3:], strict=True))
    for viewer in [first, *crowd]:
        await viewer.close()
    assert tail.subscribers == set()


async def test_resume_by_last_event_id_through_the_hub(ctx, session_id: int):
    hub = hub_for(ctx)
    hub.stop_signals()  # the tail reads only when this test wakes it (its poll is a minute away)
    watcher = Viewer(ctx, session_id, **SLOW)  # keeps the room's tail running, with its history
    await watcher.connected()
    [tail] = hub.tails.values()
    before = await newest_id(ctx, session_id)
    e1 = await say(ctx, session_id, 1)
    e2 = await say(ctx, session_id, 2)
    tail.wake()
    await watcher.has(e2)
    # Committed while the tail sleeps: the resuming viewer reads it from the database and the tail only
    # later, once woken again; the viewer must not get it twice.
    e3 = await say(ctx, session_id, 3)

    resumed = Viewer(ctx, session_id, last_event_id=before, **SLOW)
    await resumed.has(e3)
    e4 = await say(ctx, session_id, 4)
    tail.wake()
    await resumed.has(e4)
    await watcher.has(e4)

    events = resumed.events()
    assert events[0]["event"] == "snapshot" and events[0]["id"] is None
    assert resumed.ids() == [e1, e2, e3, e4]
    assert watcher.ids() == [e1, e2, e3, e4]
    await resumed.close()
    await watcher.close()


async def test_a_late_commit_reaches_every_viewer_once(ctx, session_id: int):
    """An event visible after one with a higher id (PostgreSQL hands ids out at insert): simulated with explicit
    ids on both databases; the tail's look-back finds it, every viewer gets it once."""
    viewers = [Viewer(ctx, session_id, lookback_seconds=60, **FAST) for _ in range(2)]
    for viewer in viewers:
        await viewer.connected()
    base = await newest_id(ctx, session_id)
    for event_id in (base + 1000, base + 500, base + 1001):
        await write_unannounced(ctx, session_id, event_id, event_id=event_id)
        for viewer in viewers:
            await viewer.has(event_id)
    last = await say(ctx, session_id, 0)  # one more read: nothing is sent again
    for viewer in viewers:
        await viewer.has(last)
        assert viewer.ids() == [base + 1000, base + 500, base + 1001, last]
        await viewer.close()


async def test_a_slow_viewer_is_dropped_and_the_others_get_every_event(ctx, session_id: int):
    ctx.room_hub = RoomHub(ctx, buffer_size=8)
    reading = Viewer(ctx, session_id, **SLOW)
    await reading.connected()
    async with aclosing(room.room_events(ctx=ctx, session_id=session_id, **SLOW)) as stuck:
        await anext(stuck)  # retry
        snap = parse_sse(await anext(stuck))[0]  # then it never reads again
        [tail] = ctx.room_hub.tails.values()
        assert len(tail.subscribers) == 2

        ids = []
        for n in range(20):
            ids.append(await say(ctx, session_id, n))
            await reading.has(ids[-1])
        assert len(tail.subscribers) == 1  # the stuck one fell 8 behind and was let go
        assert [chunk async for chunk in stuck] == []  # its stream ends: the browser would reconnect

    assert reading.ids() == ids
    # Reconnecting with its Last-Event-ID, the dropped viewer gets all it missed.
    again = Viewer(ctx, session_id, last_event_id=snap["id"], **SLOW)
    await again.has(ids[-1])
    assert again.ids() == ids
    await again.close()
    await reading.close()


async def test_a_burst_larger_than_a_viewers_buffer_reaches_a_viewer_that_reads(ctx, session_id: int):
    viewer = Viewer(ctx, session_id, **SLOW)
    await viewer.connected()
    burst = SUBSCRIBER_BUFFER + 50
    async with ctx.db.transaction() as s:
        for n in range(burst):
            emit(s, topic="live.comment", payload={"n": n}, now=ctx.clock.now(), stream=live.room_stream(session_id))
    last = await newest_id(ctx, session_id)
    await viewer.has(last)  # read in batches, each written out before the next: the viewer keeps up
    assert [e["data"]["n"] for e in viewer.events()[1:]] == list(range(burst))
    await viewer.close()


async def test_without_the_in_process_signal_the_poll_delivers(ctx, session_id: int):
    hub = hub_for(ctx)
    hub.stop_signals()  # neither this process's commits nor (PostgreSQL) the relayed NOTIFY reach it now
    viewer = Viewer(ctx, session_id, **FAST)
    await viewer.connected()
    ids = [await say(ctx, session_id, n) for n in range(3)]
    await viewer.has(ids[-1])
    assert viewer.ids() == ids
    await viewer.close()


def other_process(ctx: AppContext) -> AppContext:
    """A second context on the same database with its own engines: what another API process would be."""
    return AppContext(
        settings=ctx.settings, db=Database(ctx.db.url), clock=ctx.clock, sms_sender=ctx.sms_sender, wechat=ctx.wechat,
    )


@pytest.fixture
def no_local_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits no longer wake this process's listeners directly: only NOTIFY (or a poll) can."""
    monkeypatch.setattr(commit_hook, "publish_committed", lambda marks: None)


@POSTGRESQL_ONLY  # LISTEN/NOTIFY is PostgreSQL's
async def test_another_process_commit_wakes_the_hub_through_notify(ctx, session_id: int, no_local_signal):
    viewer = Viewer(ctx, session_id, **SLOW)
    await viewer.connected()
    hub = hub_for(ctx)
    async with asyncio.timeout(WAIT):
        await hub.listener.wait_connected()
    other = other_process(ctx)
    try:
        event_id = await say(other, session_id, 1)
        await viewer.has(event_id)  # the poll is a minute away: only the NOTIFY can have brought it
    finally:
        await other.db.dispose()
    await viewer.close()


@POSTGRESQL_ONLY
async def test_a_dropped_listen_connection_is_made_again_and_the_poll_covers_the_gap(
    ctx, session_id: int, no_local_signal
):
    hub = hub_for(ctx)
    patient = Viewer(ctx, session_id, **SLOW)
    await patient.connected()
    listener = hub.listener
    async with asyncio.timeout(WAIT):
        await listener.wait_connected()
    assert listener.connects == 1

    refused = True
    real_connect = listener.connect

    async def connect(dsn: str):
        if refused:
            raise OSError("PostgreSQL is out of reach")
        return await real_connect(dsn)

    listener.connect = connect
    async with ctx.db.transaction() as s:
        await s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.server_pid})
    async with asyncio.timeout(WAIT):
        while listener.connected:
            await asyncio.sleep(0.01)

    # While LISTEN is down a viewer asking for a quick poll gets the room's events all the same.
    quick = Viewer(ctx, session_id, **FAST)
    await quick.connected()
    during = await say(ctx, session_id, 1)
    await quick.has(during)
    await patient.has(during)
    assert not listener.connected
    await quick.close()

    refused = False
    async with asyncio.timeout(WAIT * 3):  # the retries back off: 0.5 s, 1 s, 2 s, …
        await listener.wait_connected()
    assert listener.connects == 2
    after = await say(other_ctx := other_process(ctx), session_id, 2)
    try:
        await patient.has(after)  # through the new LISTEN connection: the poll is a minute away
    finally:
        await other_ctx.db.dispose()
    assert patient.ids() == [during, after]
    await patient.close()


async def test_the_app_shutdown_stops_the_hub(ctx, session_id: int, backend: str):
    from dataclasses import replace

    from linli.app import create_app

    served = replace(ctx, settings=ctx.settings.with_overrides(inprocess_worker=False))
    app = create_app(served, dispose_on_shutdown=False)
    async with app.router.lifespan_context(app):
        viewer = Viewer(served, session_id, **SLOW)
        await viewer.connected()
        hub = served.room_hub
        [tail] = hub.tails.values()
        if backend == "postgresql":
            async with asyncio.timeout(WAIT):
                await hub.listener.wait_connected()
    # Shutting down ended the viewer's stream, stopped the tail and closed the LISTEN connection.
    await asyncio.wait_for(viewer.task, WAIT)
    assert tail.task.done() and hub.tails == {} and served.room_hub is None
    assert (hub.listener is None) == (backend == "sqlite")
    assert hub.listener is None or not hub.listener.connected
