"""`linli settle`, `linli audit` and `linli tier-bonus` against a real database (both backends)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from linli.accounts.sms import InboxSmsSender
from linli.accounts.wechat import SimulatedWeChatClient
from linli.cli import app
from linli.clock import FixedClock
from linli.config import Settings
from linli.context import AppContext
from linli.db import Database
from linli.ledger.models import LedgerEntry, LedgerTransaction
from linli.models import metadata
from linli.payments.providers import build_providers
from tests.conftest import START
from tests.factories import World
from tests.ledger.helpers import buy, complete
from tests.orders.setup import bound_member, build_stage


async def _prepare(url: str, tmp_path) -> None:  # noqa: ANN001
    """An empty schema, then one paid and picked-up order through 小李."""
    db = Database(url)
    async with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            await conn.run_sync(metadata.create_all)
        else:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    settings = Settings(database_url=url, secret_key="test-secret", data_dir=tmp_path, payment_simulator_enabled=True)
    ctx = AppContext(settings=settings, db=db, clock=FixedClock(START), sms_sender=InboxSmsSender(),
                     wechat=SimulatedWeChatClient(), payments=build_providers(settings))
    try:
        world = World(ctx)
        stage = await build_stage(world)
        order_id = await buy(ctx, stage, await bound_member(world, stage.leader), quantity=2)
        await complete(ctx, order_id)
    finally:
        await db.dispose()


async def _break(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as s:
            tx = await s.scalar(select(LedgerTransaction).limit(1))
            entry = await s.scalar(select(LedgerEntry).where(LedgerEntry.transaction_id == tx.id).limit(1))
            await s.execute(
                insert(LedgerEntry).values(transaction_id=tx.id, account_id=entry.account_id, amount_fen=7, posted_at=START)
            )
    finally:
        await db.dispose()


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch):
    asyncio.run(_prepare(database_url, tmp_path))
    monkeypatch.setenv("LINLI_DATABASE_URL", database_url)
    monkeypatch.setenv("LINLI_SECRET_KEY", "test-secret")
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LINLI_PAYMENT_SIMULATOR", "1")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_settle_audit_and_tier_bonus_from_the_command_line(cli, database_url):
    before = cli("settle", "--as-of", "2026-11-20T23:59:59+08:00")
    assert before.exit_code == 0 and "settled 0 line(s)" in before.output
    settled = cli("settle", "--as-of", "2026-11-21T00:00:00+08:00", "--batch-size", "10", "--settlers", "2")
    assert settled.exit_code == 0, settled.output
    assert "settled 1 line(s), 1 transaction(s), 2040 fen" in settled.output
    assert "settled 0 line(s)" in cli("settle", "--as-of", "2026-11-22T00:00:00+08:00").output

    ok = cli("audit")
    assert ok.exit_code == 0 and "ledger audit: OK" in ok.output
    data = json.loads(cli("audit", "--json").output)
    assert data["ok"] is True and data["counts"]["transactions"] == 2

    early = cli("tier-bonus", "--month", "2026-11", "--as-of", "2026-11-25T00:00:00+08:00")
    assert early.exit_code == 2
    bad = cli("tier-bonus", "--month", "2026-13", "--as-of", "2026-12-01T00:10:00+08:00")
    assert bad.exit_code == 2
    done = cli("tier-bonus", "--month", "2026-11", "--as-of", "2026-12-01T00:10:00+08:00")
    assert done.exit_code == 0 and "1 leader(s), 0 changed" in done.output  # 136 yuan is below the first tier

    asyncio.run(_break(database_url))
    broken = cli("audit")
    assert broken.exit_code == 1 and "[FAIL] transactions_balance" in broken.output
    data = json.loads(cli("audit", "--json").output)
    assert data["ok"] is False and any(c["name"] == "transactions_balance" and not c["ok"] for c in data["checks"])
