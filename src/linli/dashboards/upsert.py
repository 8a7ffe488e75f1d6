"""Upserts of the roll-ups' rows on both databases (INSERT … ON CONFLICT on the row's primary key).

One statement each, no savepoint and no ORM flush, and each statement's shape built once per process (its
values are bound parameters): the roll-ups are written for every paid order, on the worker's path between a
payment and its leader's dashboard (docs/BENCHMARKS.md, freshness), where building an upsert anew cost more
than running it."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import bindparam, literal_column
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from linli.db import Base


def _insert(dialect: str, model: type[Base], names: tuple[str, ...]) -> Any:
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(model).values({name: bindparam(name) for name in names})


@cache
def _bump_statement(dialect: str, model: type[Base], keys: tuple[str, ...], others: tuple[str, ...],
                    increments: tuple[str, ...], returning: tuple[str, ...]) -> Any:
    statement = _insert(dialect, model, (*keys, *others, *increments))
    table = model.__table__
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: table.c[name] + statement.excluded[name] for name in increments}
    )
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement


@cache
def _put_statement(dialect: str, model: type[Base], keys: tuple[str, ...], others: tuple[str, ...],
                   values: tuple[str, ...]) -> Any:
    statement = _insert(dialect, model, (*keys, *others, *values))
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in values}
    )


@cache
def _insert_new_statement(dialect: str, model: type[Base], names: tuple[str, ...]) -> Any:
    return _insert(dialect, model, names).on_conflict_do_nothing().returning(literal_column("1"))


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def bump(session: AsyncSession, model: type[Base], *, keys: dict[str, Any], also: dict[str, Any] | None = None,
               returning: tuple[str, ...] = (), **increments: int) -> Any:
    """INSERT the row with `increments` as its values, or add them to the row that has these `keys`; with
    `returning`, those columns of the row as it is after (the row stays locked until the transaction ends)."""
    also = also or {}
    statement = _bump_statement(_dialect(session), model, tuple(keys), tuple(also), tuple(increments), returning)
    result = await session.execute(statement, {**keys, **also, **increments})
    return result.one() if returning else None


async def put(session: AsyncSession, model: type[Base], *, keys: dict[str, Any], also: dict[str, Any] | None = None,
              **values: int) -> None:
    """INSERT the row, or overwrite these `values` of the row that has these `keys` (its other columns stay)."""
    also = also or {}
    statement = _put_statement(_dialect(session), model, tuple(keys), tuple(also), tuple(values))
    await session.execute(statement, {**keys, **also, **values})


async def insert_new(session: AsyncSession, model: type[Base], **values: Any) -> bool:
    """INSERT the row unless one with its primary key (or another unique key) exists; True if it was inserted.

    As `db.insert_unique` under concurrency (a second insert of the key waits for the first's transaction and then
    inserts nothing), in one statement."""
    statement = _insert_new_statement(_dialect(session), model, tuple(values))
    return (await session.execute(statement, values)).first() is not None
