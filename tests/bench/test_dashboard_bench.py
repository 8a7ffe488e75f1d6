"""`linli bench dashboard`: the generated data set is what a rebuild computes, it is kept between runs, and the
bench reports every figure against a real server and worker (whose roll-ups of the rush still agree)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from sqlalchemy import func, select, text
from typer.testing import CliRunner

from linli.attribution.models import Binding
from linli.bench import dashboard_data as data
from linli.bench.dashboard import prepare, store_url
from linli.bench.harness import _admin
from linli import worker
from linli.cli import app
from linli.clock import SystemClock
from linli.config import Settings
from linli.context import AppContext
from linli.dashboards.models import LeaderMonth, PaidOrder
from linli.dashboards.rebuild import rollups_agree
from linli.db import Database
from linli.orders.models import Order
from linli.payments.models import Refund
from tests.bench.test_settle_bench import _bench_postgres
from tests.conftest import DEFAULT_POSTGRES_URL

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
TINY = 0.0005  # 5,000 orders, 25 leaders, 1,000 members


async def drop_bench_leftovers(db: Database) -> None:
    """The marker and the raw query's index are the bench's own: not in the models, so no fixture removes them."""
    async with db.engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE IF EXISTS {data.MARKER}"))
        await conn.execute(text("DROP INDEX IF EXISTS bench_orders_brand_paid"))


@pytest.fixture
async def generating(db) -> AsyncIterator[Database]:
    yield db
    await drop_bench_leftovers(db)


async def test_the_generated_data_set_is_what_a_rebuild_computes(generating):
    db = generating
    generated = await data.generate(db, scale=TINY, now=NOW)
    sizes = data.Sizes.at(TINY)
    assert (generated.orders, generated.leaders, generated.members) == (sizes.orders, sizes.leaders, sizes.members)
    async with db.read() as s:
        assert await rollups_agree(session=s) == {}
        first, last = (await s.execute(select(func.min(Order.paid_at), func.max(Order.paid_at)))).one()
        assert first >= data.window(NOW)[0] and last < NOW
        months = {m for (m,) in (await s.execute(select(PaidOrder.paid_month).distinct())).all()}
        assert len(months) == data.MONTHS  # December 2025 to November 2026
        refunds = await s.scalar(select(func.count()).select_from(Refund))
        assert 0.015 * sizes.orders < refunds < 0.05 * sizes.orders
        sizes_of_leaders = sorted((await s.scalars(select(func.count()).select_from(Binding).group_by(Binding.leader_id))).all())
        assert sizes_of_leaders[-1] > 4 * sizes_of_leaders[len(sizes_of_leaders) // 2]  # skewed
        buyers_again = await s.scalar(
            select(func.count()).select_from(
                select(Order.member_id).group_by(Order.member_id).having(func.count() > 1).subquery()
            )
        )
        assert buyers_again > 100  # members repurchase
        gmv = (await s.execute(select(func.sum(LeaderMonth.gmv_fen), func.sum(LeaderMonth.paid_fen - LeaderMonth.refunded_fen)))).one()
        assert gmv[0] == gmv[1] > 0


async def test_the_marker_says_which_data_set_is_stored(generating):
    db = generating
    assert not data.marker_matches(await data.read_marker(db), scale=TINY, now=NOW)
    await data.generate(db, scale=TINY, now=NOW)
    marker = await data.read_marker(db)
    assert data.marker_matches(marker, scale=TINY, now=NOW)
    assert not data.marker_matches(marker, scale=2 * TINY, now=NOW)
    assert not data.marker_matches(marker, scale=TINY, now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))  # 08:00 on 1 Dec there


def _kept_database(backend: str, tmp_path) -> tuple[str, str]:
    """(--database, its URL): a file of the test's own, or a database named for it on the suite's server."""
    if backend == "sqlite":
        name = str(tmp_path / "dashboard.db")
    else:
        name = f"linli_bench_dashboard_test_{uuid.uuid4().hex[:8]}"
    return name, store_url(backend, name)


async def test_a_stored_data_set_of_the_same_scale_is_reused_unless_asked_to_regenerate(backend, monkeypatch, tmp_path):
    _bench_postgres(monkeypatch)
    name, url = _kept_database(backend, tmp_path)
    try:
        assert (await prepare(url, scale=TINY, regenerate=False, now=NOW)).generated is True
        kept = await prepare(url, scale=TINY, regenerate=False, now=NOW)
        assert kept.generated is False and kept.orders == data.Sizes.at(TINY).orders
        assert (await prepare(url, scale=TINY, regenerate=True, now=NOW)).generated is True
        other = await prepare(url, scale=2 * TINY, regenerate=False, now=NOW)
        assert other.generated is True and other.orders == data.Sizes.at(2 * TINY).orders
    finally:
        if backend == "postgresql":
            await _admin(os.environ.get("LINLI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_bench_command_reports_every_figure(backend, monkeypatch, tmp_path):
    _bench_postgres(monkeypatch)
    name, url = _kept_database(backend, tmp_path)
    # One API process: a supervisor restarts children slower to start than its 5 s health check on a busy machine.
    args = ["bench", "dashboard", "--db", backend, "--scale", str(TINY), "--database", name, "--requests", "20",
            "--leaders", "5", "--rush", "6", "--rush-rate", "5", "--server-workers", "1", "--json"]
    try:
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        # stdout only: `output` mixes in stderr, where the progress bars go and where a logging handler another test
        # left on a closed stream reports its failure ("--- Logging error --- … Arguments: …").
        figures = json.loads(first.stdout.strip().splitlines()[-1])
        assert {"orders", "leader_p50_ms", "leader_p95_ms", "brand_p50_ms", "brand_p95_ms", "raw_brand_ms",
                "freshness_p99_ms"} <= set(figures)
        assert figures["generated"] is True and figures["raw_matches_rollups"] is True and figures["errors"] == 0
        assert figures["orders"] == data.Sizes.at(TINY).orders + 6 and figures["rush_orders"] == 6
        assert 0 < figures["leader_p50_ms"] <= figures["leader_p95_ms"]
        assert 0 < figures["brand_p50_ms"] <= figures["brand_p95_ms"] and figures["raw_brand_ms"] > 0
        assert 0 < figures["freshness_p50_ms"] <= figures["freshness_p99_ms"] <= figures["freshness_max_ms"]
        # Each order's watcher read the dashboard at least once: the read that showed it.
        assert figures["rush_requests"] == 4 * 6 and figures["freshness_polls"] >= 6 and figures["freshness_poll_ms"] == 250

        async def agree() -> dict:
            # The server stopped as soon as the last order showed; what its worker had not reached yet (the last
            # accruals' commission.posted) is delivered here, as any worker would once it runs again.
            settings = Settings(database_url=url, secret_key="k" * 32, inprocess_worker=False, payment_simulator_enabled=True)
            ctx = AppContext.build(settings, clock=SystemClock())
            try:
                await worker.run_until_idle(ctx)
                async with ctx.db.read() as s:
                    return await rollups_agree(session=s)  # the rushes' orders counted by the worker too
            finally:
                await ctx.db.dispose()

        assert asyncio.run(agree()) == {}
    finally:
        if backend == "postgresql":
            admin = os.environ.get("LINLI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
            asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
