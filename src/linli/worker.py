"""The worker: delivers outbox events to their handlers, delivers due pushes and runs the periodic jobs.

`linli worker` runs it as its own process (any number of them on PostgreSQL: batches are claimed
with FOR UPDATE SKIP LOCKED, scheduled periods with a unique job-run row); on the embedded default
`linli serve` runs it in-process. The scheduled jobs live in `linli.scheduler`.
"""

from __future__ import annotations

import asyncio
import logging
import time

from linli.context import AppContext
from linli.logs import log_event
from linli.orders import service as orders
from linli.outbox.service import HandlerRegistry, process_batch
from linli.scheduler.runner import Scheduler

log = logging.getLogger("linli.worker")


def build_registry(ctx: AppContext) -> HandlerRegistry:
    """Every context's event handlers, wired once."""
    registry = HandlerRegistry()
    for register in _registrars():
        register(registry, ctx)
    return registry


def _registrars() -> list:
    from linli.academy import handlers as academy_handlers  # wire-up: the leader academy (issue 17)
    from linli.aftersales import handlers as aftersales_handlers  # wire-up: after-sales claims (issue 5)
    from linli.community import handlers as community_handlers  # wire-up: community groups (issue 17)
    from linli.coupons import handlers as coupon_handlers  # wire-up: coupons (issue 17)
    from linli.dashboards import handlers as dashboard_handlers  # wire-up: dashboards' roll-ups (issue 16)
    from linli.fulfillment import handlers as fulfillment_handlers  # wire-up: fulfillment (issue 5)
    from linli.ledger import handlers as ledger_handlers  # wire-up: commission ledger (issue 4)
    from linli.marketing import handlers as marketing_handlers  # wire-up: campaign kits (issue 17)
    from linli.payments import handlers as payment_handlers
    from linli.payouts import handlers as payout_handlers  # wire-up: withdrawals (issue 4)

    return [
        payment_handlers.register, ledger_handlers.register, payout_handlers.register, fulfillment_handlers.register,
        aftersales_handlers.register, dashboard_handlers.register, marketing_handlers.register,
        academy_handlers.register, community_handlers.register, coupon_handlers.register,
    ]


# Events per transaction: a batch's roll-ups are seen when it commits, so a paid order waits for the rest of its
# batch; 20 (about four orders' events) keeps that short while a commit and a pass's other checks stay a few % of
# the work (docs/BENCHMARKS.md, the dashboards' freshness: p99 4.5 s with 100, 3.3 s with 20).
EVENT_BATCH = 20


async def run_once(
    ctx: AppContext, registry: HandlerRegistry, *, batch: int = EVENT_BATCH, scheduler: Scheduler | None = None
) -> int:
    """One pass: expire unpaid orders that are due, remind of (or return) unclaimed parcels, deliver a batch of
    events, deliver the pushes that are due (`notifications.delivery`), then let the scheduler run what is due (a
    worker's passes always carry one; without one, as in tests that only deliver events, no scheduled job runs).
    Returns work done; logs one line if any."""
    from linli.fulfillment import unclaimed as fulfillment_unclaimed  # wire-up: fulfillment (issue 5)
    from linli.notifications.delivery import Dispatcher  # wire-up: pushes (issue 17)

    started = time.perf_counter()
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        expired = await orders.expire_due_orders(session=session, now=now)
    async with ctx.db.transaction() as session:
        unclaimed = await fulfillment_unclaimed.handle_unclaimed(session=session, now=now)
    async with ctx.db.transaction() as session:
        delivered = await process_batch(session=session, registry=registry, now=now, limit=batch)
    pushed = await Dispatcher.for_context(ctx).deliver_due(now=now)
    runs = await scheduler.tick(ctx) if scheduler is not None else []
    done = (expired + unclaimed.reminded + unclaimed.returned + unclaimed.failed + delivered.claimed + pushed.done
            + len(runs))
    if done:
        log_event(
            log, "worker.batch", events=delivered.claimed, events_failed=delivered.failed, orders_expired=expired,
            parcels_reminded=unclaimed.reminded, parcels_returned=unclaimed.returned, parcels_failed=unclaimed.failed,
            pushes_sent=pushed.sent, pushes_retrying=pushed.retrying, pushes_failed=pushed.failed,
            pushes_skipped=pushed.skipped, pushes_postponed=pushed.postponed,
            jobs=len(runs), duration_ms=round((time.perf_counter() - started) * 1000),
        )
    return done


async def run_until_idle(
    ctx: AppContext, registry: HandlerRegistry | None = None, *, max_passes: int = 100, scheduler: Scheduler | None = None
) -> int:
    """Runs passes until there is nothing left to do (tests, replays and `linli worker --once`)."""
    registry = registry or build_registry(ctx)
    total = 0
    for _ in range(max_passes):
        done = await run_once(ctx, registry, scheduler=scheduler)
        total += done
        if done == 0:
            break
    return total


async def run_forever(ctx: AppContext, stop: asyncio.Event) -> None:
    registry = build_registry(ctx)
    scheduler = Scheduler.for_context(ctx)
    poll = ctx.settings.worker_poll_seconds
    log_event(log, "worker.started", worker=scheduler.name, poll_seconds=poll,
              scheduler_check_seconds=ctx.settings.scheduler_check_seconds, database=ctx.db.dialect)
    while not stop.is_set():
        try:
            done = await run_once(ctx, registry, scheduler=scheduler)
        except Exception:  # noqa: BLE001 - keep the worker alive; the failed pass is retried
            log.exception("worker pass failed")
            done = 0
        if done == 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll)
            except TimeoutError:
                pass
    log_event(log, "worker.stopped", worker=scheduler.name)
