"""The scheduled jobs: when each one is due (its period) and what it runs.

| job | scope | period | due |
| --- | --- | --- | --- |
| settle | each brand | a local day | at the brand's settle time (default 00:10 local), as of that moment |
| tier-bonus | each brand | the local month that closed | 01:00 local on the 1st |
| interest-groups | each brand | a local day | 03:30 local, as of that moment: every active interest group's members |
| expire-bindings | all | an hour (UTC) | at the top of each hour |
| payouts-sync | all | 10 minutes (UTC) | every 10 minutes, for withdrawals approved 10+ minutes ago |
| kit-reminders | all | 10 minutes (UTC) | every 10 minutes: leaders reminded a day and an hour before their session, groups previewed an hour before |
| prune-outbox | all | a UTC day | 20:00 UTC (04:00 in China): events processed 7+ days ago, job runs older than 90 days |

Only the latest due period of each job and scope is run: every job is cumulative (settlement settles all
that is due by its `as_of`, the others look at the state of now), so after a downtime the latest period
does the work of the missed ones. A month missed entirely by tier-bonus (a worker down across two month
ends) is `linli tier-bonus --month` (see docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from linli.context import AppContext
from linli.scheduler.models import GLOBAL_SCOPE, brand_scope

DEFAULT_SETTLE_AT = time(0, 10)
TIER_BONUS_AT = time(1, 0)
INTEREST_GROUPS_AT = time(3, 30)
CARE_AT = time(9, 0)
EXPIRE_BINDINGS_MINUTES = 60
PAYOUTS_SYNC_MINUTES = 10
KIT_REMINDERS_MINUTES = 10
PAYOUTS_SYNC_OLDER_THAN = timedelta(minutes=10)
PRUNE_AT_UTC = time(20, 0)
OUTBOX_KEEP = timedelta(days=7)
JOB_RUNS_KEEP = timedelta(days=90)  # longer than the longest period (a month), or it would run again
HEARTBEATS_KEEP = timedelta(days=1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BrandSchedule:
    brand_id: int
    timezone: str
    settle_at: time
    created_at: datetime


@dataclass(frozen=True)
class Due:
    """One period of one job that is due now."""

    job: str
    scope: str
    period: str
    due_at: datetime
    brand_id: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.job, self.scope, self.period)


def daily_period(now: datetime, zone: ZoneInfo, at: time) -> tuple[date, datetime]:
    """The latest local day whose `at` has passed, and that moment in UTC."""
    day = now.astimezone(zone).date()
    due = datetime.combine(day, at, tzinfo=zone)
    if due > now:
        day -= timedelta(days=1)
        due = datetime.combine(day, at, tzinfo=zone)
    return day, due.astimezone(UTC)


def closed_month(now: datetime, zone: ZoneInfo, at: time) -> tuple[str, datetime]:
    """The latest local month whose next month's 1st at `at` has passed (YYYY-MM), and that moment in UTC."""
    local = now.astimezone(zone)
    first = date(local.year, local.month, 1)
    due = datetime.combine(first, at, tzinfo=zone)
    if due > now:
        first = (first - timedelta(days=1)).replace(day=1)
        due = datetime.combine(first, at, tzinfo=zone)
    month_before = first - timedelta(days=1)
    return f"{month_before:%Y-%m}", due.astimezone(UTC)


def interval_period(now: datetime, minutes: int) -> tuple[str, datetime]:
    start = now - (now - _EPOCH) % timedelta(minutes=minutes)
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ"), start


def due_now(*, now: datetime, brands: list[BrandSchedule]) -> list[Due]:
    """The latest due period of every job, in the order they run (settlement first)."""
    due: list[Due] = []
    for brand in brands:
        zone = ZoneInfo(brand.timezone)
        day, at = daily_period(now, zone, brand.settle_at)
        due.append(Due("settle", brand_scope(brand.brand_id), day.isoformat(), at, brand.brand_id))
    for brand in brands:
        month, at = closed_month(now, ZoneInfo(brand.timezone), TIER_BONUS_AT)
        if brand.created_at < at:  # a brand created after that month closed has nothing to compute for it
            due.append(Due("tier-bonus", brand_scope(brand.brand_id), month, at, brand.brand_id))
    for brand in brands:
        day, at = daily_period(now, ZoneInfo(brand.timezone), INTEREST_GROUPS_AT)
        due.append(Due("interest-groups", brand_scope(brand.brand_id), day.isoformat(), at, brand.brand_id))
    for brand in brands:
        day, at = daily_period(now, ZoneInfo(brand.timezone), CARE_AT)
        due.append(Due("care", brand_scope(brand.brand_id), day.isoformat(), at, brand.brand_id))
    period, at = interval_period(now, EXPIRE_BINDINGS_MINUTES)
    due.append(Due("expire-bindings", GLOBAL_SCOPE, period, at))
    period, at = interval_period(now, PAYOUTS_SYNC_MINUTES)
    due.append(Due("payouts-sync", GLOBAL_SCOPE, period, at))
    period, at = interval_period(now, KIT_REMINDERS_MINUTES)
    due.append(Due("kit-reminders", GLOBAL_SCOPE, period, at))
    day, at = daily_period(now, ZoneInfo("UTC"), PRUNE_AT_UTC)
    due.append(Due("prune-outbox", GLOBAL_SCOPE, day.isoformat(), at))
    return due


# --- what each job runs: (ctx, due, now) → counts -------------------------------------------------


async def _settle(ctx: AppContext, due: Due, now: datetime) -> dict[str, Any]:
    from linli.ledger import settlement

    # As of the scheduled moment, so a late run (a catch-up) settles exactly what the on-time run would have.
    report = await settlement.settle_due(db=ctx.db, as_of=due.due_at, now=now, brand_id=due.brand_id)
    return {"lines": report.lines, "transactions": report.transactions, "amount_fen": report.amount_fen,
            "batches": report.batches}


async def _tier_bonus(ctx: AppContext, due: Due, now: datetime) -> dict[str, Any]:
    from linli.ledger import tier_bonus

    assert due.brand_id is not None
    async with ctx.db.transaction() as session:
        report = await tier_bonus.compute_month(session=session, brand_id=due.brand_id, month=due.period, now=now)
    return {"leaders": report.leaders, "changed": report.changed, "awarded_fen": report.awarded_fen,
            "posted_fen": report.posted_fen}


async def _interest_groups(ctx: AppContext, due: Due, now: datetime) -> dict[str, Any]:
    from linli.marketing import interests

    assert due.brand_id is not None
    async with ctx.db.transaction() as session:
        # As of the scheduled moment: a late run finds exactly the members the on-time run would have.
        done = await interests.recompute_brand(session=session, brand_id=due.brand_id, as_of=due.due_at)
    return {"groups": len(done), "joined": sum(d.joined for d in done), "left": sum(d.left for d in done)}


async def _care(ctx: AppContext, due: Due, now: datetime) -> dict[str, Any]:
    from linli.marketing import care

    assert due.brand_id is not None
    # As of the scheduled moment: a late run greets for the local day the on-time run would have.
    report = await care.run_brand(db=ctx.db, brand_id=due.brand_id, as_of=due.due_at, now=now,
                                  base_url=ctx.settings.public_base_url)
    return {"occasions": report.occasions, "greeted": report.greeted, "coupons": report.coupons}


async def _expire_bindings(ctx: AppContext, due: Due, now: datetime) -> dict[str, Any]:
    from linli.attribution import service as attribution

    async with ctx.db.transaction() as session:
        return {"expired": await attribution.expire_bindings(session=session, now=now)}


async def _payouts_sync(ctx: AppContext, due: Due, now: datetime) -> dict[str, Any]:
    from linli.payouts import service as payouts

    report = await payouts.sync_approved(db=ctx.db, providers=ctx.payouts, as_of=now - PAYOUTS_SYNC_OLDER_THAN, now=now)
    return {"checked": report.checked, **dict(sorted((report.outcomes or {}).items()))}


async def _kit_reminders(ctx: AppContext, due: Due, now: datetime) -> dict[str, Any]:
    from linli.marketing import announcements

    async with ctx.db.transaction() as session:
        return {"pushes": await announcements.remind(session=session, base_url=ctx.settings.public_base_url, now=now)}


async def _prune(ctx: AppContext, due: Due, now: datetime) -> dict[str, Any]:
    from linli.outbox import service as outbox
    from linli.scheduler import service as scheduler

    async with ctx.db.transaction() as session:
        events = await outbox.prune_processed(session=session, older_than=now - OUTBOX_KEEP)
        runs, workers = await scheduler.prune(
            session=session, runs_before=now - JOB_RUNS_KEEP, heartbeats_before=now - HEARTBEATS_KEEP
        )
    return {"events": events, "job_runs": runs, "heartbeats": workers}


RUNNERS: dict[str, Callable[[AppContext, Due, datetime], Awaitable[dict[str, Any]]]] = {
    "settle": _settle,
    "tier-bonus": _tier_bonus,
    "interest-groups": _interest_groups,
    "care": _care,
    "expire-bindings": _expire_bindings,
    "payouts-sync": _payouts_sync,
    "kit-reminders": _kit_reminders,
    "prune-outbox": _prune,
}
