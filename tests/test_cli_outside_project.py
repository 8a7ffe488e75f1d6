"""Commands run in another folder, or against a database without the schema, say so in one Chinese line and
exit non-zero, creating nothing; only migrate, demo and serve create the embedded database and its secret."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from linli.cli import app as cli_app
from tests.conftest import DEFAULT_POSTGRES_URL

READ_COMMANDS = (
    ["sms-inbox"], ["audit"], ["settle"], ["expire-orders"], ["expire-bindings"], ["prune-outbox"],
    ["payouts-sync"], ["remind-unclaimed"], ["worker", "--once"], ["tier-bonus", "--month", "2026-10"],
    ["serve", "--no-migrate"], ["refresh-kits"], ["interest-groups"], ["care"], ["remind-kits"],
)


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env["HOME"] = str(tmp_path)
    return {**env, **extra}


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_sms_inbox_in_another_folder_creates_nothing_and_says_what_to_do(tmp_path):
    """The reported case, as a user types it: no var/linli.db, no var/secret.key, one line instead of a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "linli.cli", "sms-inbox"], cwd=tmp_path, env=_clean_env(tmp_path),
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "数据库尚未初始化" in lines[0] and "linli migrate" in lines[0]
    assert str(tmp_path / "var" / "linli.db") in lines[0]  # where it looked, as an absolute path
    assert _files(tmp_path) == []


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    for name in [k for k in os.environ if k.startswith("LINLI_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINLI_DEV_MODE", "1")
    runner = CliRunner()
    return lambda *args: runner.invoke(cli_app, list(args))


def test_every_command_needing_the_schema_refuses_in_one_line(elsewhere, tmp_path):
    for command in READ_COMMANDS:
        result = elsewhere(*command)
        assert result.exit_code == 1, (command, result.output)
        assert result.output.strip().count("\n") == 0 and "数据库尚未初始化" in result.output, (command, result.output)
        assert _files(tmp_path) == [], command


def test_an_sqlite_file_without_the_schema_is_not_initialised_and_left_alone(elsewhere, tmp_path, monkeypatch):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    monkeypatch.setenv("LINLI_DATABASE_URL", f"sqlite+aiosqlite:///{empty}")
    monkeypatch.setenv("LINLI_SECRET_KEY", "test-secret")
    result = elsewhere("sms-inbox")
    assert result.exit_code == 1 and "数据库尚未初始化" in result.output and str(empty) in result.output
    assert _files(tmp_path) == ["empty.db"] and empty.stat().st_size == 0


def test_migrate_creates_the_embedded_database_and_says_where(elsewhere, tmp_path):
    migrated = elsewhere("migrate")
    assert migrated.exit_code == 0, migrated.output
    assert str(tmp_path / "var" / "linli.db") in migrated.output
    assert (tmp_path / "var" / "linli.db").exists() and (tmp_path / "var" / "secret.key").exists()
    inbox = elsewhere("sms-inbox")
    assert inbox.exit_code == 0 and "(inbox is empty)" in inbox.output


def test_a_migrated_database_without_its_secret_is_refused_without_making_one(elsewhere, tmp_path, monkeypatch):
    assert elsewhere("migrate").exit_code == 0
    monkeypatch.setenv("LINLI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/var/linli.db")
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path / "other"))
    result = elsewhere("audit")
    assert result.exit_code == 1 and "密钥文件" in result.output and "LINLI_SECRET_KEY" in result.output
    assert not (tmp_path / "other").exists()


def test_an_out_of_date_schema_asks_for_migrate(elsewhere, tmp_path):
    assert elsewhere("migrate").exit_code == 0
    with sqlite3.connect(tmp_path / "var" / "linli.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0000_older'")
    result = elsewhere("settle")
    assert result.exit_code == 1 and "不是最新版本" in result.output and "linli migrate" in result.output


def test_an_unreachable_postgresql_is_one_line(elsewhere, monkeypatch, tmp_path):
    monkeypatch.setenv("LINLI_DATABASE_URL", "postgresql+asyncpg://postgres:hunter2@127.0.0.1:1/linli")
    for command in (["sms-inbox"], ["migrate"]):
        result = elsewhere(*command)
        assert result.exit_code == 1, result.output
        assert result.output.strip().count("\n") == 0 and "无法连接数据库" in result.output, result.output
        assert "hunter2" not in result.output
    assert _files(tmp_path) == []


@pytest.fixture
def empty_postgres():
    admin = os.environ.get("LINLI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    name = f"linli_empty_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield admin.rsplit("/", 1)[0] + "/" + name
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_postgresql_database_without_the_schema_asks_for_migrate(elsewhere, monkeypatch, empty_postgres, tmp_path):
    monkeypatch.setenv("LINLI_DATABASE_URL", empty_postgres)
    monkeypatch.setenv("LINLI_SECRET_KEY", "test-secret")
    result = elsewhere("sms-inbox")
    assert result.exit_code == 1 and "数据库尚未初始化" in result.output and empty_postgres in result.output
    assert elsewhere("migrate").exit_code == 0
    assert elsewhere("sms-inbox").exit_code == 0
    assert _files(tmp_path) == []  # PostgreSQL with an explicit secret: nothing on disk


def test_without_dev_mode_jobs_that_never_pay_run_and_those_that_do_need_a_provider(elsewhere, monkeypatch):
    assert elsewhere("migrate").exit_code == 0
    monkeypatch.delenv("LINLI_DEV_MODE")
    for command in (["sms-inbox"], ["audit"], ["settle"], ["expire-orders"], ["tier-bonus", "--month", "2026-10"]):
        assert elsewhere(*command).exit_code == 0, command
    for command in (["worker", "--once"], ["payouts-sync"], ["demo"]):
        result = elsewhere(*command)
        assert result.exit_code == 1 and "未配置支付渠道" in result.output, (command, result.output)
