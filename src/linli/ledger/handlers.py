"""Outbox handlers of the ledger: commission follows the order's life.

Event contracts consumed (payloads are JSON objects; extra keys are ignored):

| topic | emitted by | payload the ledger reads | what the ledger does |
| --- | --- | --- | --- |
| `order.paid` | orders.apply_payment | `order_id` | accrue the commission as pending (`accrual:order:{id}`) |
| `order.refunded` | orders.mark_refunded (whole order) | `order_id` | claw back whatever is left (`clawback:order:{id}:full`) |
| `order.completed` | fulfillment (picked up, or otherwise done) | `order_id`, `completed_at` (ISO 8601 with offset) | record completion; available from `eligible_at` |

Partial refunds are not an event here: after-sales calls `accrual.clawback_for_refund` in the transaction
that records the refund. Every handler is idempotent (the outbox may deliver an event again) and runs in
the worker's transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.context import AppContext
from linli.ledger import accrual
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry

ORDER_COMPLETED = "order.completed"


def order_completed_payload(*, order_id: int, completed_at: datetime) -> dict:
    """The `order.completed` payload the ledger expects (for the emitter's convenience and tests)."""
    if completed_at.tzinfo is None:
        raise ValueError("completed_at must be timezone-aware")
    return {"order_id": order_id, "completed_at": completed_at.isoformat()}


def _completed_at(event: OutboxEvent) -> datetime:
    raw = event.payload.get("completed_at")
    if not raw:
        return event.created_at  # an emitter that left it out: the event's own time
    value = datetime.fromisoformat(str(raw))
    if value.tzinfo is None:
        raise ValueError("order.completed completed_at must carry a UTC offset")
    return value


def register(registry: HandlerRegistry, ctx: AppContext) -> None:  # noqa: ARG001 - the registrar signature
    async def order_paid(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await accrual.accrue_for_order(session=session, order_id=int(event.payload["order_id"]), now=now)

    async def order_refunded(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await accrual.clawback_full(session=session, order_id=int(event.payload["order_id"]), now=now)

    async def order_completed(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await accrual.record_completion(
            session=session, order_id=int(event.payload["order_id"]), completed_at=_completed_at(event), now=now
        )

    registry.register("order.paid", order_paid)
    registry.register("order.refunded", order_refunded)
    registry.register(ORDER_COMPLETED, order_completed)
