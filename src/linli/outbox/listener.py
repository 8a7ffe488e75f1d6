"""PostgreSQL LISTEN on `linli_room`: other processes' commits, relayed to this process's signals.

One dedicated asyncpg connection per process, outside the SQLAlchemy pool: a LISTEN lives as long as
its session, so it needs a connection of its own that a pooler hands to nobody else (under PgBouncer
in transaction mode point LINLI_LISTEN_DATABASE_URL at PostgreSQL itself or at a session-mode pool).
When the connection drops it is made again with a growing pause; meanwhile the tails keep polling, so
a lost notification only costs the time to the next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.engine import make_url

from linli.outbox import commit_hook, signals

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0
HEALTH_CHECK_SECONDS = 30.0  # a silently dead network path is found by a query, never by waiting
# SQLAlchemy's own options of the asyncpg dialect, which asyncpg.connect would take for server settings.
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_fallback")


def asyncpg_dsn(url: str) -> str:
    """`postgresql+asyncpg://…` (or plain `postgresql://…`) as the DSN asyncpg.connect takes."""
    parsed = make_url(url)
    query = {k: v for k, v in parsed.query.items() if k not in _SQLALCHEMY_ONLY}
    return parsed.set(drivername="postgresql", query=query).render_as_string(hide_password=False)


class CommitListener:
    """Keeps one LISTEN connection up until `close()`; each notification becomes `signals.publish`."""

    def __init__(self, url: str) -> None:
        self._dsn = asyncpg_dsn(url)
        # How the connection is opened: asyncpg.connect (a test puts one that fails for a while).
        self.connect: Callable[[str], Awaitable[Any]] = _asyncpg_connect
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None
        self._connected = asyncio.Event()
        self.connects = 0  # how many times the connection was made (1 + reconnects)
        self.server_pid: int | None = None  # the backend of the current connection (operators, tests)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="linli-listen")

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._drop()

    async def _run(self) -> None:
        pause = FIRST_RETRY_SECONDS
        while True:
            lost = asyncio.Event()
            try:
                connection = await self.connect(self._dsn)
                self._connection = connection
                connection.add_termination_listener(lambda _c: lost.set())
                await connection.add_listener(commit_hook.CHANNEL, self._on_notify)
                self.server_pid = connection.get_server_pid()
                self.connects += 1
                self._connected.set()
                pause = FIRST_RETRY_SECONDS
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), timeout=HEALTH_CHECK_SECONDS)
                    except TimeoutError:
                        await asyncio.wait_for(connection.execute("SELECT 1"), timeout=HEALTH_CHECK_SECONDS)
                log.warning("LISTEN connection lost; the room tails poll until it is back")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure means: poll meanwhile, try again later
                log.warning("LISTEN connection failed (%s: %s); retrying in %.1f s", type(exc).__name__, exc, pause)
            await self._drop()
            await asyncio.sleep(pause)
            pause = min(MAX_RETRY_SECONDS, pause * 2)

    async def _drop(self) -> None:
        self._connected.clear()
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await asyncio.wait_for(connection.close(), timeout=5)
            except Exception:  # noqa: BLE001 - closing a broken connection may fail; it is gone either way
                connection.terminate()

    @staticmethod
    def _on_notify(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        stream, topics = commit_hook.decode_payload(payload)
        if stream:
            signals.publish(stream, topics)


async def _asyncpg_connect(dsn: str) -> Any:
    import asyncpg  # only PostgreSQL deployments listen

    return await asyncpg.connect(dsn)
