"""Outbox handler of the payouts context: the provider is asked to transfer here, in the worker.

`withdrawal.approved` is written in the transaction that approved the withdrawal. The handler asks the
provider under the withdrawal's stable out numbers (asking twice never pays twice) and records the answer
(`service.pay_out`). A transient provider failure raises: the outbox retries later with a growing delay.
A "pending" answer is settled by the provider's notification or by `linli payouts-sync`.

Events emitted for other contexts (payload: withdrawal_id, brand_id, leader_id, amount_fen, net_fen, status):
`withdrawal.approved`, `withdrawal.rejected`, `withdrawal.paid`, `withdrawal.failed`, `withdrawal.returned`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.context import AppContext
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry
from linli.payouts import service

log = logging.getLogger("linli.payouts.handlers")


def register(registry: HandlerRegistry, ctx: AppContext) -> None:
    async def withdrawal_approved(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        withdrawal_id = int(event.payload["withdrawal_id"])
        outcome = await service.pay_out(session=session, providers=ctx.payouts, withdrawal_id=withdrawal_id, now=now)
        log.info("withdrawal %s payout: %s", withdrawal_id, outcome)

    registry.register(service.WITHDRAWAL_APPROVED, withdrawal_approved)
