"""`linli bench flash-sale`: a real server, a rush bigger than the quota, every figure printed, nothing oversold."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from linli.cli import app
from tests.bench.test_settle_bench import _bench_postgres

FIGURES = {
    "attempts", "sold", "quota", "oversold", "lost_paid_orders", "attempts_per_second", "p50_ms", "p99_ms",
    "ceiling_per_second", "ratio",
}


def test_a_small_rush_sells_exactly_the_quota(backend, monkeypatch):
    _bench_postgres(monkeypatch)
    result = CliRunner().invoke(
        app, ["bench", "flash-sale", "--db", backend, "--members", "120", "--concurrency", "16", "--quota", "30", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert FIGURES <= set(data)
    assert (data["attempts"], data["quota"], data["sold"], data["paid"]) == (120, 30, 30, 30)
    assert (data["oversold"], data["lost_paid_orders"], data["errors"]) == (0, 0, 0)
    assert data["attempts_per_second"] > 0 and data["ceiling_per_second"] > 0 and data["ratio"] > 0
    assert 0 < data["p50_ms"] <= data["p99_ms"]
