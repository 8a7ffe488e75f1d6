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
