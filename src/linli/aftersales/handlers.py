"""Outbox handlers of after-sales: the provider's answer for a claim's refund, and picked-up orders.

| topic | emitted by | payload read | what after-sales does |
| --- | --- | --- | --- |
| `payment.refunded` | payments.settle_refund | `refund_id` | the claim whose current refund this is becomes `refunded` (`claim.refunded`) |
| `payment.refund_failed` | payments.settle_refund | `refund_id` | that claim becomes `refund_failed` (`claim.refund_failed`); staff retry |
| `order.completed` | fulfillment (picked up) | `order_id` | the order counts as delivered for claim rates |

Refunds that are not a claim's (expired or double payments) are ignored. Every handler is idempotent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.aftersales import service
from linli.context import AppContext
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry


def register(registry: HandlerRegistry, ctx: AppContext) -> None:  # noqa: ARG001 - the registrar signature
    async def refunded(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await service.apply_refund_result(
            session=session, refund_id=int(event.payload["refund_id"]), succeeded=True, now=now
        )

    async def refund_failed(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await service.apply_refund_result(
            session=session, refund_id=int(event.payload["refund_id"]), succeeded=False, now=now
        )

    async def order_completed(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        await service.record_delivery(session=session, order_id=int(event.payload["order_id"]))

    registry.register("payment.refunded", refunded)
    registry.register("payment.refund_failed", refund_failed)
    registry.register("order.completed", order_completed)
