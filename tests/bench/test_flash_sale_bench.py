"""`linli bench flash-sale`: a real server, a rush bigger than the quota, every figure printed, nothing oversold."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from linli.bench import flash_sale
from linli.bench.engine_ceiling import run_engine_ceiling
from linli.bench.phases import Attempt, figures
from linli.cli import app
from linli.live.models import CommunityOffer
from linli.orders.models import Order
from linli.outbox.models import OutboxEvent
from tests.bench.test_settle_bench import _bench_postgres

FIGURES = {
    "attempts", "sold", "quota", "oversold", "lost_paid_orders", "attempts_per_second", "p50_ms", "p99_ms",
    "ceiling_per_second", "ratio",
}
ENGINE_FIGURES = {
    "engine_ceiling_per_second", "engine_ceiling_before_per_second", "engine_ceiling_after_per_second", "engine_ratio",
    "engine_p50_ms", "engine_p99_ms", "p99_vs_engine", "purchases_per_second", "engine_purchases_per_second",
    "purchase_ratio", "refusals_per_second", "engine_refusals_per_second", "refusal_ratio", "refusals_after_sell_out",
    "all_buy_buyers", "all_buy_sold", "all_buy_purchases_per_second", "engine_all_buy_purchases_per_second",
    "all_buy_ratio", "engine_sold", "engine_oversold", "engine_errors", "statements_per_order",
    "statements_per_refusal",
}


def test_a_small_rush_sells_exactly_the_quota(backend, monkeypatch):
    _bench_postgres(monkeypatch)
    result = CliRunner().invoke(
        app, ["bench", "flash-sale", "--db", backend, "--members", "120", "--concurrency", "16", "--quota", "30", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])  # stdout: `output` mixes in stderr
    assert FIGURES <= set(data)
    assert (data["attempts"], data["quota"], data["sold"], data["paid"]) == (120, 30, 30, 30)
    assert (data["oversold"], data["lost_paid_orders"], data["errors"]) == (0, 0, 0)
    assert data["attempts_per_second"] > 0 and data["ceiling_per_second"] > 0 and data["ratio"] > 0
    assert 0 < data["p50_ms"] <= data["p99_ms"]

    # The engine's ceiling ran beside it: its rush offers (before, after) and its all-buy offer, read back.
    assert ENGINE_FIGURES <= set(data)
    assert data["engine_sold"] == [30, 30, 120] and (data["engine_oversold"], data["engine_errors"]) == (0, 0)
    assert (data["all_buy_buyers"], data["all_buy_sold"]) == (120, 120)
    mean = (data["engine_ceiling_before_per_second"] + data["engine_ceiling_after_per_second"]) / 2
    assert abs(data["engine_ceiling_per_second"] - mean) <= 0.1
    assert 0 < data["engine_p50_ms"] <= data["engine_p99_ms"]
    for mine, theirs, quotient in [
        ("attempts_per_second", "engine_ceiling_per_second", "engine_ratio"),
        ("purchases_per_second", "engine_purchases_per_second", "purchase_ratio"),
        ("refusals_per_second", "engine_refusals_per_second", "refusal_ratio"),
        ("all_buy_purchases_per_second", "engine_all_buy_purchases_per_second", "all_buy_ratio"),
        ("p99_ms", "engine_p99_ms", "p99_vs_engine"),
    ]:
        assert data[mine] > 0 and data[theirs] > 0
        assert abs(data[quotient] - data[mine] / data[theirs]) <= 0.01 * max(1.0, data[quotient]), quotient
    # 120 tries at 30 units: after the last purchase the rest of the queue was refused, and only those count.
    assert 0 < data["refusals_after_sell_out"] <= data["attempts"] - data["sold"]
    # An order goes further into the transaction than a sold-out refusal (which never locks anything).
    assert data["statements_per_order"] > data["statements_per_refusal"] > 0


def test_the_table_shows_the_engine_beside_linli(backend, monkeypatch):
    _bench_postgres(monkeypatch)
    result = CliRunner().invoke(
        app, ["bench", "flash-sale", "--db", backend, "--members", "24", "--concurrency", "4", "--quota", "6"],
    )
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split() == ["linli", "engine", "ratio"]
    labels = [row[:24].strip() for row in rows[:6]]
    assert labels == [
        "attempts/s", "purchases/s (rush)", "refusals/s (sold out)", "all-buy purchases/s", "p50 ms", "p99 ms"
    ]
    assert all(len(row[24:].split()) == (2 if label == "p50 ms" else 3) for label, row in zip(labels, rows, strict=False))
    assert "engine_sold: [6, 6, 24]" in result.output


async def test_the_engine_client_sells_exactly_the_quota_and_writes_each_order_with_its_event(ctx):
    seed = await flash_sale._seed(ctx, members=36, quota=10, all_buy=36)
    tokens = [token for _, token in seed.users]

    async def engine(offer_id: int, buyers: list[str]):
        return await run_engine_ceiling(
            database_url=ctx.db.url, secret_key=ctx.settings.secret_key, offer_id=offer_id, tokens=buyers,
            concurrency=8, clock=ctx.clock, payment_ttl=timedelta(minutes=10),
        )

    rush = await engine(seed.offers.engine_before, tokens)
    everyone = await engine(seed.offers.all_buy_engine, tokens)

    assert (rush.attempts, rush.sold, rush.errors) == (36, 10, 0)
    assert 0 <= rush.refusals_after_sell_out <= 26
    assert (everyone.attempts, everyone.sold, everyone.errors, everyone.refusals_after_sell_out) == (36, 36, 0, 0)
    async with ctx.db.read() as s:
        for offer_id, quota in ((seed.offers.engine_before, 10), (seed.offers.all_buy_engine, 36)):
            offer = await s.get(CommunityOffer, offer_id)
            assert (offer.sold, offer.quota) == (quota, quota)
            placed = (await s.scalars(select(Order).where(Order.offer_id == offer_id))).all()
            assert len(placed) == quota and len({o.member_id for o in placed}) == quota
            assert {(o.status, o.quantity, o.total_fen) for o in placed} == {("pending_payment", 1, offer.price_fen)}
            assert all(o.expires_at - o.placed_at == timedelta(minutes=10) for o in placed)
            events = (await s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "order.placed"))).all()
            assert {o.id for o in placed} <= {e.payload["order_id"] for e in events}
        # The other offers were not touched.
        assert await s.scalar(select(func.count()).select_from(Order).where(Order.offer_id == seed.offers.http)) == 0


def test_the_phases_split_a_run_at_the_last_purchase():
    attempts = [
        Attempt(0.0, 1.0, bought=True), Attempt(0.0, 2.0, bought=True), Attempt(1.0, 2.5, bought=False),
        Attempt(2.0, 3.0, bought=False), Attempt(2.5, 4.0, bought=False), Attempt(3.0, 3.5, bought=False, failed=True),
    ]
    run = figures(attempts, elapsed=4.0)
    assert (run.attempts, run.sold, run.errors, run.refusals_after_sell_out) == (6, 2, 1, 2)
    assert run.attempts_per_second == 1.5 and run.purchases_per_second == 1.0
    assert run.refusals_per_second == 1.0  # two refusals began at or after 2.0 and ended by 4.0


async def test_the_http_floor_sells_exactly_the_quota_over_http_and_refuses_a_bad_token(ctx, clock):
    clock.set(datetime.now(UTC))  # the floor's own process reads the system clock: the offers open around it
    seed = await flash_sale._seed(ctx, members=24, quota=6, all_buy=24)
    async with flash_sale._floor_server(
        database_url=ctx.db.url, secret_key=ctx.settings.secret_key, processes=1, connections=4
    ) as base:
        attempts, winners, _ = await flash_sale._rush_over_http(base, offer_id=seed.offers.floor, users=seed.users, concurrency=4)
        stranger, _, _ = await flash_sale._rush_over_http(
            base, offer_id=seed.offers.all_buy_floor, users=[(0, "not-a-token")], concurrency=1
        )
    run = figures(attempts, elapsed=1.0)
    assert (run.attempts, run.sold, run.errors) == (24, 6, 0)
    assert [a.failed for a in stranger] == [True]  # a 401: neither a purchase nor a refusal
    async with ctx.db.read() as s:
        placed = (await s.scalars(select(Order).where(Order.offer_id == seed.offers.floor))).all()
        assert sorted(o.id for o in placed) == sorted(winners) and len({o.member_id for o in placed}) == 6
        assert (await s.get(CommunityOffer, seed.offers.floor)).sold == 6
        assert await s.scalar(select(func.count()).select_from(Order).where(Order.offer_id == seed.offers.all_buy_floor)) == 0
