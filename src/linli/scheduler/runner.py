"""The scheduler a worker carries: called on every pass, it looks at the database only every N seconds.

Each look (`LINLI_SCHEDULER_CHECK_SECONDS`, default 30, on the injected clock) is two small reads (brands
and their schedules, the rows of the periods due now) and a heartbeat; then every due period that no worker
has claimed, or that failed and whose retry time has come, is claimed and run, one after another.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from linli.context import AppContext
from linli.logs import log_event
from linli.scheduler import jobs, service
from linli.scheduler.models import JobRun

log = logging.getLogger("linli.scheduler")
_instances = itertools.count(1)


def worker_name() -> str:
    return f"{socket.gethostname()[:96]}:{os.getpid()}:{next(_instances)}"


@dataclass
class RunOutcome:
    job: str
    scope: str
    period: str
    status: str  # succeeded, failed
    attempts: int
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class Scheduler:
    def __init__(self, *, check_every: timedelta, name: str | None = None) -> None:
        self.name = name or worker_name()
        self.check_every = check_every
        self._next_check: datetime | None = None
        self._started_at: datetime | None = None

    @classmethod
    def for_context(cls, ctx: AppContext) -> Scheduler:
        return cls(check_every=timedelta(seconds=ctx.settings.scheduler_check_seconds))

    async def tick(self, ctx: AppContext) -> list[RunOutcome]:
        """Runs what is due, at most one look at the database per `check_every`. Returns the runs it made."""
        now = ctx.clock.now()
        if self._next_check is not None and now < self._next_check:
            return []
        self._next_check = now + self.check_every
        self._started_at = self._started_at or now
        async with ctx.db.transaction() as session:
            await service.beat(session=session, worker=self.name, started_at=self._started_at, now=now)
        async with ctx.db.read() as session:
            due = jobs.due_now(now=now, brands=await service.brand_schedules(session=session))
            existing = await service.runs_for(session=session, due=due)
        outcomes = []
        for item in due:
            if service.claimable(existing.get(item.key), now):
                outcome = await self._run(ctx, item, existing.get(item.key))
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes

    async def _run(self, ctx: AppContext, due: jobs.Due, existing: JobRun | None) -> RunOutcome | None:
        async with ctx.db.transaction() as session:
            run = await service.claim(session=session, due=due, existing=existing, worker=self.name, now=ctx.clock.now())
        if run is None:
            return None  # another worker has it
        started = time.perf_counter()
        counts: dict[str, Any] | None = None
        error: str | None = None
        failure: Exception | None = None
        try:
            counts = await jobs.RUNNERS[due.job](ctx, due, ctx.clock.now())
        except Exception as exc:  # noqa: BLE001 - recorded on the row and retried later, never fatal to the worker
            error = f"{type(exc).__name__}: {exc}"
            failure = exc
        duration_ms = round((time.perf_counter() - started) * 1000)
        async with ctx.db.transaction() as session:
            row = await service.finish(
                session=session, run_id=run.id, worker=self.name, counts=counts, error=error, duration_ms=duration_ms,
                now=ctx.clock.now(),
            )
        if row is None:
            return None  # taken over as abandoned while it ran: the other worker reports it
        fields = {"job": due.job, "scope": due.scope, "period": due.period, "attempt": row.attempts,
                  "duration_ms": duration_ms}
        if error is None:
            log_event(log, "job.succeeded", **fields, **row.counts)
        else:
            log_event(log, "job.failed", level=logging.WARNING, exc_info=failure, **fields, error=error,
                      retry_at=row.reclaim_at.isoformat() if row.reclaim_at else None)
        return RunOutcome(due.job, due.scope, due.period, row.status, row.attempts, dict(row.counts or {}), row.error)
