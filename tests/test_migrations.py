"""The Alembic migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from linli import migrate
from linli.models import metadata
from tests.conftest import BACKENDS, DEFAULT_POSTGRES_URL, _with_database


async def _schema_diff(url: str) -> list:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
    await engine.dispose()
    return diff


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def _admin(sql: str) -> None:
    admin = os.environ.get("LINLI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/migrations.db"
        return
    name = f"linli_migrations_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield _with_database(os.environ.get("LINLI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL), name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_migrations_match_models_and_downgrade_cleanly(empty_database):
    migrate.upgrade(empty_database)
    assert asyncio.run(_schema_diff(empty_database)) == []
    assert asyncio.run(_tables(empty_database)) == set(metadata.tables)
    migrate.downgrade(empty_database)
    assert asyncio.run(_tables(empty_database)) == set()
    migrate.upgrade(empty_database)  # and up again, as `linli demo --reset` does
    assert asyncio.run(_schema_diff(empty_database)) == []


async def _execute(url: str, sql: str, **params: object) -> list:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        result = await conn.execute(text(sql), params)
        rows = list(result) if result.returns_rows else []
    await engine.dispose()
    return rows


def test_money_becomes_64_bit_keeping_the_rows_and_a_too_large_amount_blocks_the_downgrade(empty_database):
    migrate.upgrade(empty_database, "0001")
    entry = (
        "INSERT INTO ledger_entries (transaction_id, account_id, amount_fen, posted_at)"
        " VALUES (1, 1, :fen, CURRENT_TIMESTAMP)"
    )
    asyncio.run(_execute(empty_database, entry, fen=-2_147_483_648))
    migrate.upgrade(empty_database, "0002")
    asyncio.run(_execute(empty_database, entry, fen=2_200_000_000))
    amounts = asyncio.run(_execute(empty_database, "SELECT amount_fen FROM ledger_entries ORDER BY id"))
    assert [row[0] for row in amounts] == [-2_147_483_648, 2_200_000_000]
    if empty_database.startswith("sqlite"):
        return  # SQLite's INTEGER was 64-bit all along: nothing to narrow
    # Narrowing would lose money: PostgreSQL refuses, and the schema stays 64-bit.
    with pytest.raises(Exception, match="out of range"):
        migrate.downgrade(empty_database, "0001")
    asyncio.run(_execute(empty_database, "DELETE FROM ledger_entries WHERE amount_fen > 2147483647"))
    migrate.downgrade(empty_database, "0001")
    amounts = asyncio.run(_execute(empty_database, "SELECT amount_fen FROM ledger_entries"))
    assert [row[0] for row in amounts] == [-2_147_483_648]
    assert asyncio.run(_schema_diff(empty_database)) != []  # back to 0001's INTEGER, which the models no longer are
