"""How many SQL statements one order and one sold-out refusal cost linli, counted in-process.

An attempt is what `POST /api/v1/orders` runs: the bearer-token check of http.py's auth dependency
(`db.lookup()` + `accounts.authenticate_token`), then `orders.place_order` in the route's write transaction
(`db.transaction()`). What is counted is every statement the database receives:
- each statement SQLAlchemy hands the driver (the `before_cursor_execute` event): SELECT, INSERT, UPDATE,
  SAVEPOINT / RELEASE SAVEPOINT, and on SQLite the BEGIN IMMEDIATE / BEGIN that db.Database's begin hook sends;
- on PostgreSQL the BEGIN asyncpg sends by itself before a transaction's first statement (the cursor event
  never sees it), and on both the COMMIT or ROLLBACK that ends a transaction in which something was sent.
An autocommit connection (the token check on PostgreSQL) sends no BEGIN and no COMMIT and is charged none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection

from linli.accounts import service as accounts
from linli.context import AppContext
from linli.errors import DomainError
from linli.orders import service as orders

_STATE = "bench_statement_counter"  # in Connection.info: "pending" (BEGIN not sent yet) or "open"


class StatementCounter:
    def __init__(self, ctx: AppContext) -> None:
        self.count = 0
        self._postgresql = ctx.db.dialect == "postgresql"
        engines = {id(e): e for e in (ctx.db.engine, ctx.db.read_engine)}.values()
        self._engines = [e.sync_engine for e in engines]
        self._listeners = [
            ("begin", self._on_begin), ("before_cursor_execute", self._on_statement),
            ("commit", self._on_end), ("rollback", self._on_end),
        ]

    def __enter__(self) -> StatementCounter:
        for engine in self._engines:
            for name, listener in self._listeners:
                event.listen(engine, name, listener)
        return self

    def __exit__(self, *_: object) -> None:
        for engine in self._engines:
            for name, listener in self._listeners:
                event.remove(engine, name, listener)

    def _on_begin(self, conn: Connection) -> None:
        # SQLite's BEGIN is a statement of its own (counted by the cursor event); asyncpg's waits for one.
        conn.info[_STATE] = "pending" if self._postgresql else "open"

    def _on_statement(self, conn: Connection, *_: Any) -> None:
        self.count += 1
        if conn.info.get(_STATE) == "pending":
            dbapi = conn.connection.dbapi_connection
            if dbapi is not None and not getattr(dbapi, "autocommit", False):
                self.count += 1  # the BEGIN asyncpg sent first
                conn.info[_STATE] = "open"
            else:
                conn.info.pop(_STATE)

    def _on_end(self, conn: Connection) -> None:
        if conn.info.pop(_STATE, None) == "open":
            self.count += 1  # COMMIT or ROLLBACK


@dataclass(frozen=True)
class StatementCounts:
    per_order: int
    per_refusal: int


async def _attempt(ctx: AppContext, *, token: str, offer_id: int) -> str:
    """One order request as the HTTP layer runs it, without HTTP: "placed", or the refusal's code."""
    async with ctx.db.lookup() as session:
        auth = await accounts.authenticate_token(
            session=session, settings=ctx.settings, token=token, now=ctx.clock.now()
        )
    try:
        async with ctx.db.transaction() as session:
            await orders.place_order(
                session=session, user_id=auth.user_id, listing_id=None, offer_id=offer_id, quantity=1,
                idempotency_key=uuid.uuid4().hex, pickup_community_id=None,
                payment_ttl=timedelta(minutes=ctx.settings.order_payment_minutes), now=ctx.clock.now(),
            )
    except DomainError as refusal:
        return refusal.code
    return "placed"


async def count_statements(ctx: AppContext, *, offer_id: int, tokens: list[str]) -> StatementCounts:
    """On an offer of quota 2 and three members: the first order warms whatever the process keeps (uncounted,
    as the first requests of the HTTP run), the second is counted, then the refusal of the sold-out offer."""
    if len(tokens) < 3:
        raise ValueError("three members are needed")
    outcomes = [await _attempt(ctx, token=tokens[0], offer_id=offer_id)]
    with StatementCounter(ctx) as order_counter:
        outcomes.append(await _attempt(ctx, token=tokens[1], offer_id=offer_id))
    with StatementCounter(ctx) as refusal_counter:
        outcomes.append(await _attempt(ctx, token=tokens[2], offer_id=offer_id))
    if outcomes != ["placed", "placed", "offer_sold_out"]:
        raise RuntimeError(f"the counted attempts did not go as planned: {outcomes}")
    return StatementCounts(per_order=order_counter.count, per_refusal=refusal_counter.count)
