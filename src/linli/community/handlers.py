"""Outbox handlers of the community context.

| topic | what happens |
| --- | --- |
| `order.paid` | the member is invited into their community's group, once (`invites.invite_after_payment`) |
| `community.group_ready` | a group got its join link: everyone who paid there and was never invited is invited |
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.community import invites
from linli.community.service import GROUP_READY_EVENT
from linli.context import AppContext
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry


def register(registry: HandlerRegistry, ctx: AppContext) -> None:  # noqa: ARG001 - the registrar signature
    async def order_paid(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await invites.invite_after_payment(session=session, order_id=int(event.payload["order_id"]), now=now)

    async def group_ready(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await invites.invite_waiting(session=session, group_id=int(event.payload["group_id"]), now=now)

    registry.register("order.paid", order_paid)
    registry.register(GROUP_READY_EVENT, group_ready)
