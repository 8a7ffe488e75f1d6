"""Outbox handlers of coupons.

| topic | emitted by | payload read | what coupons do |
| --- | --- | --- | --- |
| `member.bound` | attribution.enter_with_code (a first binding) | `member_id`, `brand_id` | each active `member_bound` rule issues its coupon once |

Idempotent: a redelivered event meets the coupon its rule already issued (source key `rule:{id}`). A coupon's
release when its order closes is no event of its own: `orders` calls `service.release_for_order` in the very
transaction that cancels, expires or refunds the order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.context import AppContext
from linli.coupons import issuing
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry


def register(registry: HandlerRegistry, ctx: AppContext) -> None:  # noqa: ARG001 - the registrar signature
    async def member_bound(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await issuing.on_member_bound(
            session=session, brand_id=int(event.payload["brand_id"]), member_id=int(event.payload["member_id"]), now=now
        )

    registry.register("member.bound", member_bound)
