"""Outbox handlers of the dashboards: the roll-ups follow the money.

| topic | emitted by | payload read | what the dashboards do |
| --- | --- | --- | --- |
| `order.paid` | orders.apply_payment (a late payment too) | `order_id` | count the order on its local day and month |
| `payment.refunded` | payments.settle_refund (whole or partial, after-sales included) | `refund_id`, `order_id`, `amount_fen` | take the refund off its order's day |
| `claim.filed` | aftersales.file_claim | `claim_id`, `order_id` | count the claim on its order's paid day (product, leader) |
| `live.session_ended` | live.sessions.end_session | `id` | write the session's funnel (views, entries, orders placed) |

All idempotent (dashboards.rollups, dashboards.kpi_rollups); they run in the worker's transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.context import AppContext
from linli.dashboards import kpi_rollups, rollups
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry


def register(registry: HandlerRegistry, ctx: AppContext) -> None:  # noqa: ARG001 - the registrar signature
    async def order_paid(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        await rollups.record_payment(session=session, order_id=int(event.payload["order_id"]))

    async def payment_refunded(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        payload = event.payload
        await rollups.record_refund(
            session=session, refund_id=int(payload["refund_id"]), order_id=int(payload["order_id"]),
            amount_fen=int(payload["amount_fen"]),
        )

    async def claim_filed(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        payload = event.payload
        await kpi_rollups.record_claim(session=session, claim_id=int(payload["claim_id"]), order_id=int(payload["order_id"]))

    async def session_ended(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        await kpi_rollups.record_session_end(session=session, session_id=int(event.payload["id"]))

    registry.register("order.paid", order_paid)
    registry.register("payment.refunded", payment_refunded)
    registry.register("claim.filed", claim_filed)
    registry.register("live.session_ended", session_ended)
