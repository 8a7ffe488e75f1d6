"""Reads for dashboards and reports from a PostgreSQL streaming replica (`LINLI_READ_DATABASE_URL`), and how
stale what they read is.

Each read measures the replica's lag first, in the same session: 0 when it has replayed everything it received
from a primary it is streaming from, else the time since the last transaction it replayed was committed. A
replica that does not answer is left alone for `RETRY_SECONDS` (one warning each time) and the read goes to the
primary meanwhile; so does one that cannot tell its lag (nothing replayed since it started and not caught up).
Only `Database.report()` reads here, for a dashboard's or report's figures; who may and what decides money read
the primary (docs/operations.md, "Read replica").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from linli.logs import log_event

log = logging.getLogger("linli.replica")

STALENESS_KEY = "linli.staleness_seconds"  # in session.info of a session on the replica
RETRY_SECONDS = 30.0
# A replica that is down must not hold a page for asyncpg's default minute before the primary answers it.
CONNECT_TIMEOUT_SECONDS = 3.0

# Caught up needs a WAL receiver: an idle primary sends nothing, so received = replayed means nothing is missing,
# but only while the replica is streaming (cut off, it would look caught up forever). A server not in recovery
# (a promoted replica, or the URL names a primary) is as fresh as it gets. Clocks of two machines may differ by a
# little: never below 0.
STALENESS = text(
    """
    SELECT CASE
      WHEN NOT pg_is_in_recovery() THEN 0
      WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0
      ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()))
    END
    """
)


def staleness_of(session: AsyncSession) -> float | None:
    """How many seconds behind the primary the data of `session` is; None when it reads the primary itself."""
    value = session.info.get(STALENESS_KEY)
    return float(value) if value is not None else None


def staleness_field() -> Any:  # noqa: ANN401 - pydantic's FieldInfo, typed Any as Field() is
    """`staleness_seconds: float | None = staleness_field()` in every API answer whose figures come from
    `Database.report()`, described the one way."""
    return Field(description="数据延迟（秒）：数据读自只读副本时为副本落后主库的秒数（已追平为 0）；读自主库时为空")


class Replica:
    """The replica's engine, and whether it is worth trying just now."""

    def __init__(
        self, url: str, *, pool_size: int, max_overflow: int, retry_seconds: float = RETRY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        # Pre-ping: a replica restarts more often than the primary (upgrades, re-seeding); a dead pooled connection
        # is replaced instead of failing the read.
        self.engine = create_async_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800, pool_timeout=10,
            pool_pre_ping=True, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._retry_at = 0.0

    async def open(self) -> AsyncSession | None:
        """A session on the replica, its staleness measured (`staleness_of`); None (logged) when the replica does
        not answer or cannot tell how stale it is, and the caller reads the primary."""
        if self._monotonic() < self._retry_at:
            return None
        session = self._sessions()
        try:
            staleness = await session.scalar(STALENESS)
        except (OSError, SQLAlchemyError) as exc:
            await session.close()
            self._retry_at = self._monotonic() + self._retry_seconds
            log_event(log, "replica.unreachable", level=logging.WARNING, error=f"{type(exc).__name__}: {exc}"[:300],
                      retry_in_seconds=self._retry_seconds)
            return None
        if staleness is None:
            await session.close()
            log_event(log, "replica.lag_unknown", level=logging.WARNING)
            return None
        session.info[STALENESS_KEY] = round(float(staleness), 1)  # tenths: finer is noise between two clocks
        return session

    async def dispose(self) -> None:
        await self.engine.dispose()
