"""The scheduler's tables: one row per job and period (claimed once), the brand's schedule, worker heartbeats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin, IdType

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
GLOBAL_SCOPE = "all"


def brand_scope(brand_id: int) -> str:
    return f"brand:{brand_id}"


class JobRun(IdMixin, Base):
    """One period of one scheduled job (settle for brand 1 on 2026-11-21, payouts-sync at 10:20Z, …).

    The unique (job, scope, period) is what makes a period run once across any number of workers: a worker
    inserts the row before doing the work, and the one whose insert is refused leaves the period alone. A
    failed or abandoned row (its worker died) is taken over by a guarded update once `reclaim_at` has passed.
    """

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "scope", "period"),
        Index("ix_job_runs_job_scope", "job", "scope", "id"),
    )

    job: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(32))  # "all" or "brand:{id}"
    period: Mapped[str] = mapped_column(String(32))  # 2026-11-21, 2026-11, 2026-11-20T10:20Z
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # running, succeeded, failed
    attempts: Mapped[int] = mapped_column(default=1)
    worker: Mapped[str] = mapped_column(String(128))  # the heartbeat name of the worker of the last attempt
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # running: when the attempt counts as abandoned; failed: when it may be retried; succeeded: None.
    reclaim_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None]
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(String(500))


class SchedulePolicy(Base):
    """When a brand's daily jobs run (its local time); a brand without a row uses the defaults."""

    __tablename__ = "schedule_policies"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    settle_at: Mapped[str] = mapped_column(String(5))  # HH:MM in the brand's time zone
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))


class WorkerHeartbeat(Base):
    """A running worker, written each time its scheduler looks at what is due: `seen_at` old means it is gone."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid:n
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]
