"""`linli rollup` and `linli audit` on the dashboards' roll-ups, against a real database (both backends)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from linli.dashboards.models import BrandDay
from linli.db import Database
from tests.cli_support import cli_invoker, fresh_context
from tests.factories import World
from tests.ledger.helpers import buy
from tests.orders.setup import bound_member, build_stage


async def _prepare(url: str, tmp_path) -> None:  # noqa: ANN001
    async with fresh_context(url, tmp_path) as ctx:
        world = World(ctx)
        stage = await build_stage(world)
        await buy(ctx, stage, await bound_member(world, stage.leader), quantity=2)


async def _drift(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as s:
            await s.execute(update(BrandDay).values(paid_fen=BrandDay.paid_fen + 1))
    finally:
        await db.dispose()


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch):
    asyncio.run(_prepare(database_url, tmp_path))
    return cli_invoker(monkeypatch, database_url, tmp_path)


def test_a_drifted_rollup_is_reported_by_both_commands_and_a_rebuild_repairs_it(cli, database_url):
    agreed = cli("rollup")
    assert agreed.exit_code == 0 and "看板汇总与重算一致" in agreed.output
    assert "[ok] dashboard_rollups_agree" in cli("audit").output

    asyncio.run(_drift(database_url))
    drifted = cli("rollup")
    assert drifted.exit_code == 1 and "brand_days 1 行" in drifted.output
    audit = cli("audit")
    assert audit.exit_code == 1 and "[FAIL] dashboard_rollups_agree" in audit.output

    rebuilt = cli("rollup", "--rebuild")
    assert rebuilt.exit_code == 0 and "paid_orders 1" in rebuilt.output and "brand_days 1" in rebuilt.output
    assert cli("rollup").exit_code == 0 and cli("audit").exit_code == 0
