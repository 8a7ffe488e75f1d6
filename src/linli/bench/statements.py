"""How many SQL statements one order and one sold-out refusal cost linli, counted in-process.

An attempt is what `POST /api/v1/orders` runs: the bearer-token check of http.py's auth dependency
(`accounts.token_caller`), then `orders.place_order_in` (the route's call: the read that
decides who may buy outside a transaction on PostgreSQL, the write transaction only when it lets the order go
ahead). `StatementCounter` counts what the database receives: every statement SQLAlchemy hands the driver
(`before_cursor_execute`), plus each transaction's BEGIN and COMMIT / ROLLBACK from the connection's own
events, because asyncpg sends them without a cursor (and SQLite's "BEGIN IMMEDIATE", sent through a cursor by
`linli.db`, must not count twice); statements run on the driver itself (`Database.driver_lookup`) are announced
to the same listeners. A connection in AUTOCOMMIT (`Database.lookup_connection` on PostgreSQL) or on the driver
outside a transaction sends no BEGIN or COMMIT and is charged none. The tests pin the order path's budget with the same counter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from linli.accounts import service as accounts
from linli.context import AppContext
from linli.errors import DomainError
from linli.orders import service as orders

TRANSACTION_WORDS = ("BEGIN", "COMMIT", "ROLLBACK")


class StatementCounter:
    """`with StatementCounter(engine, …) as sent:` then `sent.total`, `sent.queries` and `sent.sent` (in order)."""

    def __init__(self, *engines: AsyncEngine) -> None:
        # The write and read engines are the same object on PostgreSQL: listen once per engine.
        unique: dict[int, AsyncEngine] = {id(e): e for e in engines}
        self.engines: tuple[AsyncEngine, ...] = tuple(unique.values())
        self.sent: list[str] = []

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        text = " ".join(statement.split()).upper()
        if not text.startswith(TRANSACTION_WORDS):
            self.sent.append(text)

    def _marker(self, word: str):  # noqa: ANN202
        def record(conn: Any, *_args: Any) -> None:
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                self.sent.append(word)

        return record

    def __enter__(self) -> StatementCounter:
        self._listeners = [("before_cursor_execute", self._statement)] + [
            (name, self._marker(name.upper())) for name in ("begin", "commit", "rollback")
        ]
        for engine in self.engines:
            for name, listener in self._listeners:
                event.listen(engine.sync_engine, name, listener)
        return self

    def __exit__(self, *_exc: object) -> None:
        for engine in self.engines:
            for name, listener in self._listeners:
                event.remove(engine.sync_engine, name, listener)

    @property
    def queries(self) -> list[str]:
        """The SQL statements, without BEGIN / COMMIT / ROLLBACK."""
        return [s for s in self.sent if s not in TRANSACTION_WORDS]

    @property
    def total(self) -> int:
        """Everything sent: statements plus the transactions' BEGIN and COMMIT (or ROLLBACK)."""
        return len(self.sent)


@dataclass(frozen=True)
class StatementCounts:
    per_order: int
    per_refusal: int


async def _attempt(ctx: AppContext, *, token: str, offer_id: int) -> str:
    """One order request as the HTTP layer runs it, without HTTP: "placed", or the refusal's code."""
    auth = await accounts.token_caller(db=ctx.db, settings=ctx.settings, token=token, now=ctx.clock.now())
    try:
        await orders.place_order_in(
            db=ctx.db, user_id=auth.user_id, listing_id=None, offer_id=offer_id, quantity=1,
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
    with StatementCounter(ctx.db.engine, ctx.db.read_engine) as order_counter:
        outcomes.append(await _attempt(ctx, token=tokens[1], offer_id=offer_id))
    with StatementCounter(ctx.db.engine, ctx.db.read_engine) as refusal_counter:
        outcomes.append(await _attempt(ctx, token=tokens[2], offer_id=offer_id))
    if outcomes != ["placed", "placed", "offer_sold_out"]:
        raise RuntimeError(f"the counted attempts did not go as planned: {outcomes}")
    return StatementCounts(per_order=order_counter.total, per_refusal=refusal_counter.total)
