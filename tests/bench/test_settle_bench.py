"""`linli bench settle`: the generated data is a healthy ledger, and the bench settles it all and verifies it."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from typer.testing import CliRunner

from linli.bench import settle as bench
from linli.cli import app
from linli.ledger.audit import run_audit
from linli.ledger.models import CommissionLine
from linli.ledger.settlement import settle_due
from tests.conftest import DEFAULT_POSTGRES_URL


def _bench_postgres(monkeypatch) -> None:
    """The bench makes its scratch database on the server the suite uses."""
    monkeypatch.setenv("LINLI_BENCH_POSTGRES_URL", os.environ.get("LINLI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


async def test_the_generated_orders_are_a_healthy_ledger_that_settles_to_the_aggregate(db):
    now = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    await bench.generate(db, orders=500, leaders=7, now=now)
    async with db.read() as s:
        report = await run_audit(session=s, now=now)
        assert report.ok, report.to_text()
        assert report.counts == {"transactions": 500, "entries": 1000, "commission_lines": 500}
        per_leader = await s.execute(select(CommissionLine.leader_id, func.count()).group_by(CommissionLine.leader_id))
        assert sorted(count for _, count in per_leader.all()) == [71, 71, 71, 71, 72, 72, 72]
    expected, _ = await bench.aggregate(db, as_of=now)
    settled = await settle_due(db=db, as_of=now, now=now, batch_size=100)
    assert (settled.lines, settled.amount_fen) == (500, sum(total for _, total in expected.values()))
    assert await bench.verify(db, expected=expected, report=settled.__dict__, now=now) == []
    async with db.read() as s:
        assert (await run_audit(session=s, now=now)).ok


async def test_verification_fails_loudly_when_settlement_and_aggregate_disagree(db):
    now = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    await bench.generate(db, orders=50, leaders=3, now=now)
    expected, _ = await bench.aggregate(db, as_of=now)
    async with db.transaction() as s:  # one line is not due after all: settlement leaves it pending
        await s.execute(update(CommissionLine).where(CommissionLine.id == select(func.min(CommissionLine.id)).scalar_subquery())
                        .values(eligible_at=datetime(2026, 12, 1, tzinfo=UTC)))
    settled = await settle_due(db=db, as_of=now, now=now)
    failures = await bench.verify(db, expected=expected, report=settled.__dict__, now=now)
    assert any("aggregate" in f for f in failures) and any("still pending" in f for f in failures)


def test_the_bench_command_reports_every_figure_and_verifies(backend, monkeypatch):
    _bench_postgres(monkeypatch)
    result = CliRunner().invoke(
        app, ["bench", "settle", "--db", backend, "--orders", "2000", "--leaders", "30", "--batch-size", "500",
              "--settlers", "2", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"orders", "seconds", "rows_per_second", "peak_memory_mb", "ratio"} <= set(data)
    assert data["verified"] is True and data["failures"] == []
    assert data["orders"] == data["settled_lines"] == 2000
    assert data["seconds"] > 0 and data["rows_per_second"] > 0 and 0 < data["peak_memory_mb"] < 500
    assert 0 < data["ratio"] and data["aggregate_seconds"] > 0
    # At least one settlement transaction per leader, at most one per leader and batch. (Two settlers scan the
    # same order with SKIP LOCKED, so their batches may interleave: no tighter bound holds.)
    assert data["batches"] >= 4 and 30 <= data["transactions"] <= 30 * data["batches"]
