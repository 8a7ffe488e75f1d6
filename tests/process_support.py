"""Real linli processes for tests: `linli serve` on a port of its own and `linli worker`, on one scratch database.

Each process logs to a file of its own (shown when a process dies or does not come up); every process started
is stopped when the group closes, the ones still running with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from linli import migrate
from tests.conftest import DEFAULT_POSTGRES_URL

SOURCE = Path(__file__).resolve().parents[1] / "src"
# How long a process may take to come up: importing linli takes a few seconds of CPU, far more when the
# machine's cores are shared with other test runs.
STARTUP_SECONDS = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _admin(sql: str) -> None:
    engine = create_async_engine(os.environ.get("LINLI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


@asynccontextmanager
async def migrated_database(backend: str, folder: Path) -> AsyncIterator[str]:
    """A database of this test's own, migrated by Alembic as `linli migrate` would (`serve --no-migrate` checks it)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'linli.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
        return
    admin = os.environ.get("LINLI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    name = f"linli_procs_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        url = admin.rsplit("/", 1)[0] + "/" + name
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class ProcessGroup:
    """The linli processes of one test, all with the same database settings."""

    def __init__(self, *, database_url: str, secret_key: str, folder: Path, extra_env: dict[str, str]) -> None:
        self.folder = folder
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LINLI_")},
            "LINLI_DATABASE_URL": database_url,
            "LINLI_SECRET_KEY": secret_key,
            "LINLI_DATA_DIR": str(folder),
            "LINLI_PAYMENT_SIMULATOR": "1",
            **extra_env,
        }
        # The processes run in `folder` (whatever they write lands there): they import linli from this checkout.
        self.env["PYTHONPATH"] = os.pathsep.join([str(SOURCE), *filter(None, [os.environ.get("PYTHONPATH")])])
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def _start(self, label: str, args: list[str], **extra_env: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"{label}-{len(self.processes)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "linli.cli", *args], env={**self.env, **extra_env}, cwd=self.folder,
                stdout=out, stderr=subprocess.STDOUT,
            )
        self.processes.append((process, log))
        return process

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        return next(log.read_text(errors="replace") for p, log in self.processes if p is process)

    async def serve(self) -> str:
        """One `linli serve` process (`--workers 1`, `--no-migrate`) on a free port; its base URL once /healthz answers."""
        port = free_port()
        process = self._start(
            "serve", ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-migrate", "--no-access-log"],
            LINLI_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_SECONDS
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(f"linli serve exited:\n{self.log_of(process)}")
                try:
                    if (await client.get(f"{base}/healthz")).status_code == 200:
                        return base
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"linli serve did not come up:\n{self.log_of(process)}")

    async def worker(self) -> subprocess.Popen[bytes]:
        """One `linli worker` process, once it has logged `worker.started`.

        A worker runs one transaction at a time: a pool of two is plenty (and spares the PostgreSQL server's
        connections, which the suite shares with every other test run on the machine).
        """
        process = self._start("worker", ["worker"], LINLI_DB_POOL_SIZE="2", LINLI_DB_MAX_OVERFLOW="0")
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"linli worker exited:\n{self.log_of(process)}")
            if "worker.started" in self.log_of(process):
                return process
            await asyncio.sleep(0.05)
        raise RuntimeError(f"linli worker did not start:\n{self.log_of(process)}")

    def close(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def process_group(*, database_url: str, secret_key: str, folder: Path, **extra_env: str) -> Iterator[ProcessGroup]:
    group = ProcessGroup(database_url=database_url, secret_key=secret_key, folder=folder, extra_env=extra_env)
    try:
        yield group
    finally:
        group.close()
