"""A future `--as-of` does real, irreversible work, so every command refuses one unless `--allow-future`; the
audit flags money dated after the moment it runs. Against a real database (both backends), through the CLI."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from linli.clock import CLOCK_SKEW_TOLERANCE, AsOfRefused, replay_moment
from linli.db import Database
from linli.ledger.models import LedgerEntry, LedgerTransaction
from linli.models import metadata
from linli.orders import service as orders
from linli.worker import run_until_idle
from tests.cli_support import cli_invoker, fresh_context
from tests.conftest import START
from tests.factories import World
from tests.ledger.helpers import buy, complete
from tests.orders.setup import bound_member, build_stage


async def _prepare(url: str, tmp_path) -> None:  # noqa: ANN001
    """A paid, picked-up order (its commission settles the next day) and an unpaid one (due ten minutes after START)."""
    async with fresh_context(url, tmp_path) as ctx:
        world = World(ctx)
        stage = await build_stage(world)
        await complete(ctx, await buy(ctx, stage, await bound_member(world, stage.leader), quantity=2))
        buyer = await bound_member(world, stage.leader)
        async with ctx.db.transaction() as s:
            await orders.place_order(
                session=s, user_id=buyer.user_id, listing_id=None, offer_id=stage.offer_id, quantity=1,
                idempotency_key=uuid.uuid4().hex, pickup_community_id=None, payment_ttl=timedelta(minutes=10), now=START,
            )
        await run_until_idle(ctx)  # the events of the setup handled (the second buyer's member.bound), as a worker would


async def _snapshot(url: str) -> dict[str, list[str]]:
    """Every row of every table: a refused command must leave all of it as it was."""
    db = Database(url)
    try:
        async with db.read() as s:
            return {
                table.name: sorted(repr(tuple(row)) for row in (await s.execute(select(table))).all())
                for table in metadata.sorted_tables
            }
    finally:
        await db.dispose()


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch):
    asyncio.run(_prepare(database_url, tmp_path))
    return cli_invoker(monkeypatch, database_url, tmp_path)


def _tomorrow() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


def _month_before(moment: datetime) -> str:
    first = moment.replace(day=1)
    return f"{(first - timedelta(days=1)):%Y-%m}"


def _commands(moment: datetime) -> list[list[str]]:
    """Every command with --as-of, each with the other options it needs."""
    return [
        ["settle"], ["expire-orders"], ["expire-bindings"], ["prune-outbox"], ["payouts-sync"], ["remind-unclaimed"],
        ["tier-bonus", "--month", _month_before(moment)], ["worker", "--once"], ["refresh-kits"], ["interest-groups"], ["care"], ["remind-kits"],
    ]


def test_every_command_refuses_a_future_moment_and_changes_nothing(cli, database_url):
    tomorrow = _tomorrow()
    before = asyncio.run(_snapshot(database_url))
    for command in _commands(tomorrow):
        result = cli(*command, "--as-of", tomorrow.isoformat())
        assert result.exit_code == 2, (command, result.output)
        assert "拒绝执行" in result.output and "--allow-future" in result.output, (command, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert asyncio.run(_snapshot(database_url)) == before, command


def test_a_past_moment_still_runs(cli, database_url):
    past = START + timedelta(minutes=1)
    for command in _commands(past):
        result = cli(*command, "--as-of", past.isoformat())
        assert result.exit_code == 0, (command, result.output)
    assert "settled 0 line(s)" in cli("settle", "--as-of", past.isoformat()).output
    assert "expired 0 order(s)" in cli("expire-orders", "--as-of", past.isoformat()).output
    # The next day (still in the past) does the real work: the commission settles, the unpaid order expires.
    next_day = (START + timedelta(days=2)).isoformat()
    assert "settled 1 line(s)" in cli("settle", "--as-of", next_day).output
    assert "expired 1 order(s)" in cli("expire-orders", "--as-of", next_day).output
    assert cli("audit").exit_code == 0


def test_allow_future_runs_and_the_audit_flags_what_it_posted(cli, database_url):
    tomorrow = _tomorrow().isoformat()
    assert cli("audit").exit_code == 0
    outputs = {}
    for command in _commands(_tomorrow()):
        result = cli(*command, "--as-of", tomorrow, "--allow-future")
        assert result.exit_code == 0, (command, result.output)
        outputs[command[0]] = result.output
    # Rehearsed on purpose, the commands did their work: that is why they are refused by default.
    assert "settled 1 line(s)" in outputs["settle"] and "expired 1 order(s)" in outputs["expire-orders"]

    flagged = cli("audit")
    assert flagged.exit_code == 1, flagged.output
    assert "[FAIL] nothing_dated_in_future" in flagged.output
    assert "ledger_transaction.posted_at" in flagged.output and "commission_line.settled_at" in flagged.output


def test_the_audit_flags_a_future_dated_posting_and_passes_otherwise(cli, database_url):
    ok = cli("audit")
    assert ok.exit_code == 0 and "[ok] nothing_dated_in_future" in ok.output

    async def post_into_the_future() -> None:
        db = Database(database_url)
        try:
            async with db.transaction() as s:
                tx_id = await s.scalar(select(LedgerTransaction.id).order_by(LedgerTransaction.id).limit(1))
                later = _tomorrow()
                await s.execute(update(LedgerTransaction).where(LedgerTransaction.id == tx_id).values(posted_at=later))
                await s.execute(update(LedgerEntry).where(LedgerEntry.transaction_id == tx_id).values(posted_at=later))
        finally:
            await db.dispose()

    asyncio.run(post_into_the_future())
    flagged = cli("audit")
    assert flagged.exit_code == 1 and "[FAIL] nothing_dated_in_future" in flagged.output
    assert "ledger_entry.posted_at" in flagged.output


def test_the_rule_allows_clock_skew_and_reads_naive_as_utc():
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert replay_moment((now + CLOCK_SKEW_TOLERANCE).isoformat(), now=now) == now + CLOCK_SKEW_TOLERANCE
    assert replay_moment("2026-12-01T08:00:00", now=now) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(AsOfRefused, match="拒绝执行"):
        replay_moment((now + CLOCK_SKEW_TOLERANCE + timedelta(seconds=1)).isoformat(), now=now)
    assert replay_moment((now + timedelta(days=1)).isoformat(), now=now, allow_future=True) == now + timedelta(days=1)
    with pytest.raises(AsOfRefused, match="ISO"):
        replay_moment("tomorrow", now=now)


def test_an_unreadable_moment_is_one_line(cli):
    result = cli("settle", "--as-of", "tomorrow")
    assert result.exit_code == 2 and "不是有效的 ISO 时间" in result.output and "Traceback" not in result.output
