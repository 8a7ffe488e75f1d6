"""The national-scale data set of `linli bench dashboard`: one brand's 12 months, raw rows and roll-ups.

Scale 1.0 is 10,000,000 paid orders, 50,000 leaders (each with a community) and 2,000,000 members bound to
them. The fixed rows (the brand, its owner, a product, one live session per month with a listing, and a live
session for the rush) go through the services; the rest is generated in Python in time order and bulk-loaded
(PostgreSQL: COPY with the tables' secondary indexes dropped and rebuilt after, and foreign-key triggers off
for the load; SQLite: executemany in large transactions):
- leaders' sizes are skewed: member j is bound to leader ⌊L·u²⌋ (u uniform), so the first leaders hold
  thousands of members and most a few dozen;
- members repurchase: an order at time t goes to a member among those who joined by t, drawn as ⌊J·u^1.5⌋,
  so early members buy again and again and late ones rarely; 30 % joined before the window;
- 1–3 boxes at a few price points; about 3 % of the orders are refunded, two thirds in full (the order is
  then `refunded`) and a third by a third of their total (after-sales). Only those orders carry a payment
  row (a refund needs one); the dashboards never read payments.
`dash_paid_orders` is written beside each order (its local day and month in the brand's zone); every other
roll-up is computed set-based from it (INSERT … SELECT … GROUP BY), as `dashboards.rebuild` would.

The database is kept: a marker table (`bench_dashboard_marker`) records the scale, the schema revision and
the local month it was generated in, and a later run with the same three reuses it.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alembic.script import ScriptDirectory
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.console import Console
from sqlalchemy import Date, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from linli import migrate
from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.catalog import service as catalog
from linli.dashboards import kpi_rebuild, rank_buckets
from linli.dashboards.rebuild_leaders import brand_scopes, rebuild_kpi_scope
from linli.dashboards.rebuild_orders import leader_weeks_from_days
from linli.dashboards.rollups import month_of, next_month
from linli.db import Database
from linli.live import listings as live_listings
from linli.live import sessions as live_sessions
from linli.models import metadata

ORDERS, LEADERS, MEMBERS = 10_000_000, 50_000, 2_000_000  # at scale 1.0
MONTHS = 12
ZONE = "Asia/Shanghai"
OWNER_PHONE = "13700000000"
GENERATION = 2  # bump when the generated rows change shape: stored data sets of another generation are rebuilt
CHUNK = 50_000
PRICES = (990, 1990, 2990, 3990, 5990, 8800, 9990)
REFUND_SHARE = 0.03
MARKER = "bench_dashboard_marker"
# The raw query's index (bench_orders_brand_paid): brand, then time, covering what the brand's figures read.
RAW_INDEX = "CREATE INDEX IF NOT EXISTS bench_orders_brand_paid ON orders (brand_id, paid_at, payable_fen, member_id)"


@dataclass(frozen=True)
class Sizes:
    orders: int
    leaders: int
    members: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        return cls(max(20, round(ORDERS * scale)), max(3, round(LEADERS * scale)), max(10, round(MEMBERS * scale)))


@dataclass(frozen=True)
class DataSet:
    brand_id: int
    rush_listing_id: int
    owner_user_id: int
    orders: int
    leaders: int
    members: int
    generated: bool
    generate_seconds: float


def schema_head() -> str:
    head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def window(now: datetime) -> tuple[datetime, date]:
    """The data set's first instant (the 1st of the month 11 months back, local) and the local month of `now`."""
    zone = ZoneInfo(ZONE)
    this_month = month_of(now.astimezone(zone).date())
    first = this_month
    for _ in range(MONTHS - 1):
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return datetime(first.year, first.month, 1, tzinfo=zone).astimezone(UTC), this_month


async def read_marker(db: Database) -> dict[str, Any] | None:
    try:
        async with db.engine.connect() as conn:
            row = (await conn.execute(text(f"SELECT * FROM {MARKER}"))).mappings().first()
    except Exception:  # noqa: BLE001 - no database, or no marker table: nothing stored
        return None
    return dict(row) if row else None


def marker_matches(marker: dict[str, Any] | None, *, scale: float, now: datetime) -> bool:
    return bool(marker) and (
        float(marker["scale"]), int(marker["generation"]), marker["schema_head"], str(marker["local_month"])
    ) == (float(scale), GENERATION, schema_head(), window(now)[1].isoformat())


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:>24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True),
    )


@dataclass(frozen=True)
class _Stage:
    brand_id: int
    owner_user_id: int
    product: tuple[int, int, str, str]  # product id, sku id, product name, sku name
    month_sessions: list[tuple[date, tuple[int, int]]]  # each month of the window: (session id, listing id)
    rush_listing_id: int


async def _stage(db: Database, *, start: datetime, now: datetime) -> _Stage:
    async with db.transaction() as s:
        brand = await brands.create_brand(session=s, name="优邻优选", slug="bench-dashboard", timezone=ZONE, now=start)
        owner = await accounts.get_or_create_user_by_phone(session=s, phone=OWNER_PHONE, now=start, display_name="店长")
        await brands.add_staff(session=s, brand_id=brand.id, user_id=owner.id, role="owner", now=start)
        product, skus = await catalog.create_product(
            session=s, brand_id=brand.id,
            product=catalog.ProductInput(
                name="黄金奶油草莓", skus=[catalog.SkuInput(name="500g/盒", list_price_fen=9800, stock_quantity=10_000_000)]
            ),
            now=start,
        )
        sessions: list[tuple[int, int]] = []
        month = month_of(start.astimezone(ZoneInfo(ZONE)).date())
        for n in range(MONTHS + 1):  # the months of the window, then the session live during the rush
            at = now if n == MONTHS else datetime(month.year, month.month, 1, 12, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)
            live = await live_sessions.create_session(
                session=s, brand_id=brand.id, data=live_sessions.SessionInput(title=f"草莓专场 {n + 1}", scheduled_start_at=at),
                now=start,
            )
            listing = await live_listings.add_listing(
                session=s, brand_id=brand.id, session_id=live.id, sku_id=skus[0].id, live_price_fen=8800,
                allocation=100_000, per_member_limit=None, now=start,
            )
            sessions.append((month, (live.id, listing.listing.id)))
            month = next_month(month)
        rush_session, rush_listing = sessions[-1][1]
        await live_sessions.start_session(session=s, brand_id=brand.id, session_id=rush_session, now=now)
        return _Stage(brand.id, owner.id, (product.id, skus[0].id, product.name, skus[0].name), sessions[:-1], rush_listing)


class _Loader:
    """Bulk rows into a table: COPY on PostgreSQL, executemany on SQLite (instants as SQLAlchemy stores them)."""

    def __init__(self, conn: AsyncConnection, dialect: str) -> None:
        self.conn, self.dialect = conn, dialect

    async def load(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        raw = (await self.conn.get_raw_connection()).driver_connection
        assert raw is not None
        if self.dialect == "postgresql":
            await raw.copy_records_to_table(table, records=rows, columns=list(columns))
            return
        rows = [tuple(_sqlite_value(v) for v in row) for row in rows]
        marks = ", ".join("?" for _ in columns)
        await raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLAlchemy's SQLite DateTime format, naive UTC
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _chunks(rows: Iterator[tuple], size: int = CHUNK) -> Iterator[list[tuple]]:
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _next_id(conn: AsyncConnection, table: str) -> int:
    return int(await conn.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}")) or 0) + 1


ORDER_COLUMNS = (
    "id", "brand_id", "member_id", "user_id", "session_id", "listing_id", "sku_id", "product_id", "product_name",
    "sku_name", "quantity", "unit_price_fen", "total_fen", "discount_fen", "payable_fen", "leader_id", "community_id",
    "pickup_point_id", "status", "idempotency_key",
    "request_fingerprint", "placed_at", "expires_at", "paid_at", "closed_at",
)
PAID_COLUMNS = (
    "order_id", "brand_id", "leader_id", "community_id", "member_id", "session_id", "paid_at", "paid_day",
    "paid_month", "paid_fen", "refunded_fen",
)
PAYMENT_COLUMNS = ("id", "order_id", "brand_id", "provider", "out_trade_no", "amount_fen", "status",
                   "provider_transaction_id", "prepay", "created_at", "succeeded_at")
REFUND_COLUMNS = ("id", "payment_id", "order_id", "out_refund_no", "amount_fen", "reason", "status", "created_at",
                  "completed_at")


@dataclass(frozen=True)
class _People:
    member0: int  # the first bound member's id (and user0 its user's): member j is member0 + j
    user0: int
    leader0: int  # leader k is leader0 + k, its community community0 + k
    community0: int
    point0: int  # and its pickup point point0 + k
    leader_of: list[int]  # member j's leader k
    joined: list[float]  # member j's first entry, seconds after the window's start (negative: before it)


async def _load_people(loader: _Loader, stage: _Stage, sizes: Sizes, *, start: datetime, now: datetime,
                       rng: random.Random, progress: Progress) -> _People:
    """Users, members, communities, leaders (each with a member of their own) and the members' bindings."""
    conn, b = loader.conn, stage.brand_id
    span = (now - start).total_seconds() - 60
    user0, member0 = await _next_id(conn, "users"), await _next_id(conn, "members")
    community0, leader0 = await _next_id(conn, "communities"), await _next_id(conn, "leaders")
    point0, binding0 = await _next_id(conn, "pickup_points"), await _next_id(conn, "bindings")
    people = sizes.leaders + sizes.members  # the leaders' own users and members first, then the bound members'
    before = int(sizes.members * 0.3)
    joined = [-rng.random() * 180 * 86400 if j < before else (j - before) / (sizes.members - before) * span
              for j in range(sizes.members)]
    leader_of = [int(sizes.leaders * rng.random() ** 2) for _ in range(sizes.members)]
    task = progress.add_task("users, members", total=people)
    for chunk in _chunks((i, f"139{i:08d}", "邻居", start - timedelta(days=200)) for i in range(people)):
        await loader.load("users", ("id", "phone", "display_name", "created_at"),
                          [(user0 + i, phone, name, at) for i, phone, name, at in chunk])
        await loader.load("members", ("id", "brand_id", "user_id", "joined_at"),
                          [(member0 + i, b, user0 + i, at if i < sizes.leaders else start + timedelta(seconds=joined[i - sizes.leaders]))
                           for i, _, _, at in chunk])
        progress.advance(task, len(chunk))
    task = progress.add_task("communities, leaders", total=sizes.leaders)
    for chunk in _chunks(iter(range(sizes.leaders))):
        await loader.load("communities", ("id", "brand_id", "name", "address", "created_at"),
                          [(community0 + i, b, f"小区 {i + 1}", f"邻里路 {i + 1} 号", start - timedelta(days=200)) for i in chunk])
        await loader.load("pickup_points", ("id", "community_id", "name", "address", "opening_hours", "contact_name",
                                            "contact_phone"),
                          [(point0 + i, community0 + i, f"小区 {i + 1} 自提点", "1 号楼底商", "09:00-21:00", f"团长{i + 1}",
                            f"138{i:08d}") for i in chunk])
        await loader.load("leaders", ("id", "brand_id", "member_id", "community_id", "status", "real_name",
                                      "application_note", "applied_at", "activated_at"),
                          [(leader0 + i, b, member0 + i, community0 + i, "active", f"团长{i + 1}", "",
                            start - timedelta(days=200), start - timedelta(days=199)) for i in chunk])
        progress.advance(task, len(chunk))
    task = progress.add_task("bindings", total=sizes.members)
    for chunk in _chunks(iter(range(sizes.members))):
        await loader.load("bindings", ("id", "brand_id", "member_id", "leader_id", "status", "source", "bound_at"),
                          [(binding0 + j, b, member0 + sizes.leaders + j, leader0 + leader_of[j], "active", "invite_code",
                            start + timedelta(seconds=joined[j])) for j in chunk])
        progress.advance(task, len(chunk))
    return _People(member0 + sizes.leaders, user0 + sizes.leaders, leader0, community0, point0, leader_of, joined)


async def _load_orders(loader: _Loader, stage: _Stage, sizes: Sizes, *, start: datetime, now: datetime,
                       rng: random.Random, progress: Progress) -> None:
    conn, b = loader.conn, stage.brand_id
    people = await _load_people(loader, stage, sizes, start=start, now=now, rng=rng, progress=progress)
    order0 = await _next_id(conn, "orders")
    payment_ids = itertools.count(await _next_id(conn, "payments"))
    refund_ids = itertools.count(await _next_id(conn, "refunds"))
    product_id, sku_id, product_name, sku_name = stage.product
    zone = ZoneInfo(ZONE)
    session_of = dict(stage.month_sessions)
    span = (now - start).total_seconds() - 60
    before = int(sizes.members * 0.3)
    task = progress.add_task("orders", total=sizes.orders)
    for lo in range(0, sizes.orders, CHUNK):
        orders, paid, payments, refunds = [], [], [], []
        for i in range(lo, min(sizes.orders, lo + CHUNK)):
            order_id = order0 + i
            offset = (i + rng.random()) / sizes.orders * span
            paid_at = start + timedelta(seconds=offset)
            # The members who had joined by then: those before the window, and the window's share since.
            eligible = before + int((sizes.members - before) * offset / span)
            m = min(eligible - 1, int(eligible * rng.random() ** 1.5))
            k = people.leader_of[m]
            leader, community, point = people.leader0 + k, people.community0 + k, people.point0 + k
            quantity, price = 1 + int(rng.random() ** 3 * 3), PRICES[rng.randrange(len(PRICES))]
            total = quantity * price
            local = paid_at.astimezone(zone).date()
            session_id, listing_id = session_of[local.replace(day=1)]
            refunded, status, closed = 0, "paid", None
            if rng.random() < REFUND_SHARE:
                full = rng.random() < 2 / 3
                refunded = total if full else max(1, total // 3)
                back_at = min(now - timedelta(seconds=1), paid_at + timedelta(days=1))
                status, closed = ("refunded", back_at) if full else ("paid", None)
                payment_id = next(payment_ids)
                payments.append((payment_id, order_id, b, "simulator", f"G{order_id}", total, "succeeded", f"GT{order_id}",
                                 "{}", paid_at, paid_at))
                refunds.append((next(refund_ids), payment_id, order_id, f"GR{order_id}", refunded, "售后退款",
                                "succeeded", back_at, back_at))
            placed = paid_at - timedelta(minutes=2)
            member, user = people.member0 + m, people.user0 + m
            orders.append((order_id, b, member, user, session_id, listing_id, sku_id, product_id, product_name, sku_name,
                           quantity, price, total, 0, total, leader, community, point, status, f"gen-{i}", "bench", placed,
                           placed + timedelta(minutes=15), paid_at, closed))
            paid.append((order_id, b, leader, community, member, session_id, paid_at, local, local.replace(day=1), total,
                         refunded))
        await loader.load("orders", ORDER_COLUMNS, orders)
        await loader.load("dash_paid_orders", PAID_COLUMNS, paid)
        if payments:
            await loader.load("payments", PAYMENT_COLUMNS, payments)
            await loader.load("refunds", REFUND_COLUMNS, refunds)
        progress.advance(task, len(orders))


def _roll_up_statements(months: list[date]) -> list[tuple[str, str, dict[str, date]]]:
    """(label, SQL, date parameters): every roll-up from `dash_paid_orders` and `refunds`, set-based."""
    statements = [
        ("applied refunds", "INSERT INTO dash_applied_refunds (refund_id, order_id, amount_fen) "
         "SELECT id, order_id, amount_fen FROM refunds WHERE status = 'succeeded'", {}),
        ("leader days", "INSERT INTO dash_leader_days (leader_id, day, brand_id, orders, paid_fen, refunded_fen, gmv_fen) "
         "SELECT leader_id, paid_day, brand_id, count(*), sum(paid_fen), sum(refunded_fen), sum(paid_fen) - sum(refunded_fen) "
         "FROM dash_paid_orders WHERE leader_id IS NOT NULL GROUP BY leader_id, paid_day, brand_id", {}),
        ("brand days", "INSERT INTO dash_brand_days (brand_id, day, orders, paid_fen, refunded_fen) "
         "SELECT brand_id, paid_day, count(*), sum(paid_fen), sum(refunded_fen) FROM dash_paid_orders "
         "GROUP BY brand_id, paid_day", {}),
        ("member months", "INSERT INTO dash_member_months (brand_id, month, member_id) "
         "SELECT DISTINCT brand_id, paid_month, member_id FROM dash_paid_orders", {}),
        ("leader member months", "INSERT INTO dash_leader_member_months (leader_id, month, member_id) "
         "SELECT DISTINCT leader_id, paid_month, member_id FROM dash_paid_orders WHERE leader_id IS NOT NULL", {}),
    ]
    for month in months:
        dates = {"month": month, "next": next_month(month)}
        statements.append((f"brand month {month:%Y-%m}",
            "INSERT INTO dash_brand_months (brand_id, month, paying_members, bought_again_next_month) "
            "SELECT a.brand_id, a.month, count(*), count(b.member_id) FROM dash_member_months a "
            "LEFT JOIN dash_member_months b ON b.brand_id = a.brand_id AND b.member_id = a.member_id AND b.month = :next "
            "WHERE a.month = :month GROUP BY a.brand_id, a.month", dates))
        statements.append((f"leader month {month:%Y-%m}",
            "INSERT INTO dash_leader_months (leader_id, month, brand_id, paying_members, bought_again_next_month, "
            "orders, paid_fen, refunded_fen, gmv_fen) "
            "SELECT d.leader_id, :month, d.brand_id, p.paying, p.again, d.orders, d.paid, d.refunded, d.paid - d.refunded "
            "FROM (SELECT leader_id, brand_id, sum(orders) AS orders, sum(paid_fen) AS paid, sum(refunded_fen) AS refunded "
            "      FROM dash_leader_days WHERE day >= :month AND day < :next GROUP BY leader_id, brand_id) d "
            "JOIN (SELECT a.leader_id, count(*) AS paying, count(b.member_id) AS again FROM dash_leader_member_months a "
            "      LEFT JOIN dash_leader_member_months b ON b.leader_id = a.leader_id AND b.member_id = a.member_id "
            "      AND b.month = :next WHERE a.month = :month GROUP BY a.leader_id) p ON p.leader_id = d.leader_id",
            dates))
    return statements


BULK_TABLES = ("users", "members", "communities", "pickup_points", "leaders", "bindings", "orders", "dash_paid_orders", "payments",
               "refunds")


async def generate(db: Database, *, scale: float, now: datetime) -> DataSet:
    """Fills an empty, migrated database with the data set of `scale` and writes the marker."""
    started = time.perf_counter()
    sizes = Sizes.at(scale)
    start, this_month = window(now)
    stage = await _stage(db, start=start, now=now)
    rng = random.Random(16)
    dialect = db.dialect
    indexes = [index for name in BULK_TABLES for index in metadata.tables[name].indexes]
    with _progress() as progress:
        async with db.engine.begin() as conn:
            if dialect == "postgresql":  # a bulk load: the secondary indexes are rebuilt after, the FKs hold by construction
                await conn.execute(text("SET LOCAL session_replication_role = replica"))
                for index in indexes:
                    await conn.run_sync(index.drop)
            await _load_orders(_Loader(conn, dialect), stage, sizes, start=start, now=now, rng=rng, progress=progress)
            months, month = [], month_of(start.astimezone(ZoneInfo(ZONE)).date())
            while month <= this_month:
                months.append(month)
                month = next_month(month)
            statements = _roll_up_statements(months)
            task = progress.add_task("indexes, roll-ups", total=len(indexes) + len(statements) + 2)
            if dialect == "postgresql":
                for index in indexes:
                    await conn.run_sync(index.create)
                    progress.advance(task)
                for table in BULK_TABLES:  # the ids were given: the sequences continue after them
                    if table != "dash_paid_orders":
                        await conn.execute(text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                        ))
            else:
                progress.advance(task, len(indexes))
            await conn.execute(text(RAW_INDEX))
            progress.advance(task)
            for _, sql, dates in statements:
                params = [bindparam(name, value, type_=Date()) for name, value in dates.items()]
                await conn.execute(text(sql).bindparams(*params))
                progress.advance(task)
            await conn.execute(leader_weeks_from_days(brand_id=stage.brand_id, first_week=None))
            progress.advance(task)
            await conn.execute(text(
                f"CREATE TABLE IF NOT EXISTS {MARKER} (scale FLOAT, generation INTEGER, schema_head VARCHAR(32), local_month VARCHAR(10), "
                "brand_id INTEGER, rush_listing_id INTEGER, owner_user_id INTEGER, generate_seconds FLOAT)"
            ))
            await conn.execute(text(f"DELETE FROM {MARKER}"))
            await conn.execute(text(f"INSERT INTO {MARKER} VALUES (:scale, :generation, :head, :month, :brand, :rush, :owner, :seconds)"),
                               {"scale": scale, "generation": GENERATION, "head": schema_head(), "month": this_month.isoformat(),
                                "brand": stage.brand_id, "rush": stage.rush_listing_id, "owner": stage.owner_user_id,
                                "seconds": round(time.perf_counter() - started, 1)})
    async with db.transaction() as session:  # the KPIs' roll-ups, recomputed set-based as `linli rollup --rebuild` does
        await kpi_rebuild.rebuild(session=session, brand_id=stage.brand_id)
        for scope in await brand_scopes(session, stage.brand_id, None):
            await rebuild_kpi_scope(session=session, scope=scope)
        await rank_buckets.recount(session=session, brand_id=stage.brand_id, first_month=None)
    await _analyze(db)
    return await stored_data_set(db, generated=True)


async def _analyze(db: Database) -> None:
    """What autovacuum would do after such a load (index-only scans need the visibility map), so every run starts alike."""
    if db.dialect == "postgresql":
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    else:
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


async def stored_data_set(db: Database, *, generated: bool) -> DataSet:
    marker = await read_marker(db)
    assert marker is not None
    async with db.engine.connect() as conn:
        counts = [int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0) for table in ("orders", "leaders", "bindings")]
    return DataSet(
        brand_id=int(marker["brand_id"]), rush_listing_id=int(marker["rush_listing_id"]),
        owner_user_id=int(marker["owner_user_id"]), orders=counts[0], leaders=counts[1], members=counts[2],
        generated=generated, generate_seconds=float(marker["generate_seconds"]),
    )
