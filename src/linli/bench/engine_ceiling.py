"""The engine's own ceiling for `linli bench flash-sale`: the least work any correct server does per attempt.

Per attempt, on a raw driver and no ORM (asyncpg on PostgreSQL; sqlite3 on SQLite, as WAL with
BEGIN IMMEDIATE like the app's engine): one indexed read of the bearer token by its keyed hash in
`auth_sessions` (joined to `members` on its unique (brand, user) key, because the order row needs the
member), then ONE transaction: the guarded update of the offer's hot row and, when it took a unit, the
order row (every NOT NULL column, the same values linli writes) and one `order.placed` outbox event; COMMIT.
What cannot change during a session (listing, SKU, product, pickup point) is read once before the clock
starts, as a per-process cache would. `concurrency` connections are opened fresh, one per attempt in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from linli.bench.phases import Attempt, RunFigures, figures
from linli.clock import Clock
from linli.security import keyed_hash

SNAPSHOT_SQL = """
SELECT o.brand_id, o.session_id, o.listing_id, l.sku_id, s.product_id, p.name, s.name, o.leader_id, o.community_id,
  pp.id
FROM community_offers o
JOIN listings l ON l.id = o.listing_id
JOIN skus s ON s.id = l.sku_id
JOIN products p ON p.id = s.product_id
JOIN pickup_points pp ON pp.community_id = o.community_id
WHERE o.id = {p1}
"""
TOKEN_SQL = """
SELECT a.expires_at, a.revoked_at, a.user_id, m.id
FROM auth_sessions a JOIN members m ON m.user_id = a.user_id AND m.brand_id = {p2}
WHERE a.token_hash = {p1}
"""
RESERVE_SQL = """
UPDATE community_offers SET sold = sold + 1
WHERE id = {p1} AND status = 'open' AND starts_at <= {p2} AND ends_at > {p2} AND sold + 1 <= quota
RETURNING sold, quota, price_fen
"""
ORDER_SQL = """
INSERT INTO orders (brand_id, member_id, user_id, session_id, listing_id, offer_id, sku_id, product_id, product_name,
  sku_name, quantity, unit_price_fen, total_fen, discount_fen, payable_fen, leader_id, community_id, pickup_point_id,
  status, idempotency_key, request_fingerprint, placed_at, expires_at)
VALUES ({p1}, {p2}, {p3}, {p4}, {p5}, {p6}, {p7}, {p8}, {p9}, {p10}, 1, {p11}, {p11}, 0, {p11}, {p12}, {p13}, {p14},
  'pending_payment', {p15}, {p16}, {p17}, {p18})
RETURNING id
"""
OUTBOX_SQL = """
INSERT INTO outbox_events (topic, stream, payload, created_at, available_at, attempts)
VALUES ('order.placed', NULL, {p1}, {p2}, {p2}, 0)
"""


def _sql(template: str, dialect: str) -> str:
    # Numbered marks on both ($N, and sqlite3's ?N), so a repeated parameter is bound once on either.
    mark = "$" if dialect == "postgresql" else "?"
    return template.format(**{f"p{i}": f"{mark}{i}" for i in range(1, 19)})


@dataclass(frozen=True)
class OfferSnapshot:
    offer_id: int
    brand_id: int
    session_id: int
    listing_id: int
    sku_id: int
    product_id: int
    product_name: str
    sku_name: str
    leader_id: int
    community_id: int
    pickup_point_id: int

    @property
    def fingerprint(self) -> str:
        # The same request fingerprint linli stores for "one unit of this offer, pickup at the leader's".
        raw = f"listing=None|offer={self.offer_id}|quantity=1|pickup=None"
        return hashlib.sha256(raw.encode()).hexdigest()

    def order_params(self, *, member_id: int, user_id: int, price_fen: int, now: object, expires: object) -> tuple:
        return (
            self.brand_id, member_id, user_id, self.session_id, self.listing_id, self.offer_id, self.sku_id,
            self.product_id, self.product_name, self.sku_name, price_fen, self.leader_id, self.community_id,
            self.pickup_point_id, uuid.uuid4().hex, self.fingerprint, now, expires,
        )

    def event_payload(self, *, order_id: int, member_id: int, price_fen: int) -> str:
        return json.dumps({
            "order_id": order_id, "brand_id": self.brand_id, "member_id": member_id, "leader_id": self.leader_id,
            "session_id": self.session_id, "listing_id": self.listing_id, "offer_id": self.offer_id, "quantity": 1,
            "total_fen": price_fen, "payable_fen": price_fen, "status": "pending_payment",
        })


# One attempt's answer: the new order's id (bought), 0 (refused: sold out) or None (not a clean answer).
Outcome = int | None


class OrderEngine:
    """The engine's work for one attempt, on a free list of raw connections (what any server would pool).

    `attempt(token, offer_id)` is the whole of it. The offer's snapshot (what cannot change during a session) is
    read on its first use; `warm(offer_id)` reads it before a clock starts.
    """

    def __init__(self, *, secret_key: str, clock: Clock, payment_ttl: timedelta) -> None:
        self.secret_key, self.clock, self.payment_ttl = secret_key, clock, payment_ttl
        self._snapshots: dict[int, OfferSnapshot] = {}
        self._warming = asyncio.Lock()

    async def warm(self, offer_id: int) -> OfferSnapshot:
        if (snapshot := self._snapshots.get(offer_id)) is not None:
            return snapshot
        async with self._warming:  # the first attempts on a cold offer read it once, on a free connection
            if offer_id not in self._snapshots:
                self._snapshots[offer_id] = OfferSnapshot(offer_id, *(await self._read_snapshot(offer_id)))
        return self._snapshots[offer_id]

    async def _read_snapshot(self, offer_id: int) -> tuple:
        raise NotImplementedError

    async def attempt(self, token: str, offer_id: int) -> Outcome:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class PostgresOrderEngine(OrderEngine):
    """asyncpg, one connection per attempt in flight; an attempt waits for a free one as a pool's would."""

    def __init__(self, connections: list[asyncpg.Connection], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._all = connections
        self._free: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()
        for conn in connections:
            self._free.put_nowait(conn)
        self._token_sql, self._reserve_sql = _sql(TOKEN_SQL, "postgresql"), _sql(RESERVE_SQL, "postgresql")
        self._order_sql, self._outbox_sql = _sql(ORDER_SQL, "postgresql"), _sql(OUTBOX_SQL, "postgresql")

    @classmethod
    async def connect(cls, dsn: str, *, connections: int, **kwargs: object) -> PostgresOrderEngine:
        # Fresh connections held for the whole run: an asyncpg pool's release would add a reset round trip per
        # attempt that no server needs.
        return cls(await _connect_all(dsn, connections), **kwargs)

    async def _read_snapshot(self, offer_id: int) -> tuple:
        conn = await self._free.get()
        try:
            return tuple(await conn.fetchrow(_sql(SNAPSHOT_SQL, "postgresql"), offer_id))
        finally:
            self._free.put_nowait(conn)

    async def attempt(self, token: str, offer_id: int) -> Outcome:
        snapshot = await self.warm(offer_id)
        conn = await self._free.get()
        try:
            now = self.clock.now()
            auth = await conn.fetchrow(self._token_sql, keyed_hash(self.secret_key, token), snapshot.brand_id)
            if auth is None or auth[1] is not None or auth[0] <= now:
                return None
            async with conn.transaction():
                taken = await conn.fetchrow(self._reserve_sql, offer_id, now)
                if taken is None:
                    return 0
                member_id, user_id, price_fen = auth[3], auth[2], taken[2]
                order = snapshot.order_params(
                    member_id=member_id, user_id=user_id, price_fen=price_fen, now=now, expires=now + self.payment_ttl
                )
                order_id = await conn.fetchval(self._order_sql, *order)
                event = snapshot.event_payload(order_id=order_id, member_id=member_id, price_fen=price_fen)
                await conn.execute(self._outbox_sql, event, now)
            return order_id
        finally:
            self._free.put_nowait(conn)

    async def close(self) -> None:
        await asyncio.gather(*(conn.close() for conn in self._all))


def _sqlite_time(moment: datetime) -> str:
    # How SQLAlchemy stores a UTCDateTime on SQLite (naive UTC text), so the rows read back like linli's own.
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_connection(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


class SqliteOrderEngine(OrderEngine):
    """sqlite3 in threads, one connection per attempt in flight, one writer at a time."""

    def __init__(self, path: str, *, connections: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._path = path
        self._all = [_sqlite_connection(path) for _ in range(connections)]
        self._free: asyncio.Queue[sqlite3.Connection] = asyncio.Queue()
        for conn in self._all:
            self._free.put_nowait(conn)
        # One writer at a time, queued in-process without sleeping, as the app's engine does (db.Database's write
        # gate): SQLite's busy timeout would otherwise poll with sleeps of up to 100 ms.
        self._write_gate = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=connections, thread_name_prefix="engine-ceiling")
        self._token_sql, self._reserve_sql = _sql(TOKEN_SQL, "sqlite"), _sql(RESERVE_SQL, "sqlite")
        self._order_sql, self._outbox_sql = _sql(ORDER_SQL, "sqlite"), _sql(OUTBOX_SQL, "sqlite")

    async def _read_snapshot(self, offer_id: int) -> tuple:
        conn = await self._free.get()
        try:
            return tuple(conn.execute(_sql(SNAPSHOT_SQL, "sqlite"), (offer_id,)).fetchone())
        finally:
            self._free.put_nowait(conn)

    def _attempt_in_thread(self, conn: sqlite3.Connection, snapshot: OfferSnapshot, token: str) -> Outcome:
        moment = self.clock.now()
        now = _sqlite_time(moment)
        auth = conn.execute(self._token_sql, (keyed_hash(self.secret_key, token), snapshot.brand_id)).fetchone()
        if auth is None or auth[1] is not None or auth[0] <= now:
            return None
        with self._write_gate:
            conn.execute("BEGIN IMMEDIATE")
            try:
                taken = conn.execute(self._reserve_sql, (snapshot.offer_id, now)).fetchone()
                if taken is None:
                    conn.execute("ROLLBACK")
                    return 0
                member_id, user_id, price_fen = auth[3], auth[2], taken[2]
                expires = _sqlite_time(moment + self.payment_ttl)
                order = snapshot.order_params(member_id=member_id, user_id=user_id, price_fen=price_fen, now=now, expires=expires)
                order_id = conn.execute(self._order_sql, order).fetchone()[0]
                event = snapshot.event_payload(order_id=order_id, member_id=member_id, price_fen=price_fen)
                conn.execute(self._outbox_sql, (event, now))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return order_id

    async def attempt(self, token: str, offer_id: int) -> Outcome:
        snapshot = await self.warm(offer_id)
        conn = await self._free.get()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, self._attempt_in_thread, conn, snapshot, token
            )
        finally:
            self._free.put_nowait(conn)

    async def close(self) -> None:
        self._executor.shutdown(wait=True)
        for conn in self._all:
            conn.close()


async def open_engine(
    *, database_url: str, secret_key: str, clock: Clock, payment_ttl: timedelta, connections: int
) -> OrderEngine:
    """The engine on linli's database URL (SQLAlchemy form, as LINLI_DATABASE_URL holds it)."""
    common = {"secret_key": secret_key, "clock": clock, "payment_ttl": payment_ttl}
    if database_url.startswith("sqlite"):
        return SqliteOrderEngine(database_url.split("///", 1)[1], connections=connections, **common)
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    return await PostgresOrderEngine.connect(dsn, connections=connections, **common)


async def _connect_all(dsn: str, count: int) -> list[asyncpg.Connection]:
    """`count` connections; when the server is full (other clients of a shared PostgreSQL), waits up to a minute."""
    connections: list[asyncpg.Connection] = []
    deadline = time.monotonic() + 60
    try:
        while len(connections) < count:
            try:
                connections.append(await asyncpg.connect(dsn))
            except asyncpg.TooManyConnectionsError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
    except BaseException:
        await asyncio.gather(*(conn.close() for conn in connections))
        raise
    return connections


async def run_engine_ceiling(
    *, database_url: str, secret_key: str, offer_id: int, tokens: list[str], concurrency: int, clock: Clock,
    payment_ttl: timedelta,
) -> RunFigures:
    """Every token tries the offer once, `concurrency` at a time; the figures of the run (see linli.bench.phases)."""
    engine = await open_engine(
        database_url=database_url, secret_key=secret_key, clock=clock, payment_ttl=payment_ttl, connections=concurrency
    )
    try:
        await engine.warm(offer_id)  # before the clock starts, as a per-process cache would have it
        queue: asyncio.Queue[str] = asyncio.Queue()
        for token in tokens:
            queue.put_nowait(token)
        attempts: list[Attempt] = []
        origin = time.perf_counter()

        async def work() -> None:
            while not queue.empty():
                token = queue.get_nowait()
                started = time.perf_counter() - origin
                try:
                    outcome = await engine.attempt(token, offer_id)
                except (asyncpg.PostgresError, sqlite3.Error):
                    outcome = None
                ended = time.perf_counter() - origin
                attempts.append(Attempt(started, ended, bought=bool(outcome), failed=outcome is None))

        await asyncio.gather(*(work() for _ in range(concurrency)))
        elapsed = time.perf_counter() - origin
    finally:
        await engine.close()
    return figures(attempts, elapsed=elapsed)
