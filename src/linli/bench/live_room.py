"""`linli bench live-room`: N viewers in one room of a real `linli serve`, and the bare floor beside it.

The run creates its own database, seeds a brand with a live session (ten phases), a listing, two open
community offers and drafts to open later, and members bound to the community's leader; starts ONE
`linli serve` process (one worker, its in-process outbox worker off) beside one `linli worker` process (the
deployment docs/operations.md gives a room of thousands) and opens N viewers on the room's SSE stream
(`GET /api/v1/live-sessions/{id}/events`), in batches. It then fires the room's events from a second process
(so the viewers' process only reads, as on the floor), each in its own transaction through the service
functions, evenly spaced: offers opened, announced and closed, orders placed (`orders.place_order` writes `live.stock` and `live.order_ticker`), phases advanced.
Every outbox id a transaction writes on the room's stream is mapped to the moment its COMMIT was sent;
delay = the viewer's arrival − that moment.

Idle load: on PostgreSQL, `pg_stat_database.xact_commit + xact_rollback` of the scratch database over a
quiet window, with 0, 10 and N viewers connected. PostgreSQL's statistics reach `pg_stat_database` late
(a busy backend reports at most once a second, an idle one within 10 s), so each window starts only after
the counters have caught up with the last change, and the readings come from a connection to the admin
database, so the bench's own reads are not counted at all.

The floor, in the same run and after the server is stopped: `linli.bench.bare_sse` (Starlette, one
uvicorn process), the same N viewers, the same events in the same groups at the same spacing, padded to
the room's mean event size; there delay = arrival − the moment `POST /fire` was sent.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import func, make_url, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from linli import migrate
from linli.bench.harness import (
    DEFAULT_BENCH_POSTGRES_URL,
    KeepAliveConnection,
    free_port,
    http_process,
    linli_server,
    percentile,
    process_tree_rss_kb,
    raise_open_files_limit,
    scratch_database,
    worker_process,
)
from linli.bench.live_room_seed import RoomSeed, seed_room
from linli.bench.sse_viewers import Crowd, deliveries
from linli.clock import SystemClock
from linli.config import Settings
from linli.context import AppContext
from linli.live import offers as live_offers
from linli.live import sessions as live_sessions
from linli.live.service import room_stream
from linli.orders import service as orders
from linli.outbox.models import OutboxEvent
from linli.serving import tune_garbage_collector

INTERVAL_SECONDS = 0.15  # between the starts of two fired transactions
GRACE_SECONDS = 5.0  # after the last event: what has not arrived by then is missed
RAMP_BATCH = 250  # viewers opened at once
RAMP_BATCH_TIMEOUT = 120.0  # a batch's snapshots are waited for at most this long
RAMP_DEADLINE = 900.0  # the whole ramp; viewers still missing then stay missing (their deliveries count as missed)
STATS_CATCH_UP_SECONDS = 11.0  # PostgreSQL: an idle backend reports its transactions within 10 s
IDLE_WINDOW_SECONDS = 10.0
SMALL_ROOM = 10
# One cycle of the host's evening: each action is one transaction; orders write two room events.
CYCLE = ("open", "order_offer", "announce", "order_listing", "phase", "order_offer", "close")
EVENTS_PER_ACTION = {"order_offer": 2, "order_listing": 2}
Action = TypeVar("Action")


@dataclass
class LiveRoomResult:
    db: str
    viewers: int
    events: int
    interval_ms: float
    viewers_connected: int
    ramp_seconds: float
    min_ms: float
    p50_ms: float
    p99_ms: float
    last_viewer_p50_ms: float
    last_viewer_p99_ms: float
    last_viewer_max_ms: float
    missed: int
    duplicates: int
    commit_ms_p50: float
    memory_per_viewer_kb: float | None
    idle_db_xacts_per_second: float | None
    idle_db_xacts_per_second_10_viewers: float | None
    idle_db_xacts_per_second_0_viewers: float | None
    event_bytes: int
    bare_viewers_connected: int
    bare_ramp_seconds: float
    bare_min_ms: float
    bare_p50_ms: float
    bare_p99_ms: float
    bare_last_viewer_p50_ms: float
    bare_last_viewer_p99_ms: float
    bare_last_viewer_max_ms: float
    bare_missed: int
    bare_fire_ms_p50: float
    bare_memory_per_viewer_kb: float | None
    ratio: float | None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Fired:
    """One transaction of the evening: the room events it wrote and when."""

    kind: str
    event_ids: list[int]
    sent_at: float  # perf_counter just before COMMIT was sent: no viewer can see the events earlier
    done_at: float  # perf_counter once the commit returned


def plan_evening(events: int, *, phases: int) -> list[str]:
    """Actions writing exactly `events` room events, cycling through CYCLE (at most `phases` phase changes)."""
    actions: list[str] = []
    total, index, offer_open = 0, 0, False
    while total < events:
        kind = CYCLE[index % len(CYCLE)]
        index += 1
        if kind == "phase":
            if phases == 0:
                continue
            phases -= 1
        cost = EVENTS_PER_ACTION.get(kind, 1)
        if total + cost > events:  # one event left: an offer opened or closed
            kind, cost = ("close" if offer_open else "open"), 1
        offer_open = {"open": True, "close": False}.get(kind, offer_open)
        actions.append(kind)
        total += cost
    return actions


class Host:
    """Fires the evening's actions against the seeded room, one transaction each."""

    def __init__(self, ctx: AppContext, seed: RoomSeed) -> None:
        self.ctx, self.seed = ctx, seed
        self.drafts = list(seed.draft_offer_ids)
        self.members = list(seed.member_user_ids)
        self.current_offer: int | None = None

    async def _do(self, s: AsyncSession, kind: str) -> None:
        seed, now = self.seed, self.ctx.clock.now()
        where = {"session": s, "brand_id": seed.brand_id, "session_id": seed.session_id, "now": now}
        if kind == "open":
            self.current_offer = self.drafts.pop(0)
            await live_offers.open_offer(**where, offer_id=self.current_offer)
        elif kind == "close":
            assert self.current_offer is not None
            await live_offers.close_offer(**where, offer_id=self.current_offer)
            self.current_offer = None
        elif kind == "announce":
            assert self.current_offer is not None
            await live_offers.announce_offer(**where, offer_id=self.current_offer, note=None)
        elif kind == "phase":
            await live_sessions.advance_phase(**where)
        else:
            offer_id = self.current_offer if kind == "order_offer" else None
            await orders.place_order(
                session=s, user_id=self.members.pop(), listing_id=None if offer_id else seed.listing_id,
                offer_id=offer_id, quantity=1, idempotency_key=uuid.uuid4().hex, pickup_community_id=None,
                payment_ttl=timedelta(hours=1), now=now,
            )

    async def fire(self, kind: str) -> Fired:
        stream = room_stream(self.seed.session_id)
        on_stream = OutboxEvent.stream == stream
        async with self.ctx.db.transaction() as s:
            # The room events this transaction writes, read back in it (the order path writes its rows with one
            # statement, not as ORM objects): this host is the only writer on the stream during the bench.
            before = await s.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0)).where(on_stream))
            await self._do(s, kind)
            await s.flush()
            written = list((await s.scalars(
                select(OutboxEvent.id).where(on_stream, OutboxEvent.id > before).order_by(OutboxEvent.id)
            )).all())
            sent_at = time.perf_counter()
        done_at = time.perf_counter()
        return Fired(kind=kind, event_ids=written, sent_at=sent_at, done_at=done_at)


async def _evenly(actions: list[Action], fire: Callable[[Action], Awaitable[Fired]], interval: float) -> list[Fired]:
    """Starts one action every `interval` seconds (the next one right away if an action ran over)."""
    fired: list[Fired] = []
    due = time.perf_counter()
    for action in actions:
        pause = due - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        fired.append(await fire(action))
        due += interval
    return fired


def fire_evening(url: str, secret: str, seed: RoomSeed, actions: list[str], interval: float) -> list[Fired]:
    """The host's side of the evening, run in a process of its own (see `_fire_from_another_process`)."""
    import uvloop

    async def run() -> list[Fired]:
        settings = Settings(database_url=url, secret_key=secret, inprocess_worker=False, payment_simulator_enabled=True)
        ctx = AppContext.build(settings, clock=SystemClock())
        try:
            return await _evenly(actions, Host(ctx, seed).fire, interval)
        finally:
            await ctx.db.dispose()

    return uvloop.run(run())


async def _fire_from_another_process(
    *, url: str, secret: str, seed: RoomSeed, actions: list[str], interval: float
) -> list[Fired]:
    """Fires the evening from a second process, so the viewers' process only reads its sockets (as the floor's,
    whose `POST /fire` costs next to nothing). Both processes read the same monotonic clock (perf_counter is
    CLOCK_MONOTONIC on Linux), so a commit's moment there and an arrival here compare directly."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return await asyncio.get_running_loop().run_in_executor(pool, fire_evening, url, secret, seed, actions, interval)


class IdleMeter:
    """Transactions per second of one PostgreSQL database while nothing happens, from pg_stat_database."""

    def __init__(self, url: str) -> None:
        self.name = make_url(url).database
        admin = os.environ.get("LINLI_BENCH_POSTGRES_URL", DEFAULT_BENCH_POSTGRES_URL)
        self.engine: AsyncEngine = create_async_engine(admin, isolation_level="AUTOCOMMIT", pool_size=1)

    async def _count(self) -> int:
        async with self.engine.connect() as c:
            await c.execute(text("SELECT pg_stat_clear_snapshot()"))  # no cached statistics from an earlier read
            value = await c.scalar(
                text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :name"), {"name": self.name}
            )
        return int(value or 0)

    async def rate(self, *, catch_up: float, window: float) -> float:
        await asyncio.sleep(catch_up)
        first, started = await self._count(), time.monotonic()
        await asyncio.sleep(window)
        last, elapsed = await self._count(), time.monotonic() - started
        return round((last - first) / elapsed, 1)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _per_viewer_kb(before: int, after: int, viewers: int) -> float | None:
    return round((after - before) / viewers, 1) if viewers else None


async def _watch(
    *, crowd: Crowd, fired: list[Fired], viewers: int, grace: float
) -> tuple[dict[str, float | int], int]:
    """Waits for the deliveries (or the grace after the last event) and returns the figures and duplicates."""
    sent_at = {event_id: f.sent_at for f in fired for event_id in f.event_ids}
    cutoff = max(f.sent_at for f in fired) + grace
    await crowd.wait_for_events(len(crowd.connected) * len(sent_at), until=cutoff)
    result = deliveries(crowd.viewers, sent_at=sent_at, expected_viewers=viewers, cutoff=cutoff)
    return result.figures(), result.duplicates


async def _room_run(
    *, ctx: AppContext, url: str, secret: str, seed: RoomSeed, viewers: int, actions: list[str], interval: float,
    idle_window: float, catch_up: float, ramp_deadline: float,
) -> tuple[dict, list[Fired], int]:
    """The room on `linli serve`: idle windows, the ramp, the evening. Returns figures, what was fired, event size."""
    figures: dict = {}
    meter = IdleMeter(url) if ctx.db.dialect == "postgresql" else None
    try:
        # As a room of thousands is served: the API process only serves, the outbox goes to a `linli worker`.
        async with (
            linli_server(database_url=url, secret_key=secret, workers=1, extra_env={"LINLI_INPROCESS_WORKER": "0"}) as server,
            worker_process(database_url=url, secret_key=secret),
        ):
            host, port = server.base_url.removeprefix("http://").split(":")
            crowd = Crowd(host=host, port=int(port), path=f"/api/v1/live-sessions/{seed.session_id}/events")
            rss_before = process_tree_rss_kb(server.pid)
            if meter:
                figures["idle_db_xacts_per_second_0_viewers"] = await meter.rate(catch_up=catch_up, window=idle_window)
            started = time.monotonic()
            await crowd.grow(
                min(SMALL_ROOM, viewers), batch=RAMP_BATCH, batch_timeout=RAMP_BATCH_TIMEOUT, deadline=started + ramp_deadline
            )
            ramp = time.monotonic() - started
            if meter:
                figures["idle_db_xacts_per_second_10_viewers"] = await meter.rate(catch_up=catch_up, window=idle_window)
            started = time.monotonic()
            await crowd.grow(viewers, batch=RAMP_BATCH, batch_timeout=RAMP_BATCH_TIMEOUT, deadline=started + ramp_deadline - ramp)
            figures["ramp_seconds"] = round(ramp + time.monotonic() - started, 1)
            await asyncio.sleep(1.0)  # the last batch's requests settle before memory is read
            figures["viewers_connected"] = len(crowd.connected)
            figures["memory_per_viewer_kb"] = _per_viewer_kb(
                rss_before, process_tree_rss_kb(server.pid), figures["viewers_connected"]
            )
            if meter:
                figures["idle_db_xacts_per_second"] = await meter.rate(catch_up=catch_up, window=idle_window)
            fired = await _fire_from_another_process(url=url, secret=secret, seed=seed, actions=actions, interval=interval)
            delivered, figures["duplicates"] = await _watch(crowd=crowd, fired=fired, viewers=viewers, grace=GRACE_SECONDS)
            figures.update(delivered)
            event_size = crowd.mean_event_bytes()
            await crowd.close()
    finally:
        if meter:
            await meter.dispose()
    figures["commit_ms_p50"] = round(percentile([(f.done_at - f.sent_at) * 1000 for f in fired], 0.5), 2)
    return figures, fired, event_size


async def _floor_run(*, viewers: int, groups: list[int], interval: float, event_size: int, ramp_deadline: float) -> dict:
    """The bare Starlette fan-out: the same viewers, the same event groups, the same spacing."""
    port = free_port()
    argv = [sys.executable, "-m", "linli.bench.bare_sse", "--port", str(port)]
    async with http_process(argv=argv, env=dict(os.environ), port=port) as server:
        crowd = Crowd(host="127.0.0.1", port=port, path="/events")
        rss_before = process_tree_rss_kb(server.pid)
        started = time.monotonic()
        await crowd.grow(viewers, batch=RAMP_BATCH, batch_timeout=RAMP_BATCH_TIMEOUT, deadline=started + ramp_deadline)
        ramp = round(time.monotonic() - started, 1)
        await asyncio.sleep(1.0)
        connected = len(crowd.connected)
        memory = _per_viewer_kb(rss_before, process_tree_rss_kb(server.pid), connected)
        fire_connection = KeepAliveConnection("127.0.0.1", port)
        next_id = 1

        async def fire(count: int) -> Fired:
            nonlocal next_id
            ids = list(range(next_id, next_id + count))
            next_id += len(ids)
            body = f'{{"ids":{ids},"size":{event_size}}}'.encode()
            sent_at = time.perf_counter()
            status, _ = await fire_connection.request("POST", "/fire", body=body)
            if status != 200:
                raise RuntimeError(f"the floor's /fire answered {status}")
            return Fired(kind="fire", event_ids=ids, sent_at=sent_at, done_at=time.perf_counter())

        fired = await _evenly(groups, fire, interval)
        await fire_connection.close()
        delivered, _ = await _watch(crowd=crowd, fired=fired, viewers=viewers, grace=GRACE_SECONDS)
        await crowd.close()
    return {
        "bare_viewers_connected": connected, "bare_ramp_seconds": ramp, "bare_memory_per_viewer_kb": memory,
        "bare_fire_ms_p50": round(percentile([(f.done_at - f.sent_at) * 1000 for f in fired], 0.5), 2),
        **{f"bare_{key}": value for key, value in delivered.items()},
    }


async def run_live_room(
    *, db: str, viewers: int, events: int, interval_seconds: float = INTERVAL_SECONDS,
    idle_window: float = IDLE_WINDOW_SECONDS, catch_up: float = STATS_CATCH_UP_SECONDS, ramp_deadline: float = RAMP_DEADLINE,
) -> LiveRoomResult:
    raise_open_files_limit()  # one socket per viewer here and in the server (which inherits the limit)
    tune_garbage_collector()  # the viewers' process, like the servers: its pauses would be charged to both
    async with scratch_database(db) as url:
        await asyncio.to_thread(migrate.upgrade, url)
        secret = secrets.token_urlsafe(32)
        settings = Settings(database_url=url, secret_key=secret, inprocess_worker=False, payment_simulator_enabled=True)
        ctx = AppContext.build(settings, clock=SystemClock())
        try:
            phases = 10
            actions = plan_evening(events, phases=phases - 1)
            seed = await seed_room(
                ctx, phases=phases, drafts=actions.count("open") + 1,
                members=actions.count("order_offer") + actions.count("order_listing"),
            )
            room, fired, event_size = await _room_run(
                ctx=ctx, url=url, secret=secret, seed=seed, viewers=viewers, actions=actions, interval=interval_seconds,
                idle_window=idle_window, catch_up=catch_up, ramp_deadline=ramp_deadline,
            )
        finally:
            await ctx.db.dispose()
    floor = await _floor_run(
        viewers=viewers, groups=[len(f.event_ids) for f in fired], interval=interval_seconds,
        event_size=event_size or 300, ramp_deadline=ramp_deadline,
    )
    notes = []
    if db != "postgresql":
        notes.append("idle_db_xacts_per_second: SQLite keeps no count of transactions (PostgreSQL's pg_stat_database)")
    written = sum(len(f.event_ids) for f in fired)
    bare_last = floor["bare_last_viewer_p99_ms"]
    return LiveRoomResult(
        db=db, viewers=viewers, events=written, interval_ms=interval_seconds * 1000,
        viewers_connected=room["viewers_connected"], ramp_seconds=room["ramp_seconds"],
        min_ms=room["min_ms"], p50_ms=room["p50_ms"], p99_ms=room["p99_ms"], last_viewer_p50_ms=room["last_viewer_p50_ms"],
        last_viewer_p99_ms=room["last_viewer_p99_ms"], last_viewer_max_ms=room["last_viewer_max_ms"],
        missed=room["missed"], duplicates=room["duplicates"], commit_ms_p50=room["commit_ms_p50"],
        memory_per_viewer_kb=room["memory_per_viewer_kb"], idle_db_xacts_per_second=room.get("idle_db_xacts_per_second"),
        idle_db_xacts_per_second_10_viewers=room.get("idle_db_xacts_per_second_10_viewers"),
        idle_db_xacts_per_second_0_viewers=room.get("idle_db_xacts_per_second_0_viewers"),
        event_bytes=event_size, **floor,
        ratio=round(room["last_viewer_p99_ms"] / bare_last, 2) if bare_last else None, notes=notes,
    )


def as_dict(result: LiveRoomResult) -> dict:
    return asdict(result)
