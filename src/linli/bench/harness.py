"""Shared bench plumbing: a throw-away database, a real server process, latency statistics."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

DEFAULT_BENCH_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
START_TIMEOUT_SECONDS = 60.0


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


@asynccontextmanager
async def scratch_database(kind: str) -> AsyncIterator[str]:
    """A database made for this run and dropped after it (SQLite: a temporary file)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="linli-bench-") as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        return
    if kind != "postgresql":
        raise ValueError("--db must be sqlite or postgresql")
    admin = os.environ.get("LINLI_BENCH_POSTGRES_URL", DEFAULT_BENCH_POSTGRES_URL)
    name = f"linli_bench_{uuid.uuid4().hex[:8]}"
    await _admin(admin, f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin, name)
    finally:
        await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningServer:
    """A server started for a bench: where it listens and the process to watch (memory, CPU)."""

    base_url: str
    pid: int


@asynccontextmanager
async def http_process(*, argv: list[str], env: dict[str, str], port: int, ready_path: str = "/healthz") -> AsyncIterator[RunningServer]:
    """Any HTTP server in its own process, logging to a temporary file; up once `ready_path` answers 200."""
    log = tempfile.NamedTemporaryFile(prefix="linli-bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        # Importing the app takes a few seconds, many more when other work shares the two cores.
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        async with httpx.AsyncClient() as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited: {Path(log.name).read_text()}")
                try:
                    if (await client.get(f"{base}{ready_path}")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not come up within {START_TIMEOUT_SECONDS:.0f} s")
                await asyncio.sleep(0.05)
        yield RunningServer(base_url=base, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        if os.environ.get("LINLI_BENCH_KEEP_LOG"):
            print(f"server log: {log.name}", file=sys.stderr)
        else:
            Path(log.name).unlink(missing_ok=True)  # a clean-up of /tmp meanwhile must not lose the run's figures


@asynccontextmanager
async def linli_server(
    *, database_url: str, secret_key: str, workers: int = 1, extra_env: dict[str, str] | None = None
) -> AsyncIterator[RunningServer]:
    """`linli serve` in its own process (the load comes from this one)."""
    port = free_port()
    env = {
        **os.environ,
        "LINLI_DATABASE_URL": database_url,
        "LINLI_SECRET_KEY": secret_key,
        "LINLI_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LINLI_PAYMENT_SIMULATOR": "1",  # buyers pay through the simulator (off by default outside dev mode)
        **(extra_env or {}),
    }
    argv = [
        sys.executable, "-m", "linli.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate",
        "--no-access-log", "--workers", str(workers),
    ]
    async with http_process(argv=argv, env=env, port=port) as server:
        yield server


@asynccontextmanager
async def worker_process(*, database_url: str, secret_key: str) -> AsyncIterator[int]:
    """`linli worker` in its own process, as a deployment beside its API processes runs it; yields its pid.

    A worker that is not running when the bench is done (it failed to start, or died) fails the run: the
    figures would otherwise describe a deployment without one.
    """
    env = {
        **os.environ,
        "LINLI_DATABASE_URL": database_url,
        "LINLI_SECRET_KEY": secret_key,
        "LINLI_PAYMENT_SIMULATOR": "1",  # as the server's: the worker completes the simulator's payments too
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, it runs beside the bench
        [sys.executable, "-m", "linli.cli", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process.pid
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"linli worker exited ({process.returncode}): {log.read().decode(errors='replace')[-2000:]}")
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@asynccontextmanager
async def server_process(
    *, database_url: str, secret_key: str, workers: int = 1, extra_env: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """`linli serve` in its own process; yields its base URL (`linli_server` also gives its pid)."""
    async with linli_server(database_url=database_url, secret_key=secret_key, workers=workers, extra_env=extra_env) as server:
        yield server.base_url


def process_tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its descendants (`serve --workers N` forks), from /proc (Linux)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # a process that exited meanwhile holds no memory
    return total


def raise_open_files_limit() -> int:
    """Lifts this process's (and its children's) open-files limit to the hard limit: one socket per viewer."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Timer:
    started: float = 0.0

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.elapsed = time.perf_counter() - self.started


class KeepAliveConnection:
    """A minimal HTTP/1.1 client on one keep-alive connection.

    The load generator shares two cores with the server under test; httpx costs several times more
    CPU per request than this, and that cost would be charged to the server's figure.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        if self._writer is None:
            await self._connect()
        assert self._reader is not None and self._writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        if body:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        payload = await self._reader.readexactly(length) if length else b""
        return status, payload

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()
