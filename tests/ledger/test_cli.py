"""`linli settle`, `linli audit` and `linli tier-bonus` against a real database (both backends)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import insert, select

from linli.db import Database
from linli.ledger.models import LedgerEntry, LedgerTransaction
from tests.cli_support import cli_invoker, fresh_context
from tests.conftest import START
from tests.factories import World
from tests.ledger.helpers import buy, complete
from tests.orders.setup import bound_member, build_stage


async def _prepare(url: str, tmp_path) -> None:  # noqa: ANN001
    """An empty schema, then one paid and picked-up order through 小李."""
    async with fresh_context(url, tmp_path) as ctx:
        world = World(ctx)
        stage = await build_stage(world)
        order_id = await buy(ctx, stage, await bound_member(world, stage.leader), quantity=2)
        await complete(ctx, order_id)


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
    return cli_invoker(monkeypatch, database_url, tmp_path)


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
