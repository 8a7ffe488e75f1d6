"""A PostgreSQL primary and its streaming replica as two throwaway clusters, for the read-replica tests.

The binaries are Debian's (/usr/lib/postgresql/<version>/bin, the newest version there: the `postgresql` package,
which .ci/run installs); without them the test fails, it never skips. Both clusters live in a temporary folder,
listen on free ports of 127.0.0.1 (trust, user postgres) and are stopped and removed on the way out, whatever
happened. PostgreSQL refuses to run as root: as root every command runs as the `postgres` user (`runuser`), and
the folder is theirs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.process_support import free_port

PG_ROOT = Path("/usr/lib/postgresql")
COMMAND_SECONDS = 120  # initdb, a start or a base backup on a machine shared with other test runs


def pg_bin() -> Path:
    """The newest PostgreSQL's bin folder; the test fails (never skips) without the binaries a replica needs."""
    versions = sorted((p for p in PG_ROOT.glob("*/bin") if (p / "pg_basebackup").exists()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not versions:
        pytest.fail(f"PostgreSQL's server binaries are required (initdb, pg_ctl, pg_basebackup under {PG_ROOT}/<version>/bin;"
                    " Debian package postgresql, which .ci/run installs)")
    return versions[-1]


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    if shutil.which("runuser") is None:
        pytest.fail("running as root needs runuser (util-linux) to start PostgreSQL as the postgres user")
    return ["runuser", "-u", "postgres", "--", *args]


@dataclass
class Clusters:
    folder: Path
    bin: Path
    primary_port: int
    replica_port: int
    started: list[Path] = field(default_factory=list)  # data folders of the clusters running

    def url(self, port: int, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"

    def run(self, *args: str) -> None:
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own binaries
            _as_postgres([str(self.bin / args[0]), *args[1:]]), capture_output=True, text=True, timeout=COMMAND_SECONDS,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{self.logs()}")

    def start(self, name: str, port: int) -> None:
        data = self.folder / name
        options = f"-p {port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self.run("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.folder / f"{name}.log"), "-w", "-t", "90", "start")
        self.started.append(data)

    def stop(self, name: str) -> None:
        data = self.folder / name
        self.run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        self.started.remove(data)

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in self.folder.glob("*.log"))


@contextmanager
def primary_and_replica() -> Iterator[Clusters]:
    """A running primary and a hot-standby replica streaming from it (`pg_basebackup -R`)."""
    binaries = pg_bin()
    as_root = os.geteuid() == 0
    if as_root:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root needs the postgres user (the postgresql package makes it) to start PostgreSQL")
    # As root, in /tmp itself: the postgres user must reach the folder, which a root-only TMPDIR would not let it.
    folder = Path(tempfile.mkdtemp(prefix="linli-replica-", dir="/tmp" if as_root else None))
    clusters = Clusters(folder, binaries, free_port(), free_port())
    try:
        if as_root:
            shutil.chown(folder, "postgres", "postgres")
        clusters.run("initdb", "-D", str(folder / "primary"), "-U", "postgres", "-A", "trust", "--no-sync")
        clusters.start("primary", clusters.primary_port)
        clusters.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(clusters.primary_port), "-U", "postgres",
                     "-D", str(folder / "replica"), "-R", "-X", "stream", "--no-sync")
        clusters.start("replica", clusters.replica_port)
        yield clusters
    finally:
        for data in reversed(clusters.started):
            subprocess.run(_as_postgres([str(clusters.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),  # noqa: S603
                           capture_output=True, timeout=COMMAND_SECONDS, check=False)
        shutil.rmtree(folder, ignore_errors=True)
