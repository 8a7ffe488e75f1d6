"""Every database test runs twice: on an SQLite file and on PostgreSQL.

PostgreSQL is required: it comes from LINLI_TEST_POSTGRES_URL (default the local server) and the
suite creates, and afterwards drops, a database of its own. Setting LINLI_TEST_SKIP_POSTGRES=1 runs
SQLite only, for a quick local loop; CI never sets it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from linli.accounts.sms import InboxSmsSender
from linli.accounts.wechat import SimulatedWeChatClient
from linli.app import create_app
from linli.clock import FixedClock
from linli.config import Settings
from linli.context import AppContext
from linli.db import Database
from linli.models import metadata
from linli.payments.providers import build_providers
from linli.payouts.providers import build_payout_providers

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai

BACKENDS = ["sqlite"] if os.environ.get("LINLI_TEST_SKIP_POSTGRES") == "1" else ["sqlite", "postgresql"]
# For what only PostgreSQL has (LISTEN/NOTIFY): the test runs there alone instead of skipping on SQLite.
POSTGRESQL_ONLY = pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def _create_postgres_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    engine = create_async_engine(_with_database(admin_url, name))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()


async def _drop_postgres_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin_url = os.environ.get("LINLI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    name = f"linli_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        asyncio.run(_create_postgres_database(admin_url, name))
    except OSError as exc:  # pragma: no cover - the environment is broken, say so loudly
        pytest.fail(f"PostgreSQL is required for the test suite ({admin_url}): {exc}")
    yield _with_database(admin_url, name)
    asyncio.run(_drop_postgres_database(admin_url, name))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/linli.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    if database.dialect == "sqlite":
        async with database.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
    else:
        # DELETE, child tables first: far cheaper than TRUNCATE for the few rows a test leaves behind.
        async with database.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    yield database
    await database.dispose()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests create many staff logins: argon2 with tiny costs keeps them fast and still really hashes."""
    from argon2 import PasswordHasher

    from linli.accounts import service as accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(tmp_path) -> Settings:
    # Development mode and the simulators are off by default (secure by default); the suite drives them.
    return Settings(
        database_url="(test)", secret_key="test-secret", data_dir=tmp_path,
        dev_mode=True, payment_simulator_enabled=True,
    )


@pytest.fixture
async def ctx(db: Database, clock: FixedClock, settings: Settings) -> AsyncIterator[AppContext]:
    settings = settings.with_overrides(database_url=db.url)
    context = AppContext(
        settings=settings,
        db=db,
        clock=clock,
        sms_sender=InboxSmsSender(),
        wechat=SimulatedWeChatClient(),
        payments=build_providers(settings),
        payouts=build_payout_providers(settings),
    )
    yield context
    await context.stop_background()  # the live room's tails and LISTEN connection, before `db` is disposed


@pytest.fixture
async def client(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx, dispose_on_shutdown=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


@pytest.fixture
def world(ctx: AppContext):
    from tests.factories import World

    return World(ctx)
