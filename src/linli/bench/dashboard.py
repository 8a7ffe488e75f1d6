"""`linli bench dashboard`: the leader's and the brand's dashboards over HTTP on a national-scale data set.

The data set (linli.bench.dashboard_data) is generated once per scale and kept (`--regenerate` rebuilds it).
Then `linli serve` runs in its own process (on PostgreSQL with its in-process outbox worker off and one `linli
worker` process beside it, as docs/operations.md deploys; SQLite keeps its one process's in-process worker)
and, one request at a time by default (`--concurrency`), on keep-alive connections:
- the leader's dashboard (`GET /api/v1/brands/{id}/leader/dashboard`) for random leaders, each with a token of
  their own, in turn `period=month` (this month so far), the last complete month (`period=YYYY-MM`, a whole
  month's rows even on the 1st), `period=today` (the API's default) and `period=week`: `leader_p50_ms`,
  `leader_p95_ms` over all four, and each apart;
- the brand's dashboard (`GET /api/v1/brands/{id}/dashboard`) by its owner, alternately its default (the last
  30 days) and the last complete month: `brand_p50_ms`, `brand_p95_ms` over both, and each apart;
- freshness under a rush: `--rush` members, each bound to another leader, order the live session's listing
  and pay through the payment simulator (the real pay path, `--rush-rate` starting per second, at most
  `--rush-concurrency` at a time); from the moment
  the simulator's completion answers (the payment committed) the leader's dashboard is polled every `--poll-ms`
  until its month's orders count the order: `freshness_p50_ms`, `freshness_p99_ms` (each at most one poll late);
  `freshness_polls` counts those polls beside the rush's own `rush_requests`.
With the server stopped, the denominator `raw_brand_ms`: the brand's figures of the same complete month
(orders, GMV = paid − refunds, distinct buyers) straight from `orders` and `refunds` with the best index for
it (`bench_orders_brand_paid`, covering), the median of three warm runs; `raw_matches_rollups` says the
dashboard answered the same three figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import statistics
import time
import uuid
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time as clock_time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, text

from linli import migrate
from linli.accounts import service as accounts
from linli.accounts.models import User
from linli.attribution.models import Binding
from linli.bench import dashboard_data as data
from linli.bench.harness import (
    DEFAULT_BENCH_POSTGRES_URL, KeepAliveConnection, _admin, _with_database, linli_server, percentile, worker_process,
)
from linli.clock import SystemClock
from linli.config import Settings
from linli.context import AppContext
from linli.dashboards.rollups import month_of, previous_month
from linli.db import Database, UTCDateTime
from linli.leaders.models import Leader
from linli.members.models import Member
from linli.preflight import api_processes

DEFAULT_POSTGRES_DATABASE = "linli_bench_dashboard"
DEFAULT_SQLITE_FILE = Path.home() / ".cache" / "linli" / "bench-dashboard.db"
WARM_UP = 20
# The watchers' poll: their reads are load on the same cores as the worker whose lag they measure, and the longer
# the lag the more of them poll at once; at 100 ms a stall could tip a run into keeping the worker behind (1,340
# polls beside the rush's 800 requests, p99 2.2 s instead of 0.5 s: docs/BENCHMARKS.md, "The probe's own load").
# A figure is at most one poll late.
POLL_MS = 250
FRESHNESS_TIMEOUT = 30.0


@dataclass
class DashboardBenchResult:
    db: str
    scale: float
    orders: int
    leaders: int
    members: int
    generated: bool  # this run generated the data set (else it reused the stored one)
    generate_seconds: float  # when the stored data set was generated
    server_workers: int
    concurrency: int
    requests: int
    leader_p50_ms: float
    leader_p95_ms: float
    leader_this_month_p95_ms: float
    leader_last_month_p95_ms: float
    leader_today_p95_ms: float
    leader_week_p95_ms: float
    brand_p50_ms: float
    brand_p95_ms: float
    brand_30_days_p95_ms: float
    brand_month_p95_ms: float
    raw_brand_ms: float
    raw_matches_rollups: bool
    rush_orders: int
    rush_rate: float
    rush_requests: int  # the rush's own: each order placed, its dashboard read once before, paid and completed
    freshness_poll_ms: int
    freshness_polls: int  # the watchers' dashboard reads until each order showed
    freshness_p50_ms: float
    freshness_p99_ms: float
    freshness_max_ms: float
    errors: int


def store_url(db: str, database: str | None) -> str:
    """Where the data set is kept: a PostgreSQL database on LINLI_BENCH_POSTGRES_URL's server, or an SQLite file."""
    if db == "sqlite":
        path = Path(database).expanduser() if database else DEFAULT_SQLITE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{path}"
    if db != "postgresql":
        raise ValueError("--db must be sqlite or postgresql")
    admin = os.environ.get("LINLI_BENCH_POSTGRES_URL", DEFAULT_BENCH_POSTGRES_URL)
    return _with_database(admin, database or DEFAULT_POSTGRES_DATABASE)


async def _recreate(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return
    admin = os.environ.get("LINLI_BENCH_POSTGRES_URL", DEFAULT_BENCH_POSTGRES_URL)
    name = url.rsplit("/", 1)[1]
    await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(admin, f'CREATE DATABASE "{name}"')


async def prepare(url: str, *, scale: float, regenerate: bool, now: datetime) -> data.DataSet:
    """The stored data set if it matches (scale, schema, this month), else a new one."""
    database = Database(url)
    try:
        if not regenerate and data.marker_matches(await data.read_marker(database), scale=scale, now=now):
            return await data.stored_data_set(database, generated=False)
    finally:
        await database.dispose()
    await _recreate(url)
    await asyncio.to_thread(migrate.upgrade, url)
    database = Database(url)
    try:
        return await data.generate(database, scale=scale, now=now)
    finally:
        await database.dispose()


@dataclass(frozen=True)
class Tokens:
    owner: str
    leaders: list[str]  # random leaders' own
    rush: list[tuple[str, str]]  # (a member's, their leader's): each member bound to another leader


async def _issue(ctx: AppContext, session, user_id: int) -> str:  # noqa: ANN001 - an AsyncSession
    user = await session.get(User, user_id)
    assert user is not None
    issued = await accounts.issue_token(session=session, settings=ctx.settings, user=user, method="sms", now=ctx.clock.now())
    return issued.token


async def issue_tokens(ctx: AppContext, data_set: data.DataSet, *, leaders: int, rush: int, rng: random.Random) -> Tokens:
    async with ctx.db.transaction() as s:
        low, high = (await s.execute(
            select(func.min(Leader.id), func.max(Leader.id)).where(Leader.brand_id == data_set.brand_id)
        )).one()
        ids = list(range(int(low), int(high) + 1))
        users = dict((await s.execute(  # by brand: 50,000 ids would pass the driver's limit of bound parameters
            select(Leader.id, Member.user_id).join(Member, Member.id == Leader.member_id)
            .where(Leader.brand_id == data_set.brand_id)
        )).all())
        sample = [users[leader] for leader in rng.sample(ids, min(leaders, len(ids)))]
        # Rush buyers: one member of each of `rush` leaders who have any (the smallest leaders may have none).
        candidates = rng.sample(ids, min(len(ids), 3 * rush))
        bound = (await s.execute(
            select(Binding.leader_id, func.min(Member.user_id)).join(Member, Member.id == Binding.member_id)
            .where(Binding.leader_id.in_(candidates)).group_by(Binding.leader_id)
        )).all()
        chosen = [(int(user), users[int(leader)]) for leader, user in bound][:rush]
        return Tokens(
            owner=await _issue(ctx, s, data_set.owner_user_id),
            leaders=[await _issue(ctx, s, user) for user in sample],
            rush=[(await _issue(ctx, s, member), await _issue(ctx, s, leader)) for member, leader in chosen],
        )


def _host_port(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


async def timed_requests(base: str, requests: list[tuple[str, str]], *, concurrency: int) -> tuple[list[float], int]:
    """GET each (path, token); returns the latencies in ms and how many did not answer 200."""
    host, port = _host_port(base)
    queue: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
    for n, (path, token) in enumerate(requests):
        queue.put_nowait((n, path, token))
    latencies: list[float] = [0.0] * len(requests)
    errors = 0

    async def client() -> None:
        nonlocal errors
        connection = KeepAliveConnection(host, port)
        try:
            while not queue.empty():
                n, path, token = queue.get_nowait()
                started = time.perf_counter()
                status, _ = await connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
                latencies[n] = (time.perf_counter() - started) * 1000
                errors += status != 200
        finally:
            await connection.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, errors


async def _json(connection: KeepAliveConnection, method: str, path: str, *, token: str | None = None,
                body: dict | None = None, expect: tuple[int, ...] = (200,)) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "POST":
        headers["Idempotency-Key"] = uuid.uuid4().hex
    status, payload = await connection.request(method, path, body=json.dumps(body).encode() if body else b"", headers=headers)
    if status not in expect:
        raise RuntimeError(f"{method} {path}: {status} {payload[:300]!r}")
    return json.loads(payload)


@dataclass(frozen=True)
class Freshness:
    delays_ms: list[float]  # from a payment's commit to its leader's dashboard counting it
    misses: int  # still not counted after FRESHNESS_TIMEOUT
    rush_requests: int
    polls: int


async def freshness(base: str, *, brand_id: int, listing_id: int, buyers: list[tuple[str, str]],
                    concurrency: int, rate: float, poll_ms: int) -> Freshness:
    """Each buyer orders and pays, `rate` buyers starting per second and at most `concurrency` at once; ms from
    the payment's commit to their leader's dashboard counting it, read every `poll_ms` on a connection of its own
    per order awaited. The pace and the poll keep the watchers' reads from being the load that delays the
    roll-ups they wait for."""
    host, port = _host_port(base)
    dashboard = f"/api/v1/brands/{brand_id}/leader/dashboard?period=month"
    gate = asyncio.Semaphore(concurrency)
    delays: list[float] = []
    misses = polls = 0

    async def one(member: str, leader: str) -> None:
        nonlocal misses, polls
        async with gate:
            payer = KeepAliveConnection(host, port)
            try:
                order = await _json(payer, "POST", "/api/v1/orders", token=member, body={"listing_id": listing_id, "quantity": 1},
                                    expect=(201,))
                before = (await _json(payer, "GET", dashboard, token=leader))["orders"]
                payment = await _json(payer, "POST", f"/api/v1/orders/{order['id']}/payments", token=member,
                                      body={"provider": "simulator"}, expect=(200, 201))
                await _json(payer, "POST", f"/api/v1/payments/simulator/{payment['out_trade_no']}/complete",
                            body={"outcome": "success"})
            finally:
                await payer.close()
        committed = time.perf_counter()  # the completion answered: the payment (and its outbox event) committed
        watcher = KeepAliveConnection(host, port)  # opened now: an idle keep-alive connection would be closed
        try:
            while time.perf_counter() - committed < FRESHNESS_TIMEOUT:
                polls += 1
                if (await _json(watcher, "GET", dashboard, token=leader))["orders"] > before:
                    delays.append((time.perf_counter() - committed) * 1000)
                    return
                await asyncio.sleep(poll_ms / 1000)
            misses += 1
        finally:
            await watcher.close()

    started, tasks = time.perf_counter(), []
    for n, (member, leader) in enumerate(buyers):
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(member, leader)))
    await asyncio.gather(*tasks)
    return Freshness(delays_ms=delays, misses=misses, rush_requests=4 * len(buyers), polls=polls)


def last_complete_month(today: date) -> tuple[date, date]:
    first = previous_month(month_of(today))
    return first, month_of(today) - timedelta(days=1)


RAW_ORDERS_SQL = (
    "SELECT count(*), coalesce(sum(payable_fen), 0), count(DISTINCT member_id) FROM orders "
    "WHERE brand_id = :brand AND paid_at >= :start AND paid_at < :end"
)
RAW_REFUNDS_SQL = (
    "SELECT coalesce(sum(r.amount_fen), 0) FROM refunds r JOIN orders o ON o.id = r.order_id "
    "WHERE r.status = 'succeeded' AND o.brand_id = :brand AND o.paid_at >= :start AND o.paid_at < :end"
)


async def raw_brand(db: Database, *, brand_id: int, first: date, last: date) -> tuple[float, tuple[int, int, int]]:
    """The month's orders, GMV and buyers from the raw tables: (median ms of three warm runs, the figures)."""
    zone = ZoneInfo(data.ZONE)
    bounds = [bindparam("brand", brand_id),
              bindparam("start", datetime.combine(first, clock_time.min, zone), type_=UTCDateTime()),
              bindparam("end", datetime.combine(last + timedelta(days=1), clock_time.min, zone), type_=UTCDateTime())]
    timings = []
    async with db.read() as s:
        for _ in range(4):  # the first warms the cache
            started = time.perf_counter()
            orders, paid, buyers = (await s.execute(text(RAW_ORDERS_SQL).bindparams(*bounds))).one()
            refunded = await s.scalar(text(RAW_REFUNDS_SQL).bindparams(*bounds))
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[1:]), (int(orders), int(paid) - int(refunded or 0), int(buyers))


async def run_dashboard_bench(
    *, db: str, scale: float, regenerate: bool = False, database: str | None = None, requests: int = 400,
    leaders: int = 200, concurrency: int = 1, rush: int = 200, rush_concurrency: int = 8, rush_rate: float = 20.0,
    poll_ms: int = POLL_MS, server_workers: int | None = None,
) -> DashboardBenchResult:
    """`server_workers` None: as many API processes as `linli serve` runs by default on that database."""
    url = store_url(db, database)
    data_set = await prepare(url, scale=scale, regenerate=regenerate, now=datetime.now(UTC))
    secret = secrets.token_urlsafe(32)
    settings = Settings(database_url=url, secret_key=secret, inprocess_worker=False, payment_simulator_enabled=True)
    ctx = AppContext.build(settings, clock=SystemClock())
    rng = random.Random()
    today = datetime.now(UTC).astimezone(ZoneInfo(data.ZONE)).date()
    first, last = last_complete_month(today)
    b = data_set.brand_id
    try:
        tokens = await issue_tokens(ctx, data_set, leaders=leaders, rush=rush, rng=rng)
        server_workers = api_processes(url=url, requested=server_workers)
        leader_paths = [f"/api/v1/brands/{b}/leader/dashboard?period={period}"
                        for period in ("month", f"{first:%Y-%m}", "today", "week")]
        leader_calls = [(leader_paths[n % 4], rng.choice(tokens.leaders)) for n in range(requests)]
        brand_paths = [f"/api/v1/brands/{b}/dashboard", f"/api/v1/brands/{b}/dashboard?from={first}&to={last}"]
        brand_calls = [(brand_paths[n % 2], tokens.owner) for n in range(requests)]
        separate_worker = db == "postgresql"
        async with (
            linli_server(database_url=url, secret_key=secret, workers=server_workers,
                         extra_env={"LINLI_INPROCESS_WORKER": "0"} if separate_worker else None) as server,
            worker_process(database_url=url, secret_key=secret) if separate_worker else nullcontext(),
        ):
            await timed_requests(server.base_url, leader_calls[:WARM_UP] + brand_calls[:WARM_UP], concurrency=1)
            leader_ms, leader_errors = await timed_requests(server.base_url, leader_calls, concurrency=concurrency)
            brand_ms, brand_errors = await timed_requests(server.base_url, brand_calls, concurrency=concurrency)
            host, port = _host_port(server.base_url)
            connection = KeepAliveConnection(host, port)
            try:
                month_figures = await _json(connection, "GET", brand_paths[1], token=tokens.owner)
            finally:
                await connection.close()
            fresh = await freshness(server.base_url, brand_id=b, listing_id=data_set.rush_listing_id, buyers=tokens.rush,
                                    concurrency=rush_concurrency, rate=rush_rate, poll_ms=poll_ms)
        raw_ms, raw = await raw_brand(ctx.db, brand_id=b, first=first, last=last)
        async with ctx.db.read() as s:
            orders = int(await s.scalar(text("SELECT count(*) FROM orders")) or 0)
    finally:
        await ctx.db.dispose()
    shown = (month_figures["totals"]["orders"], month_figures["totals"]["gmv_fen"], month_figures["months"][0]["paying_members"])
    return DashboardBenchResult(
        db=db, scale=scale, orders=orders, leaders=data_set.leaders, members=data_set.members,
        generated=data_set.generated, generate_seconds=data_set.generate_seconds, server_workers=server_workers,
        concurrency=concurrency, requests=requests,
        leader_p50_ms=round(percentile(leader_ms, 0.50), 2), leader_p95_ms=round(percentile(leader_ms, 0.95), 2),
        leader_this_month_p95_ms=round(percentile(leader_ms[0::4], 0.95), 2),
        leader_last_month_p95_ms=round(percentile(leader_ms[1::4], 0.95), 2),
        leader_today_p95_ms=round(percentile(leader_ms[2::4], 0.95), 2),
        leader_week_p95_ms=round(percentile(leader_ms[3::4], 0.95), 2),
        brand_p50_ms=round(percentile(brand_ms, 0.50), 2), brand_p95_ms=round(percentile(brand_ms, 0.95), 2),
        brand_30_days_p95_ms=round(percentile(brand_ms[0::2], 0.95), 2),
        brand_month_p95_ms=round(percentile(brand_ms[1::2], 0.95), 2),
        raw_brand_ms=round(raw_ms, 2), raw_matches_rollups=shown == raw, rush_orders=len(fresh.delays_ms) + fresh.misses,
        rush_rate=rush_rate, rush_requests=fresh.rush_requests, freshness_poll_ms=poll_ms, freshness_polls=fresh.polls,
        freshness_p50_ms=round(percentile(fresh.delays_ms, 0.50), 1),
        freshness_p99_ms=round(percentile(fresh.delays_ms, 0.99), 1),
        freshness_max_ms=round(max(fresh.delays_ms, default=0.0), 1), errors=leader_errors + brand_errors + fresh.misses,
    )


def as_dict(result: DashboardBenchResult) -> dict:
    return asdict(result)
