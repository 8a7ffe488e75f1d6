"""Is the worker alive and keeping up? `/healthz` (liveness for anyone, figures for brand staff), `/metrics`
(Prometheus text format, behind `LINLI_METRICS_TOKEN`) and `linli outbox status` read the same snapshot.

Anonymous callers, leaders and members get `{"status": "ok"}` and nothing else. Staff of any brand also get
the outbox figures, the workers' heartbeats and the last run of each scheduled job of their brands and of the
global jobs (error texts only for their own brands' jobs). `/metrics` is for the operator's Prometheus: off
(404) unless the token is set, 401 without it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.errors import NotFound, Unauthorized
from linli.openapi import errors
from linli.outbox import service as outbox
from linli.scheduler import service as scheduler
from linli.scheduler.models import GLOBAL_SCOPE, JobRun, WorkerHeartbeat, brand_scope
from linli.http import Ctx, MaybeUser

router = APIRouter(tags=["ops"])
ALIVE_CHECKS = 3  # a worker not seen for this many scheduler checks is reported as not alive


@dataclass(frozen=True)
class Snapshot:
    outbox: outbox.OutboxStatus
    jobs: list[JobRun]
    failed_jobs: int
    workers: list[WorkerHeartbeat]


async def snapshot(
    *, session: AsyncSession, now: datetime, scopes: set[str] | None = None, failing_limit: int = 10
) -> Snapshot:
    """The outbox figures, the last run of each job (of these scopes, or all) and the workers: five small reads."""
    return Snapshot(
        outbox=await outbox.status(session=session, now=now, limit=failing_limit),
        jobs=await scheduler.last_runs(session=session, scopes=scopes),
        failed_jobs=await scheduler.failed_runs(session=session),
        workers=await scheduler.heartbeats(session=session),
    )


def seen_ago(worker: WorkerHeartbeat, now: datetime) -> float:
    return max(0.0, (now - worker.seen_at).total_seconds())


def job_view(run: JobRun, *, with_error: bool) -> dict[str, Any]:
    return {
        "job": run.job, "scope": run.scope, "period": run.period, "status": run.status, "attempts": run.attempts,
        "due_at": run.due_at, "started_at": run.started_at, "finished_at": run.finished_at,
        "duration_ms": run.duration_ms, "counts": run.counts or {},
        "retry_at": run.reclaim_at if run.status == "failed" else None,
        "error": run.error if with_error else None,
    }


def staff_view(snap: Snapshot, *, now: datetime, check_seconds: float, own_scopes: set[str]) -> dict[str, Any]:
    """What /healthz shows brand staff: figures, and error texts of their own brands' jobs only."""
    box = snap.outbox
    return {
        "status": "ok",
        "outbox": {
            "pending": box.pending, "due": box.due, "retrying": box.retrying, "failing": box.failing,
            "oldest_pending_at": box.oldest_pending_at, "oldest_pending_age_seconds": box.oldest_pending_age_seconds,
            "failing_topics": box.failing_topics,
        },
        "workers": [
            {"name": w.name, "started_at": w.started_at, "seen_at": w.seen_at,
             "seen_seconds_ago": round(seen_ago(w, now), 3), "alive": seen_ago(w, now) <= ALIVE_CHECKS * check_seconds}
            for w in snap.workers
        ],
        "jobs": [job_view(run, with_error=run.scope in own_scopes) for run in snap.jobs],
    }


def operator_view(snap: Snapshot, *, now: datetime, check_seconds: float) -> dict[str, Any]:
    """What `linli outbox status --json` shows the operator: everything, the failing events and every error."""
    view = staff_view(snap, now=now, check_seconds=check_seconds, own_scopes={run.scope for run in snap.jobs})
    view["outbox"]["failing_events"] = [vars(event) for event in snap.outbox.failing_events]
    return view


def _age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def status_lines(snap: Snapshot, *, now: datetime, check_seconds: float) -> list[str]:
    """`linli outbox status` as text: what is waiting, what keeps failing and why, the workers, the jobs."""
    box = snap.outbox
    lines = [f"outbox: {box.pending} pending ({box.due} due now, {box.retrying} retrying, {box.failing} failing)"]
    if box.oldest_pending_at is not None:
        lines.append(f"oldest pending: {_age(box.oldest_pending_age_seconds or 0)} old "
                     f"(created {box.oldest_pending_at:%Y-%m-%d %H:%M:%S}Z)")
    if box.failing_events:
        lines.append(f"events that keep failing ({outbox.FAILING_ATTEMPTS}+ attempts), most attempts first:")
        for e in box.failing_events:
            lines.append(f"  #{e.id} {e.topic}: {e.attempts} attempts, next try {e.next_attempt_at:%Y-%m-%d %H:%M:%S}Z, "
                         f"last error: {e.last_error or '-'}")
    if not snap.workers:
        lines.append("workers: none has ever checked in (is `linli worker`, or `linli serve` with its in-process "
                     "worker, running?)")
    for w in snap.workers:
        ago = seen_ago(w, now)
        state = "alive" if ago <= ALIVE_CHECKS * check_seconds else "NOT SEEN"
        lines.append(f"worker {w.name}: {state}, last seen {_age(ago)} ago, started {w.started_at:%Y-%m-%d %H:%M:%S}Z")
    if snap.jobs:
        lines.append("scheduled jobs (latest period of each):")
    for r in snap.jobs:
        counts = " ".join(f"{k}={v}" for k, v in (r.counts or {}).items())
        failed = r.status == "failed" and r.reclaim_at is not None
        detail = f"error: {r.error}; retry at {r.reclaim_at:%Y-%m-%d %H:%M:%S}Z" if failed else counts
        lines.append(f"  {r.job} {r.scope} {r.period}: {r.status} (attempt {r.attempts}, "
                     f"started {r.started_at:%Y-%m-%d %H:%M:%S}Z) {detail}".rstrip())
    return lines


def _metric(lines: list[str], name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{rendered}}} {value:g}" if rendered else f"{name} {value:g}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(snap: Snapshot, *, now: datetime) -> str:
    """The Prometheus text exposition format (version 0.0.4)."""
    box = snap.outbox
    lines: list[str] = []
    _metric(lines, "linli_outbox_pending_events", "gauge", "Outbox events not processed yet.", [({}, box.pending)])
    _metric(lines, "linli_outbox_due_events", "gauge", "Pending outbox events whose time to be handled has come.",
            [({}, box.due)])
    _metric(lines, "linli_outbox_retrying_events", "gauge", "Pending outbox events whose handlers failed at least once.",
            [({}, box.retrying)])
    _metric(lines, "linli_outbox_failing_events", "gauge",
            f"Pending outbox events whose handlers failed {outbox.FAILING_ATTEMPTS} times or more, by topic.",
            [({"topic": topic}, count) for topic, count in box.failing_topics.items()] or [({}, 0)])
    _metric(lines, "linli_outbox_oldest_pending_age_seconds", "gauge", "Age of the oldest pending outbox event.",
            [({}, box.oldest_pending_age_seconds or 0.0)])
    _metric(lines, "linli_worker_last_seen_seconds", "gauge", "Seconds since each worker's scheduler last looked.",
            [({"worker": w.name}, round(seen_ago(w, now), 3)) for w in snap.workers])
    _metric(lines, "linli_job_failed_periods", "gauge", "Scheduled job periods whose last attempt failed.",
            [({}, snap.failed_jobs)])
    _metric(lines, "linli_job_last_run_succeeded", "gauge", "1 if the latest period of the job succeeded, else 0.",
            [({"job": r.job, "scope": r.scope}, 1 if r.status == "succeeded" else 0) for r in snap.jobs])
    _metric(lines, "linli_job_last_due_timestamp_seconds", "gauge", "When the latest period of the job was due.",
            [({"job": r.job, "scope": r.scope}, r.due_at.timestamp()) for r in snap.jobs])
    _metric(lines, "linli_job_last_duration_seconds", "gauge", "How long the latest finished attempt took.",
            [({"job": r.job, "scope": r.scope}, (r.duration_ms or 0) / 1000) for r in snap.jobs if r.finished_at])
    return "\n".join(lines) + "\n"


@router.get("/healthz", summary="健康检查（品牌员工另见 worker、事件队列与定时任务）")
async def healthz(ctx: Ctx, user: MaybeUser) -> JSONResponse:
    if user is None:
        return JSONResponse({"status": "ok"})
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        brand_ids = await brands.staff_brand_ids(session=session, user_id=user.user_id)
        if not brand_ids:
            return JSONResponse({"status": "ok"})
        own = {brand_scope(b) for b in brand_ids}
        snap = await snapshot(session=session, now=now, scopes=own | {GLOBAL_SCOPE})
    view = staff_view(snap, now=now, check_seconds=ctx.settings.scheduler_check_seconds, own_scopes=own)
    return JSONResponse(jsonable_encoder(view))


@router.get(
    "/metrics", summary="Prometheus 指标（需 LINLI_METRICS_TOKEN）", response_class=PlainTextResponse,
    responses=errors(401, 404),
)
async def metrics(ctx: Ctx, request: Request) -> PlainTextResponse:
    expected = ctx.settings.metrics_token
    if not expected:
        raise NotFound("未开启指标接口（设置 LINLI_METRICS_TOKEN）", code="metrics_disabled")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthorized("指标接口需要正确的令牌", code="metrics_token_invalid")
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        snap = await snapshot(session=session, now=now)
    return PlainTextResponse(prometheus_text(snap, now=now), media_type="text/plain; version=0.0.4; charset=utf-8")
