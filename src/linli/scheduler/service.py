"""The scheduler's rules: a brand's schedule, claiming a job's period once, recording how it went.

A period is claimed by inserting its `job_runs` row (`insert_unique`): of two workers racing, the unique
(job, scope, period) refuses the second, which leaves the period alone. A failed attempt is retried after
1, 2, 4 … up to 60 minutes; an attempt whose worker died (still `running` after LEASE) is taken over. Both
are a guarded update (`… WHERE status <> 'succeeded' AND reclaim_at <= now`), so again only one worker wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.models import Brand
from linli.db import insert_unique
from linli.errors import InvalidInput
from linli.scheduler.jobs import DEFAULT_SETTLE_AT, BrandSchedule, Due
from linli.scheduler.models import FAILED, RUNNING, SUCCEEDED, JobRun, SchedulePolicy, WorkerHeartbeat

LEASE = timedelta(minutes=30)  # a settlement of a million orders takes well under a minute (BENCHMARKS.md)
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(minutes=60)
_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


# --- the brand's schedule ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    brand_id: int
    settle_at: str  # HH:MM, the brand's time zone
    timezone: str
    is_default: bool
    updated_at: datetime | None
    updated_by_user_id: int | None


def parse_settle_at(value: str) -> time:
    matched = _HH_MM.match(value)
    if not matched:
        raise InvalidInput("结算时间格式应为 HH:MM（品牌时区，00:00–23:59）", code="settle_time_invalid")
    return time(int(matched.group(1)), int(matched.group(2)))


async def get_policy(*, session: AsyncSession, brand_id: int) -> Policy:
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    row = await session.get(SchedulePolicy, brand_id)
    if row is None:
        return Policy(brand_id, f"{DEFAULT_SETTLE_AT:%H:%M}", brand.timezone, True, None, None)
    return Policy(brand_id, row.settle_at, brand.timezone, False, row.updated_at, row.updated_by_user_id)


async def update_policy(
    *, session: AsyncSession, brand_id: int, settle_at: str, actor_user_id: int, now: datetime
) -> Policy:
    """Sets when the brand's daily settlement runs; from the next day it has not yet run (one run per local day)."""
    settle_at = f"{parse_settle_at(settle_at):%H:%M}"
    await brands.get_brand(session=session, brand_id=brand_id)
    row = await session.get(SchedulePolicy, brand_id, with_for_update=True)
    if row is None:
        row = SchedulePolicy(brand_id=brand_id, settle_at=settle_at, updated_at=now, updated_by_user_id=actor_user_id)
        if not await insert_unique(session, row):  # a concurrent first change won: update that row
            row = await session.get(SchedulePolicy, brand_id, with_for_update=True, populate_existing=True)
            assert row is not None
    row.settle_at, row.updated_at, row.updated_by_user_id = settle_at, now, actor_user_id
    await session.flush()
    return await get_policy(session=session, brand_id=brand_id)


async def brand_schedules(*, session: AsyncSession) -> list[BrandSchedule]:
    """Every brand with its time zone and settle time: two small reads."""
    settle_at = dict((await session.execute(select(SchedulePolicy.brand_id, SchedulePolicy.settle_at))).all())
    rows = (await session.execute(select(Brand.id, Brand.timezone, Brand.created_at).order_by(Brand.id))).all()
    return [
        BrandSchedule(brand_id=bid, timezone=zone, created_at=created,
                      settle_at=parse_settle_at(settle_at[bid]) if bid in settle_at else DEFAULT_SETTLE_AT)
        for bid, zone, created in rows
    ]


# --- claiming and recording periods -----------------------------------------------------------------


async def runs_for(*, session: AsyncSession, due: list[Due]) -> dict[tuple[str, str, str], JobRun]:
    """The existing rows of these periods, by (job, scope, period)."""
    if not due:
        return {}
    periods = {d.period for d in due}
    rows = await session.scalars(select(JobRun).where(JobRun.period.in_(periods), JobRun.job.in_({d.job for d in due})))
    wanted = {d.key for d in due}
    return {(r.job, r.scope, r.period): r for r in rows if (r.job, r.scope, r.period) in wanted}


def claimable(run: JobRun | None, now: datetime) -> bool:
    return run is None or (run.status != SUCCEEDED and run.reclaim_at is not None and run.reclaim_at <= now)


async def claim(*, session: AsyncSession, due: Due, existing: JobRun | None, worker: str, now: datetime) -> JobRun | None:
    """Takes the period for this worker, or None if another worker has it (or finished it)."""
    if existing is None:
        row = JobRun(job=due.job, scope=due.scope, period=due.period, due_at=due.due_at, status=RUNNING, attempts=1,
                     worker=worker, started_at=now, reclaim_at=now + LEASE, counts={})
        return row if await insert_unique(session, row) else None
    taken = await session.execute(
        update(JobRun)
        .where(JobRun.id == existing.id, JobRun.status != SUCCEEDED, JobRun.reclaim_at <= now)
        .values(status=RUNNING, attempts=JobRun.attempts + 1, worker=worker, started_at=now, finished_at=None,
                reclaim_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    return await session.get(JobRun, existing.id, populate_existing=True)


def retry_delay(attempts: int) -> timedelta:
    return min(MAX_RETRY, FIRST_RETRY * 2 ** max(0, attempts - 1))


async def finish(
    *, session: AsyncSession, run_id: int, worker: str, counts: dict[str, Any] | None, error: str | None,
    duration_ms: int, now: datetime,
) -> JobRun | None:
    """Records the attempt's outcome, unless another worker took the period over meanwhile (then None)."""
    row = await session.get(JobRun, run_id, with_for_update=True, populate_existing=True)
    if row is None or row.status != RUNNING or row.worker != worker:
        return None
    row.finished_at, row.duration_ms = now, duration_ms
    if error is None:
        row.status, row.reclaim_at, row.error, row.counts = SUCCEEDED, None, None, counts or {}
    else:
        row.status, row.reclaim_at, row.error = FAILED, now + retry_delay(row.attempts), error[:500]
    await session.flush()
    return row


async def last_runs(*, session: AsyncSession, scopes: set[str] | None = None) -> list[JobRun]:
    """The latest row of each job and scope (optionally only these scopes), by job then scope."""
    latest = select(func.max(JobRun.id)).group_by(JobRun.job, JobRun.scope)
    if scopes is not None:
        latest = latest.where(JobRun.scope.in_(scopes))
    rows = await session.scalars(select(JobRun).where(JobRun.id.in_(latest)).order_by(JobRun.job, JobRun.scope))
    return list(rows)


async def failed_runs(*, session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(JobRun).where(JobRun.status == FAILED)) or 0)


# --- workers ----------------------------------------------------------------------------------------


async def beat(*, session: AsyncSession, worker: str, started_at: datetime, now: datetime) -> None:
    row = await session.get(WorkerHeartbeat, worker, with_for_update=True)
    if row is None:
        if await insert_unique(session, WorkerHeartbeat(name=worker, started_at=started_at, seen_at=now)):
            return
        row = await session.get(WorkerHeartbeat, worker, with_for_update=True, populate_existing=True)
        assert row is not None
    row.seen_at = now


async def heartbeats(*, session: AsyncSession) -> list[WorkerHeartbeat]:
    return list(await session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.seen_at.desc())))


async def prune(*, session: AsyncSession, runs_before: datetime, heartbeats_before: datetime) -> tuple[int, int]:
    """Deletes finished job runs older than `runs_before` and workers not seen since `heartbeats_before`."""
    runs = await session.execute(
        delete(JobRun).where(JobRun.status == SUCCEEDED, JobRun.due_at < runs_before)
    )
    workers = await session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < heartbeats_before))
    return runs.rowcount or 0, workers.rowcount or 0
