"""Counting what a block of code sends to the database: every SQL statement and every BEGIN / COMMIT /
ROLLBACK of a transaction, on any number of engines.

Statements are seen by `before_cursor_execute`. The transaction's own BEGIN and COMMIT are counted from the
connection's `begin` / `commit` / `rollback` events instead, because asyncpg sends them without a cursor
(and SQLite's "BEGIN IMMEDIATE", sent through a cursor by `linli.db`, must not count twice). A connection in
AUTOCOMMIT (`Database.lookup` on PostgreSQL) sends no BEGIN or COMMIT at all, so none is counted for it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

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
