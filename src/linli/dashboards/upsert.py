"""Upserts of the roll-ups' rows on both databases (INSERT … ON CONFLICT on the row's primary key)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from linli.db import Base


def _insert(session: AsyncSession, model: type[Base], values: dict[str, Any]) -> Any:
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(model).values(**values)


async def bump(session: AsyncSession, model: type[Base], *, keys: dict[str, Any], also: dict[str, Any] | None = None,
               **increments: int) -> None:
    """INSERT the row with `increments` as its values, or add them to the row that has these `keys`."""
    statement = _insert(session, model, {**keys, **(also or {}), **increments})
    table = model.__table__
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: table.c[name] + statement.excluded[name] for name in increments}
    )
    await session.execute(statement)


async def put(session: AsyncSession, model: type[Base], *, keys: dict[str, Any], also: dict[str, Any] | None = None,
              **values: int) -> None:
    """INSERT the row, or overwrite these `values` of the row that has these `keys` (its other columns stay)."""
    statement = _insert(session, model, {**keys, **(also or {}), **values})
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in values}
    )
    await session.execute(statement)
