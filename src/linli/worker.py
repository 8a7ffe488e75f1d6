"""The worker: delivers outbox events to their handlers and runs the periodic jobs.

`linli worker` runs it as its own process (any number of them on PostgreSQL: batches are claimed
with FOR UPDATE SKIP LOCKED); on the embedded default `linli serve` runs it in-process.
"""

from __future__ import annotations

import asyncio
import logging

from linli.context import AppContext
from linli.orders import service as orders
from linli.outbox.service import HandlerRegistry, process_batch

log = logging.getLogger("linli.worker")


def build_registry(ctx: AppContext) -> HandlerRegistry:
    """Every context's event handlers, wired once."""
    registry = HandlerRegistry()
    for register in _registrars():
        register(registry, ctx)
    return registry


def _registrars() -> list:
    from linli.aftersales import handlers as aftersales_handlers  # wire-up: after-sales claims (issue 5)
    from linli.fulfillment import handlers as fulfillment_handlers  # wire-up: fulfillment (issue 5)
    from linli.ledger import handlers as ledger_handlers  # wire-up: commission ledger (issue 4)
    from linli.payments import handlers as payment_handlers
    from linli.payouts import handlers as payout_handlers  # wire-up: withdrawals (issue 4)

    return [
        payment_handlers.register, ledger_handlers.register, payout_handlers.register, fulfillment_handlers.register,
        aftersales_handlers.register,
    ]


async def run_once(ctx: AppContext, registry: HandlerRegistry, *, batch: int = 100) -> int:
    """One pass: expire unpaid orders that are due, remind of (or return) unclaimed parcels, then deliver a
    batch of events. Returns work done."""
    from linli.fulfillment import unclaimed as fulfillment_unclaimed  # wire-up: fulfillment (issue 5)

    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        expired = await orders.expire_due_orders(session=session, now=now)
    async with ctx.db.transaction() as session:
        unclaimed = await fulfillment_unclaimed.handle_unclaimed(session=session, now=now)
        expired += unclaimed.reminded + unclaimed.returned + unclaimed.failed
    async with ctx.db.transaction() as session:
        delivered = await process_batch(session=session, registry=registry, now=now, limit=batch)
    return expired + delivered


async def run_until_idle(ctx: AppContext, registry: HandlerRegistry | None = None, *, max_passes: int = 100) -> int:
    """Runs passes until there is nothing left to do (tests and replays)."""
    registry = registry or build_registry(ctx)
    total = 0
    for _ in range(max_passes):
        done = await run_once(ctx, registry)
        total += done
        if done == 0:
            break
    return total


async def run_forever(ctx: AppContext, stop: asyncio.Event) -> None:
    registry = build_registry(ctx)
    poll = ctx.settings.worker_poll_seconds
    while not stop.is_set():
        try:
            done = await run_once(ctx, registry)
        except Exception:  # noqa: BLE001 - keep the worker alive; the failed pass is retried
            log.exception("worker pass failed")
            done = 0
        if done == 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll)
            except TimeoutError:
                pass
