"""The worker's scheduler: each period once across workers, at the brand's local time, caught up, retried."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from linli.db import Database
from linli.ledger import settlement
from linli.ledger.models import LINE_PENDING, LINE_SETTLED, TX_SETTLEMENT, LedgerTransaction
from linli.scheduler import service as scheduler
from linli.scheduler.jobs import Due
from linli.scheduler.models import FAILED, RUNNING, SUCCEEDED, JobRun, brand_scope
from linli.scheduler.runner import Scheduler
from linli.worker import build_registry, run_once
from tests.ledger.helpers import buy, complete, line_of
from tests.orders.setup import bound_member, build_stage

# START is 2026-11-20 10:00 in Asia/Shanghai; the order is picked up then, so its commission is due at 00:00 on
# 21 Nov local and the brand's default settlement runs at 00:10 local, which is 16:10 UTC on 20 Nov.
TEN_PAST_MIDNIGHT = datetime(2026, 11, 20, 16, 10, tzinfo=UTC)


@pytest.fixture
async def picked_up(ctx, world):
    stage = await build_stage(world)
    order_id = await buy(ctx, stage, await bound_member(world, stage.leader), quantity=2)
    await complete(ctx, order_id)
    return stage, order_id


def worker(ctx) -> Scheduler:
    return Scheduler.for_context(ctx)


async def settle_runs(ctx, brand_id: int) -> list[JobRun]:
    async with ctx.db.read() as s:
        return list(await s.scalars(
            select(JobRun).where(JobRun.job == "settle", JobRun.scope == brand_scope(brand_id)).order_by(JobRun.period)
        ))


async def settlements(ctx) -> int:
    async with ctx.db.read() as s:
        return await s.scalar(select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == TX_SETTLEMENT))


async def test_the_worker_settles_once_at_ten_past_midnight_local_which_is_the_day_before_in_utc(ctx, clock, picked_up):
    stage, order_id = picked_up
    registry, sched = build_registry(ctx), worker(ctx)
    await run_once(ctx, registry, scheduler=sched)  # 10:00 local: the day's 00:10 run is due (and settles nothing)
    clock.set(TEN_PAST_MIDNIGHT - timedelta(minutes=1))  # 00:09 on 21 Nov local, still 20 Nov in UTC
    await run_once(ctx, registry, scheduler=sched)
    assert (await line_of(ctx, order_id)).status == LINE_PENDING

    clock.set(TEN_PAST_MIDNIGHT)
    await run_once(ctx, registry, scheduler=sched)
    line = await line_of(ctx, order_id)
    assert line.status == LINE_SETTLED and line.settled_fen == 2040
    for minutes in (1, 5, 60, 600):  # later passes of the same local day settle nothing again
        clock.set(TEN_PAST_MIDNIGHT + timedelta(minutes=minutes))
        await run_once(ctx, registry, scheduler=sched)
    runs = await settle_runs(ctx, stage.brand_id)
    assert [(r.period, r.status, r.counts["lines"]) for r in runs] == [
        ("2026-11-20", SUCCEEDED, 0), ("2026-11-21", SUCCEEDED, 1)
    ]
    assert runs[1].due_at == TEN_PAST_MIDNIGHT and runs[1].counts["amount_fen"] == 2040
    assert await settlements(ctx) == 1


async def test_a_brand_s_own_settle_time_is_honoured(ctx, clock, client, picked_up):
    stage, order_id = picked_up
    headers = stage.owner.headers
    assert (await client.get(f"/api/v1/brands/{stage.brand_id}/schedule-policy", headers=headers)).json()["settle_at"] == "00:10"
    bad = await client.put(f"/api/v1/brands/{stage.brand_id}/schedule-policy", json={"settle_at": "24:00"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "settle_time_invalid"
    changed = await client.put(f"/api/v1/brands/{stage.brand_id}/schedule-policy", json={"settle_at": "02:30"}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json() | {"updated_at": None} == {
        "settle_at": "02:30", "timezone": "Asia/Shanghai", "is_default": False, "updated_at": None,
        "updated_by_user_id": stage.owner.user_id,
    }
    leader = await client.get(f"/api/v1/brands/{stage.brand_id}/schedule-policy", headers=stage.leader.actor.headers)
    assert leader.status_code == 403

    registry, sched = build_registry(ctx), worker(ctx)
    clock.set(datetime(2026, 11, 20, 18, 29, tzinfo=UTC))  # 02:29 on 21 Nov local
    await run_once(ctx, registry, scheduler=sched)
    assert (await line_of(ctx, order_id)).status == LINE_PENDING
    clock.set(datetime(2026, 11, 20, 18, 30, tzinfo=UTC))  # 02:30 local
    await run_once(ctx, registry, scheduler=sched)
    assert (await line_of(ctx, order_id)).status == LINE_SETTLED
    assert [r.period for r in await settle_runs(ctx, stage.brand_id)] == ["2026-11-20", "2026-11-21"]


async def test_two_workers_at_once_run_each_period_once(ctx, clock, picked_up, database_url):
    stage, order_id = picked_up
    clock.set(TEN_PAST_MIDNIGHT + timedelta(seconds=5))
    other = dataclasses.replace(ctx, db=Database(database_url))  # a second worker process: its own connections
    try:
        registry = build_registry(ctx)
        first, second = worker(ctx), worker(other)
        await asyncio.gather(run_once(ctx, registry, scheduler=first), run_once(other, registry, scheduler=second))
    finally:
        await other.db.dispose()
    assert (await line_of(ctx, order_id)).status == LINE_SETTLED
    assert await settlements(ctx) == 1
    async with ctx.db.read() as s:
        runs = list(await s.scalars(select(JobRun)))
    assert sorted(r.job for r in runs) == [
        "care", "expire-bindings", "interest-groups", "kit-reminders", "payouts-sync", "prune-outbox", "settle"]
    assert all(r.status == SUCCEEDED and r.attempts == 1 for r in runs)


async def test_racing_claims_of_one_period_are_won_once(ctx, database_url):
    """The claim itself: four workers insert the same period's row at the same moment; one wins."""
    now = ctx.clock.now()
    due = Due("expire-bindings", "all", "2026-11-20T02:00Z", now)
    dbs = [Database(database_url) for _ in range(4)]

    async def claim(db: Database, n: int) -> JobRun | None:
        async with db.transaction() as s:
            return await scheduler.claim(session=s, due=due, existing=None, worker=f"w{n}", now=now)

    try:
        won = await asyncio.gather(*(claim(db, n) for n, db in enumerate(dbs)))
    finally:
        for db in dbs:
            await db.dispose()
    assert len([r for r in won if r is not None]) == 1
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(JobRun)) == 1


async def test_a_day_missed_while_no_worker_ran_is_caught_up_with_the_latest_period(ctx, clock, picked_up):
    stage, order_id = picked_up
    clock.set(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))  # no worker from 20 Nov 10:00 to 23 Nov 09:00 local
    await run_once(ctx, build_registry(ctx), scheduler=worker(ctx))
    line = await line_of(ctx, order_id)
    assert line.status == LINE_SETTLED and line.settled_at == clock.now()
    runs = await settle_runs(ctx, stage.brand_id)  # 23 Nov's run, as of 00:10 that day, did the missed days' work
    assert [(r.period, r.due_at, r.counts["lines"]) for r in runs] == [
        ("2026-11-23", datetime(2026, 11, 22, 16, 10, tzinfo=UTC), 1)
    ]
    assert await settlements(ctx) == 1


async def test_a_failing_job_is_recorded_and_retried_later(ctx, clock, picked_up, monkeypatch, caplog):
    stage, order_id = picked_up
    real = settlement.settle_due
    calls = []

    async def down_once(**kwargs):  # noqa: ANN003
        calls.append(kwargs["as_of"])
        if len(calls) == 1:
            raise ConnectionError("数据库连接中断")
        return await real(**kwargs)

    monkeypatch.setattr(settlement, "settle_due", down_once)
    registry, sched = build_registry(ctx), worker(ctx)
    clock.set(TEN_PAST_MIDNIGHT)
    await run_once(ctx, registry, scheduler=sched)
    [run] = await settle_runs(ctx, stage.brand_id)
    assert (run.status, run.attempts, run.error) == (FAILED, 1, "ConnectionError: 数据库连接中断")
    assert run.reclaim_at == TEN_PAST_MIDNIGHT + timedelta(minutes=1)
    assert (await line_of(ctx, order_id)).status == LINE_PENDING
    [logged] = [r for r in caplog.records if r.getMessage() == "job.failed"]
    assert logged.levelno == logging.WARNING and logged.exc_info[0] is ConnectionError
    assert logged.linli_fields["error"] == "ConnectionError: 数据库连接中断" and logged.linli_fields["job"] == "settle"

    clock.advance(timedelta(seconds=45))  # the scheduler looks again, but the retry time has not come
    await run_once(ctx, registry, scheduler=sched)
    assert len(calls) == 1 and (await settle_runs(ctx, stage.brand_id))[0].status == FAILED

    clock.advance(timedelta(seconds=30))
    await run_once(ctx, registry, scheduler=worker(ctx))  # any worker may retry it
    [run] = await settle_runs(ctx, stage.brand_id)
    assert (run.status, run.attempts, run.error, run.counts["lines"]) == (SUCCEEDED, 2, None, 1)
    assert calls == [TEN_PAST_MIDNIGHT, TEN_PAST_MIDNIGHT]  # the retry settles as of the period's moment
    assert (await line_of(ctx, order_id)).status == LINE_SETTLED


async def test_a_period_abandoned_by_a_dead_worker_is_taken_over_after_its_lease(ctx, clock, picked_up):
    stage, order_id = picked_up
    clock.set(TEN_PAST_MIDNIGHT)
    async with ctx.db.transaction() as s:  # a worker claimed 21 Nov's settlement and was killed
        s.add(JobRun(job="settle", scope=brand_scope(stage.brand_id), period="2026-11-21", due_at=TEN_PAST_MIDNIGHT,
                     status=RUNNING, attempts=1, worker="gone:1:1", started_at=TEN_PAST_MIDNIGHT,
                     reclaim_at=TEN_PAST_MIDNIGHT + scheduler.LEASE, counts={}))
    registry = build_registry(ctx)
    clock.advance(timedelta(minutes=5))
    await run_once(ctx, registry, scheduler=worker(ctx))
    assert (await line_of(ctx, order_id)).status == LINE_PENDING  # it may still be running
    clock.advance(scheduler.LEASE)
    await run_once(ctx, registry, scheduler=worker(ctx))
    [run] = await settle_runs(ctx, stage.brand_id)
    assert (run.status, run.attempts) == (SUCCEEDED, 2) and run.worker != "gone:1:1"
    assert (await line_of(ctx, order_id)).status == LINE_SETTLED


async def test_the_scheduler_looks_at_the_database_only_every_check_interval(ctx, clock, picked_up):
    stage, _ = picked_up
    registry, sched = build_registry(ctx), worker(ctx)
    await run_once(ctx, registry, scheduler=sched)
    async with ctx.db.transaction() as s:  # a settlement row removed behind its back is not noticed …
        await s.execute(JobRun.__table__.delete())
    clock.advance(timedelta(seconds=ctx.settings.scheduler_check_seconds - 1))
    assert await sched.tick(ctx) == []
    clock.advance(timedelta(seconds=1))  # … until the next look
    assert {r.job for r in await sched.tick(ctx)} >= {"settle", "expire-bindings", "payouts-sync"}


async def test_tier_bonus_runs_once_after_the_month_closes_in_the_brand_s_zone(ctx, clock, picked_up):
    stage, _ = picked_up
    registry = build_registry(ctx)
    clock.set(datetime(2026, 11, 30, 16, 59, tzinfo=UTC))  # 00:59 on 1 Dec local
    await run_once(ctx, registry, scheduler=worker(ctx))
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).where(JobRun.job == "tier-bonus")) == 0  # brand created in November
    clock.set(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))  # 01:00 on 1 Dec local
    await run_once(ctx, registry, scheduler=worker(ctx))
    clock.set(datetime(2026, 12, 15, 2, 0, tzinfo=UTC))
    await run_once(ctx, registry, scheduler=worker(ctx))
    async with ctx.db.read() as s:
        runs = list(await s.scalars(select(JobRun).where(JobRun.job == "tier-bonus")))
    assert [(r.scope, r.period, r.status, r.counts["leaders"]) for r in runs] == [
        (brand_scope(stage.brand_id), "2026-11", SUCCEEDED, 1)
    ]


async def test_only_the_brand_s_staff_may_read_or_change_its_settle_time(world, client, picked_up):
    stage, _ = picked_up
    url = f"/api/v1/brands/{stage.brand_id}/schedule-policy"
    other_brand = await world.brand(name="别家", slug="other-brand")
    other_owner = await world.staff(other_brand)
    member = await world.user()
    callers = {
        "anonymous": ({}, 401), "member": (member.headers, 403), "leader": (stage.leader.actor.headers, 403),
        "another brand's owner": (other_owner.headers, 403),
    }
    for who, (headers, status) in callers.items():
        read = await client.get(url, headers=headers)
        assert read.status_code == status, (who, read.text)
        put = await client.put(url, json={"settle_at": "03:00"}, headers=headers)
        assert put.status_code == status, (who, put.text)
    unchanged = (await client.get(url, headers=stage.owner.headers)).json()
    assert (unchanged["settle_at"], unchanged["is_default"]) == ("00:10", True)
