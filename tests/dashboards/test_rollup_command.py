"""`linli rollup` and `linli audit` on the dashboards' roll-ups, against a real database (both backends)."""

from __future__ import annotations

import asyncio
import json

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


async def _drift_income(url: str) -> None:
    from linli.dashboards.models import LeaderIncomeMonth

    db = Database(url)
    try:
        async with db.transaction() as s:
            await s.execute(update(LeaderIncomeMonth).values(accrued_fen=LeaderIncomeMonth.accrued_fen + 1))
    finally:
        await db.dispose()


def test_a_rebuild_from_a_day_repairs_the_leader_kpis_from_it(cli, database_url):
    asyncio.run(_drift_income(database_url))  # the stage's order was paid on 20 November 2026
    drifted = cli("rollup")
    assert drifted.exit_code == 1 and "leader_income_months 1 行" in drifted.output
    later = cli("rollup", "--rebuild", "--from", "2026-12-01")
    assert later.exit_code == 0 and "自 2026-12-01 起" in later.output
    assert "leader_income_months 0" in later.output and "paid_orders 0" in later.output
    assert cli("rollup").exit_code == 1  # November's row is before the day: left as it was
    repaired = cli("rollup", "--rebuild", "--from", "2026-11-20")
    assert repaired.exit_code == 0 and "leader_income_months 1" in repaired.output and "paid_orders 1" in repaired.output
    assert cli("rollup").exit_code == 0 and cli("audit").exit_code == 0
    for bad in (("rollup", "--from", "2026-11-20"), ("rollup", "--rebuild", "--from", "2026-11-31")):
        refused = cli(*bad)
        assert refused.exit_code == 2


async def _pay_without_the_worker(url: str, tmp_path) -> None:  # noqa: ANN001
    async with fresh_context(url, tmp_path) as ctx:
        world = World(ctx)
        stage = await build_stage(world)
        await buy(ctx, stage, await bound_member(world, stage.leader), work=False)


def test_a_difference_while_its_events_wait_in_the_outbox_is_lag_not_a_breach(database_url, tmp_path, monkeypatch):
    asyncio.run(_pay_without_the_worker(database_url, tmp_path))  # its order.paid has not been handled yet
    cli = cli_invoker(monkeypatch, database_url, tmp_path)
    lagging = cli("rollup")
    assert lagging.exit_code == 0 and "待处理" in lagging.output and "paid_orders 1 行" in lagging.output
    audit = cli("audit", "--json")
    assert audit.exit_code == 0
    check = next(c for c in json.loads(audit.output)["checks"] if c["name"] == "dashboard_rollups_agree")
    assert check["breaches"] == 0 and check["samples"][0]["pending_events"] >= 1

    assert cli("worker", "--once").exit_code == 0  # the worker drains the outbox
    assert "看板汇总与重算一致" in cli("rollup").output
    asyncio.run(_drift(database_url))  # with the outbox drained, a difference is a breach again
    assert cli("rollup").exit_code == 1 and cli("audit").exit_code == 1
