"""Checks a command runs before it touches anything: is the database there, with the schema, and is it safe to
listen where we were asked to. Each answers one Chinese line (or None), so the CLI can say it and stop.

They never create what they look at: an SQLite file is opened read-only, so a command run in the wrong folder
reports a missing database instead of silently making an empty one (and a secret) there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import sqlite3
from pathlib import Path

from linli.db import is_sqlite

CONNECT_TIMEOUT_SECONDS = 5


def sqlite_path(url: str) -> Path | None:
    """The absolute file an SQLite URL names (relative paths are relative to the current folder), or None."""
    if not is_sqlite(url):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).resolve()


def describe(url: str) -> str:
    """The URL as an operator should see it: password hidden, an SQLite file as its absolute path."""
    path = sqlite_path(url)
    return f"{redact(url)}，即 {path}" if path is not None else redact(url)


def redact(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def _expected_tables() -> set[str]:
    from linli.models import metadata

    return set(metadata.tables)


def _head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    from linli.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _schema_problem(url: str, tables: set[str], version: str | None) -> str | None:
    missing = _expected_tables() - tables
    if "alembic_version" in tables:
        if version != _head_revision():
            return f"数据库结构不是最新版本（{version or '空'}）：请先运行 linli migrate（{describe(url)}）"
        return None
    if missing:  # no Alembic stamp and not every table (a schema made by create_all has them all)
        return f"数据库尚未初始化：请先运行 linli migrate（{describe(url)}）"
    return None


def _sqlite_tables(path: Path) -> tuple[set[str], str | None]:
    connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = None
        if "alembic_version" in tables:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            version = row[0] if row else None
        return tables, version
    finally:
        connection.close()


async def _postgres_tables(url: str) -> tuple[set[str], str | None]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS})
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
            tables = {row[0] for row in rows}
            version = None
            if "alembic_version" in tables:
                version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            return tables, version
    finally:
        await engine.dispose()


def database_problem(url: str, *, require_schema: bool = True) -> str | None:
    """Why a command cannot use this database (missing, unreachable, without the schema), or None.

    With require_schema=False (migrate, demo, serve: they create the schema) only reachability is checked,
    and a missing SQLite file is fine.
    """
    path = sqlite_path(url)
    if is_sqlite(url):
        if path is None:  # in-memory: nothing to find
            return None
        if not path.exists():
            return None if not require_schema else f"数据库尚未初始化：请先运行 linli migrate（{describe(url)}）"
        try:
            tables, version = _sqlite_tables(path)
        except sqlite3.Error as exc:
            return f"无法打开数据库（{describe(url)}）：{exc}"
    else:
        try:
            tables, version = asyncio.run(_postgres_tables(url))
        except Exception as exc:  # noqa: BLE001 - any driver or network failure is "cannot connect", said once
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"无法连接数据库（{describe(url)}）：{reason}"
    return _schema_problem(url, tables, version) if require_schema else None


def is_loopback(host: str) -> bool:
    """Whether a `--host` only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def dev_mode_exposure(*, host: str, dev_mode: bool, allowed: bool) -> str | None:
    """Development mode hands out every login code; on a network interface it is refused unless asked for."""
    if not dev_mode or allowed or is_loopback(host):
        return None
    return (
        f"拒绝启动：开发模式（LINLI_DEV_MODE=1）会向任何人公开登录验证码，不能监听 {host}；"
        "生产请设置 LINLI_DEV_MODE=0，确需在局域网演示时加 --allow-dev-mode-on-network"
    )


SERVE_WORKERS_HELP = (
    "API processes (default: one per core on PostgreSQL; 1 on the embedded SQLite, where a second process only "
    "queues for the same write lock; see docs/operations.md, Many processes and sizing)"
)


def api_processes(*, url: str, requested: int | None) -> int:
    """How many processes `linli serve` runs: as asked, else one per core on PostgreSQL and one on SQLite.

    Why one on SQLite: the file has one write lock. A second process adds no write throughput, and its writers
    then wait for the lock in SQLite's busy handler (sleeps of up to 100 ms) instead of in the process's own
    queue (linli.db's write gate); and what a process keeps about a stream (linli.outbox.signals: the room,
    the order path's cache) hears of another process's commits through PostgreSQL's LISTEN/NOTIFY only, on
    SQLite not until its next poll. Several processes on SQLite stay correct, so an explicit --workers is
    honoured.
    """
    if requested is not None:
        return requested
    if is_sqlite(url):
        return 1
    return max(1, os.cpu_count() or 1)


def sqlite_processes_note(*, url: str, processes: int) -> str | None:
    """One line for an operator who asked for several processes on SQLite: allowed, but say what it buys."""
    if processes <= 1 or not is_sqlite(url):
        return None
    return (
        f"提示：嵌入式 SQLite 上 {processes} 个进程共用同一把写锁，写入不会更快（见 docs/operations.md"
        "「Many processes and sizing」）；多进程请用 PostgreSQL"
    )
