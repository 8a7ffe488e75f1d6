"""The payments part of a member's order timeline: money the order could not keep and where its refund stands
(fulfillment.tracking merges it in; see the app wiring). The words are payments' (`linli.payments.notices`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from linli.fulfillment.tracking import TimelineEntry
from linli.orders.models import Order
from linli.payments import notices


async def timeline_entries(*, session: AsyncSession, order: Order) -> list[TimelineEntry]:
    return [
        TimelineEntry(kind=n.kind, at=n.at, title=n.text)
        for n in await notices.order_notices(session=session, order_id=order.id)
    ]
