"""Outbox handlers of the payments context: the provider is asked for refunds here, in the worker.

`refund.requested` is written in the transaction that decided the refund; this handler asks the
provider (with the refund's out_refund_no, so asking twice never refunds twice) and records its
answer. A transient provider failure raises: the outbox retries the event later with a growing delay.

`payment.refunded` / `payment.refund_failed`: when the refund was the automatic one of a payment the order
could not keep (late and sold out, twice paid, wrong amount), the member's inbox hears how it ended
(`notices.tell_refund_result`, once per refund).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.context import AppContext
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry
from linli.payments import notices, service
from linli.payments.models import Refund
from linli.payments.providers import REFUND_PENDING_STATUS

log = logging.getLogger("linli.payments.handlers")


def register(registry: HandlerRegistry, ctx: AppContext) -> None:
    async def refund_requested(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        refund = await session.scalar(
            select(Refund).where(Refund.id == int(event.payload["refund_id"])).with_for_update()
        )
        if refund is None or refund.status != REFUND_PENDING_STATUS:
            return  # already answered (a notification got there first, or this event is a retry)
        payment = await service.get_payment(session=session, payment_id=refund.payment_id)
        provider = ctx.payments.get(payment.provider)
        if provider is None:
            raise RuntimeError(f"payment provider {payment.provider!r} is not configured; refund {refund.id} waits")
        status = await provider.refund(refund=refund, payment=payment)
        await service.settle_refund(session=session, refund=refund, status=status, now=now)
        log.info("refund %s (%s fen) for payment %s: %s", refund.out_refund_no, refund.amount_fen, payment.id, status)

    async def refund_answered(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await notices.tell_refund_result(session=session, refund_id=int(event.payload["refund_id"]), now=now)

    registry.register("refund.requested", refund_requested)
    registry.register("payment.refunded", refund_answered)
    registry.register("payment.refund_failed", refund_answered)
