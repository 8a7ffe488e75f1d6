"""An operator sees that the worker is alive: log lines, `linli outbox status`, /healthz for staff, /metrics."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from linli.accounts.sms import InboxSmsSender
from linli.accounts.wechat import SimulatedWeChatClient
from linli.cli import app as cli_app
from linli.clock import FixedClock
from linli.config import Settings
from linli.context import AppContext
from linli.db import Database
from linli.logs import configure_logging
from linli.models import metadata
from linli.outbox import service as outbox
from linli.outbox.models import OutboxEvent
from linli.payments.providers import build_providers
from linli.scheduler.runner import Scheduler
from linli.worker import build_registry, run_once
from tests.conftest import START
from tests.ledger.helpers import buy, complete
from tests.orders.setup import bound_member, build_stage

TEN_PAST_MIDNIGHT = datetime(2026, 11, 20, 16, 10, tzinfo=UTC)


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def seed_outbox(ctx) -> None:
    """One processed event, two due, one that keeps failing (4 attempts) and one failed once, not due yet."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        s.add_all([
            OutboxEvent(topic="order.paid", payload={}, created_at=now - timedelta(hours=2), available_at=now,
                        processed_at=now - timedelta(hours=1)),
            OutboxEvent(topic="order.placed", payload={}, created_at=now - timedelta(minutes=5), available_at=now),
            OutboxEvent(topic="order.placed", payload={}, created_at=now - timedelta(minutes=1), available_at=now),
            OutboxEvent(topic="refund.requested", payload={}, created_at=now - timedelta(minutes=30),
                        available_at=now + timedelta(minutes=2), attempts=4,
                        last_error="ProviderUnavailable: 微信支付退款接口超时"),
            OutboxEvent(topic="payout.requested", payload={}, created_at=now - timedelta(minutes=3),
                        available_at=now + timedelta(seconds=2), attempts=1, last_error="TimeoutError: "),
        ])


async def test_outbox_status_counts_the_backlog_and_names_what_keeps_failing(ctx):
    await seed_outbox(ctx)
    async with ctx.db.read() as s:
        status = await outbox.status(session=s, now=ctx.clock.now())
    assert (status.pending, status.due, status.retrying, status.failing) == (4, 2, 2, 1)
    assert status.oldest_pending_at == START - timedelta(minutes=30)
    assert status.oldest_pending_age_seconds == 1800
    assert status.failing_topics == {"refund.requested": 1}
    [event] = status.failing_events
    assert (event.topic, event.attempts, event.last_error, event.next_attempt_at) == (
        "refund.requested", 4, "ProviderUnavailable: 微信支付退款接口超时", START + timedelta(minutes=2)
    )


async def test_an_empty_outbox_has_no_age(ctx):
    async with ctx.db.read() as s:
        status = await outbox.status(session=s, now=ctx.clock.now())
    assert (status.pending, status.oldest_pending_at, status.oldest_pending_age_seconds, status.failing_events) == (
        0, None, None, []
    )


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_the_worker_logs_a_line_per_batch_and_per_job_run(ctx, world, clock, restore_logging, log_format):
    stage = await build_stage(world)
    order_id = await buy(ctx, stage, await bound_member(world, stage.leader), quantity=2)
    await complete(ctx, order_id)
    clock.set(TEN_PAST_MIDNIGHT)
    stream = io.StringIO()
    configure_logging(log_format, stream=stream)
    registry = build_registry(ctx)
    await run_once(ctx, registry, scheduler=Scheduler.for_context(ctx))
    await run_once(ctx, registry)  # a pass with nothing to do logs nothing
    lines = stream.getvalue().splitlines()
    if log_format == "json":
        records = [json.loads(line) for line in lines]
    else:
        records = [dict(part.split("=", 1) for part in line.split(" ")) for line in lines]
        assert all(line.startswith("ts=") for line in lines)
    by_event = {}
    for record in records:
        by_event.setdefault(record.get("event"), []).append(record)
    [settle] = [r for r in by_event["job.succeeded"] if r["job"] == "settle"]
    assert settle["scope"] == f"brand:{stage.brand_id}" and settle["period"] == "2026-11-21"
    assert str(settle["lines"]) == "1" and str(settle["amount_fen"]) == "2040" and int(settle["duration_ms"]) >= 0
    assert settle["logger"] == "linli.scheduler" and settle["level"] == "info"
    assert {r["job"] for r in by_event["job.succeeded"]} == {
        "settle", "interest-groups", "care", "expire-bindings", "payouts-sync", "kit-reminders", "prune-outbox"}
    [batch] = by_event["worker.batch"]
    assert str(batch["jobs"]) == "7" and str(batch["events"]) == "0" and "duration_ms" in batch
    assert len(records) == 8


def test_text_values_with_spaces_are_quoted_and_json_keeps_chinese(restore_logging):
    stream = io.StringIO()
    configure_logging("text", stream=stream)
    logging.getLogger("linli.scheduler").warning("job.failed")
    from linli.logs import log_event

    log_event(logging.getLogger("linli.scheduler"), "job.failed", level=logging.WARNING, job="settle",
              error='ConnectionError: 数据库 "主库" 断开')
    last = stream.getvalue().splitlines()[-1]
    assert last.endswith('event=job.failed job=settle error="ConnectionError: 数据库 \\"主库\\" 断开"')
    assert " level=warning " in last
    configure_logging("json", stream=stream)
    log_event(logging.getLogger("linli.scheduler"), "job.failed", job="settle", error="数据库断开")
    assert json.loads(stream.getvalue().splitlines()[-1])["error"] == "数据库断开"
    with pytest.raises(ValueError):
        configure_logging("xml")


# --- the command line ---------------------------------------------------------------------------------


async def _prepared(url: str, tmp_path) -> None:  # noqa: ANN001
    db = Database(url)
    async with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            await conn.run_sync(metadata.create_all)
        else:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    settings = Settings(database_url=url, secret_key="test-secret", data_dir=tmp_path, dev_mode=True,
                        payment_simulator_enabled=True)
    ctx = AppContext(settings=settings, db=db, clock=FixedClock(datetime.now(UTC)), sms_sender=InboxSmsSender(),
                     wechat=SimulatedWeChatClient(), payments=build_providers(settings))
    try:
        await seed_outbox(ctx)
    finally:
        await db.dispose()


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch, restore_logging):
    asyncio.run(_prepared(database_url, tmp_path))
    monkeypatch.setenv("LINLI_DATABASE_URL", database_url)
    monkeypatch.setenv("LINLI_SECRET_KEY", "test-secret")
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LINLI_DEV_MODE", "1")  # the worker pays out through the simulator
    runner = CliRunner()
    return lambda *args: runner.invoke(cli_app, list(args))


def test_outbox_status_and_a_worker_that_says_what_it_did(cli, monkeypatch):
    before = cli("outbox", "status")
    assert before.exit_code == 0, before.output
    assert "outbox: 4 pending (2 due now, 2 retrying, 1 failing)" in before.output
    assert "oldest pending: 30m" in before.output  # (and the seconds it took to get here)
    assert " refund.requested: 4 attempts, next try " in before.output and "微信支付退款接口超时" in before.output
    assert "workers: none has ever checked in" in before.output

    monkeypatch.setenv("LINLI_LOG_FORMAT", "json")
    worked = cli("worker", "--once")
    assert worked.exit_code == 0, worked.output
    records = [json.loads(line) for line in worked.output.splitlines() if line.startswith("{")]
    assert {r["job"] for r in records if r["event"] == "job.succeeded"} == {
        "expire-bindings", "payouts-sync", "kit-reminders", "prune-outbox"}
    assert [r["events"] for r in records if r["event"] == "worker.batch"][0] == 2  # the two due events

    after = json.loads(cli("outbox", "status", "--json").output)
    assert after["outbox"]["pending"] == 2 and after["outbox"]["failing"] == 1
    assert after["outbox"]["failing_events"][0]["last_error"] == "ProviderUnavailable: 微信支付退款接口超时"
    assert [w["alive"] for w in after["workers"]] == [True]
    assert sorted(j["job"] for j in after["jobs"]) == ["expire-bindings", "kit-reminders", "payouts-sync", "prune-outbox"]
    text = cli("outbox", "status").output
    assert "alive, last seen" in text and "payouts-sync all" in text and "succeeded" in text
