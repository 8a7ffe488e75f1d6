"""Database plumbing shared by every context: the declarative base, column types and engines.

SQLite is one writer at a time, so write transactions begin IMMEDIATE (they queue on the busy
timeout instead of failing with "database is locked" when they later try to write), WAL lets
readers proceed meanwhile, and read-only requests use a second engine whose transactions are
deferred. Dashboards and reports read through `Database.report()`: a PostgreSQL replica when one is configured
(`linli.replica`), else the same as `read()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Date, DateTime, Integer, MetaData, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from linli.replica import Replica

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC; always hands back aware datetimes in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[int]):
    """Integer fen, 64-bit in every database: BIGINT on PostgreSQL, INTEGER on SQLite (8 bytes there already).

    Values always come back as int: PostgreSQL sums BIGINT into NUMERIC, which the driver hands over as Decimal.
    """

    impl = BigInteger
    cache_ok = True

    class comparator_factory(TypeDecorator.Comparator[int], BigInteger.Comparator[int]):  # noqa: N801 (SQLAlchemy's)
        """Arithmetic on money stays money (paid − refunded, price × quantity), so its sums come back as int too."""

        def _adapt_expression(self, op: Any, other_comparator: Any) -> tuple[Any, Any]:
            op, result = super()._adapt_expression(op, other_comparator)
            return op, Money() if result._type_affinity is Integer else result

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return dialect.type_descriptor(Integer() if dialect.name == "sqlite" else BigInteger())

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


# Declare every amount of money as `Mapped[Fen]` (or `Mapped[Fen | None]`); tests/test_money_columns.py checks it.
Fen = Annotated[int, "fen"]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), Fen: Money()}


class IdMixin:
    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


class local_date(GenericFunction[Any]):  # noqa: N801 - SQL functions read as functions
    """`local_date(instant, zone)`: the calendar day of a stored UTC instant in an IANA time zone, in SQL, so
    that set-based statements (the dashboards' rebuild) group by a brand's local days on both databases."""

    type = Date()
    inherit_cache = True


class local_month(GenericFunction[Any]):  # noqa: N801
    """`local_month(instant, zone)`: the first day of that local day's month."""

    type = Date()
    inherit_cache = True


class week_of(GenericFunction[Any]):  # noqa: N801
    """`week_of(day)`: the Monday of a date's week (ISO weeks, Monday to Sunday), as `dashboards.rollups.week_of`."""

    type = Date()
    inherit_cache = True


@compiles(week_of, "postgresql")
def _week_of_postgresql(element: week_of, compiler: Any, **kw: Any) -> str:
    (day,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({day} - CAST(EXTRACT(ISODOW FROM {day}) AS INTEGER) + 1)"


def _sqlite_week_of(day: str | None) -> str | None:
    if day is None:
        return None
    value = date.fromisoformat(day)
    return (value - timedelta(days=value.weekday())).isoformat()


@compiles(local_date, "postgresql")
def _local_date_postgresql(element: local_date, compiler: Any, **kw: Any) -> str:
    instant, zone = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(timezone({zone}, {instant}) AS DATE)"


@compiles(local_month, "postgresql")
def _local_month_postgresql(element: local_month, compiler: Any, **kw: Any) -> str:
    instant, zone = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(date_trunc('month', timezone({zone}, {instant})) AS DATE)"


def _sqlite_local_date(instant: str | None, zone: str | None) -> str | None:
    """SQLite has no time zones: the rebuild's `local_date` is this Python function, registered per connection."""
    if instant is None or zone is None:
        return None
    return datetime.fromisoformat(instant).replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).date().isoformat()


def _sqlite_local_month(instant: str | None, zone: str | None) -> str | None:
    day = _sqlite_local_date(instant, zone)
    return None if day is None else day[:8] + "01"


def _install_sqlite_pragmas(engine: AsyncEngine, *, begin: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.create_function("local_date", 2, _sqlite_local_date, deterministic=True)
        dbapi_connection.create_function("local_month", 2, _sqlite_local_month, deterministic=True)
        dbapi_connection.create_function("week_of", 1, _sqlite_week_of, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


class DriverStatement:
    """A Core statement compiled once for PostgreSQL's driver: its SQL and the order of its parameters.

    For the reads every request makes (the token check, the order's fresh read), run on `Database.driver_lookup()`:
    asyncpg prepares it once per connection, and no SQLAlchemy connection, execution context or result is built
    per call, which cost more than the statement itself. Literal values in the statement keep their value.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: tuple[str, list[tuple[str, bool, Any]]] | None = None

    def compiled(self, dialect: Dialect) -> tuple[str, list[tuple[str, bool, Any]]]:
        """The SQL, and per parameter in order: its name, whether the caller must give it, its literal value."""
        if self._compiled is None:
            compiled = self.statement.compile(dialect=dialect)
            binds = [(name, compiled.binds[name]) for name in compiled.positiontup or []]
            self._compiled = (str(compiled), [(name, bind.required, bind.effective_value) for name, bind in binds])
        return self._compiled


class DriverConnection:
    """A pooled connection's asyncpg connection, outside any transaction. Each statement is announced to the
    engine's `before_cursor_execute` listeners first, so what counts or logs statements sees these too."""

    def __init__(self, driver: Any, engine: AsyncEngine) -> None:
        self._driver = driver
        self._engine = engine.sync_engine

    async def fetchrow(self, statement: DriverStatement, params: dict[str, Any]) -> Any:  # noqa: ANN401 - a Record
        sql, order = statement.compiled(self._engine.dialect)
        args = [params[name] if required else params.get(name, value) for name, required, value in order]
        if self._engine.dispatch.before_cursor_execute:
            self._engine.dispatch.before_cursor_execute(None, None, sql, args, None, False)
        return await self._driver.fetchrow(sql, *args)


class Database:
    """Engines and session factories for one database URL, and the replica reports may read (`replica_url`)."""

    def __init__(
        self, url: str, *, pool_size: int = 20, max_overflow: int = 10, echo: bool = False, replica_url: str = ""
    ) -> None:
        self.url = url
        self.dialect = "sqlite" if is_sqlite(url) else "postgresql"
        if self.dialect == "sqlite":
            self._ensure_sqlite_folder(url)
            self.engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow)
            _install_sqlite_pragmas(self.engine, begin="BEGIN IMMEDIATE")
            self.read_engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow)
            _install_sqlite_pragmas(self.read_engine, begin="BEGIN")
        else:
            # A steady pool (overflow connections are closed on return, which costs a connect and the
            # prepared-statement cache under a rush) and no pre-ping round trip on every checkout.
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800, pool_timeout=60
            )
            self.read_engine = self.engine
        # The same pool, its connections checked out in autocommit: a lookup sends no BEGIN/COMMIT, and setting
        # the level once here spares each lookup its own execution_options round through the greenlet bridge.
        self._autocommit_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # One process's writers queue here, in order and without sleeping, rather than on SQLite's busy
        # timeout (which polls with sleeps of up to 100 ms); other processes still meet the busy timeout.
        self._write_gate = asyncio.Lock() if self.dialect == "sqlite" else None
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self.replica = Replica(replica_url, pool_size=pool_size, max_overflow=max_overflow) if replica_url else None

    @staticmethod
    def _ensure_sqlite_folder(url: str) -> None:
        from pathlib import Path

        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write unit of work: commits on success, rolls back on any exception."""
        if self._write_gate is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._write_gate, self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def report(self) -> AsyncIterator[AsyncSession]:
        """A read for dashboards and reports, which may be a little behind: on the replica when one is configured
        and answers (`replica.staleness_of(session)` says how far behind), else `read()` on the primary.
        Never for what decides money or access: those read the primary."""
        session = await self.replica.open() if self.replica is not None else None
        if session is None:
            async with self.read() as session:
                yield session
            return
        async with session:  # read only: closing rolls the replica's transaction back
            yield session

    @asynccontextmanager
    async def lookup(self) -> AsyncIterator[AsyncSession]:
        """A single-statement read without BEGIN/COMMIT round trips (PostgreSQL autocommit), e.g. token checks."""
        if self.dialect != "postgresql":
            async with self.read() as session:
                yield session
            return
        async with self._autocommit_engine.connect() as connection:
            async with AsyncSession(bind=connection, expire_on_commit=False) as session:
                yield session

    @asynccontextmanager
    async def lookup_connection(self) -> AsyncIterator[AsyncConnection]:
        """`lookup` as a Core connection, for a read that needs no ORM objects (the token check on every request)."""
        if self.dialect != "postgresql":
            async with self.read_engine.connect() as connection, connection.begin():
                yield connection
            return
        async with self._autocommit_engine.connect() as connection:
            yield connection

    @asynccontextmanager
    async def driver_lookup(self) -> AsyncIterator[DriverConnection]:
        """PostgreSQL only: `lookup_connection` on the driver itself (see DriverStatement), autocommit as
        asyncpg is outside a transaction. The connection goes back to the pool (and its reset) afterwards."""
        if self.dialect != "postgresql":
            raise RuntimeError("driver_lookup is for PostgreSQL")
        pooled = await self.engine.raw_connection()
        try:
            yield DriverConnection(pooled.driver_connection, self.engine)
        finally:
            await greenlet_spawn(pooled.close)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
        if self.replica is not None:
            await self.replica.dispose()


ID_CHUNK = 5000  # ids per IN list: asyncpg binds at most 32,767 parameters in one statement


def id_chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    """`ids` sorted, in lists short enough to bind (a brand's 50,000 leaders in one file export)."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), ID_CHUNK):
        yield ordered[start:start + ID_CHUNK]


async def insert_missing(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """INSERT `rows` in one statement, skipping each that a unique key already holds (INSERT … ON CONFLICT DO
    NOTHING on both databases: a concurrent creator's row wins, as with `insert_unique`, without a savepoint
    per row). Read the rows afterwards: this writes them only."""
    if not rows:
        return
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(model.__table__).values(rows).on_conflict_do_nothing())


async def insert_unique(session: AsyncSession, obj: Base) -> bool:
    """Insert `obj` inside a savepoint; False (and nothing written) if a unique constraint refuses it.

    The constraint is the last line of defence against a concurrent request that passed the same
    checks; the caller then reads the row the other request wrote.
    """
    from sqlalchemy.exc import IntegrityError

    try:
        async with session.begin_nested():
            session.add(obj)
            await session.flush()
    except IntegrityError:
        return False
    return True
