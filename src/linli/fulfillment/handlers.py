"""Outbox handlers of fulfillment: parcels follow the order, and members hear about their parcel.

| topic | what happens |
| --- | --- |
| `order.paid` | the order's parcel is made (waiting, with its pickup code) |
| `order.refunded` | a parcel not yet collected is cancelled |
| `parcel.arrived` | the member's inbox: arrived, where, when open, the pickup code |
| `parcel.pickup_reminder` | the member's inbox: still waiting at the pickup point (and, if unclaimed parcels go back, by when, in the brand's time) |
| `parcel.returned` | the member's inbox: returned and refunded |
| `parcel.cancelled` | the member's inbox: refunded by the brand before it left, with the brand's reason |
| `parcel.picked_up` | the member's inbox: collected (so a pickup they did not make is noticed) |

Every message has a dedupe key per parcel (and reminder number): a redelivered event notifies once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.context import AppContext
from linli.fulfillment import service
from linli.fulfillment.models import Parcel
from linli.notifications import service as notifications
from linli.orders import service as orders
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry
from linli.timefmt import format_local


def _goods(order) -> str:  # noqa: ANN001
    return f"{order.product_name} {order.sku_name} ×{order.quantity}"


async def _tell(session: AsyncSession, *, parcel_id: int, kind: str, key: str, title: str, body, now: datetime) -> None:  # noqa: ANN001
    parcel = await session.get(Parcel, parcel_id)
    if parcel is None:
        return
    order = await orders.get_order(session=session, order_id=parcel.order_id)
    point = await brands.get_pickup_point(session=session, community_id=parcel.community_id)
    await notifications.notify(
        session=session, user_id=order.user_id, brand_id=order.brand_id, order_id=order.id, kind=kind, title=title,
        body=body(parcel, order, point), dedupe_key=key, now=now,
    )


def register(registry: HandlerRegistry, ctx: AppContext) -> None:  # noqa: ARG001 - the registrar signature
    async def order_paid(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await service.create_parcel(session=session, order_id=int(event.payload["order_id"]), now=now)

    async def order_refunded(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await service.cancel_for_refund(session=session, order_id=int(event.payload["order_id"]), now=now)

    async def arrived(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        parcel_id = int(event.payload["parcel_id"])
        await _tell(
            session, parcel_id=parcel_id, kind="parcel_arrived", key=f"parcel:{parcel_id}:arrived", title="您的订单已到自提点",
            body=lambda p, o, pt: (
                f"{_goods(o)} 已到达{pt.name}（{pt.address}），营业时间 {pt.opening_hours}。提货码 {p.pickup_code}，请凭码提货。"
            ),
            now=now,
        )

    async def reminder(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        parcel_id = int(event.payload["parcel_id"])
        number = int(event.payload["reminder_no"])
        return_at = event.payload.get("return_at")
        tail = ""
        if return_at:
            brand = await brands.get_brand(session=session, brand_id=int(event.payload["brand_id"]))
            tail = f"，{format_local(datetime.fromisoformat(str(return_at)), brand.timezone)} 前未提货将退货退款"
        await _tell(
            session, parcel_id=parcel_id, kind="pickup_reminder", key=f"parcel:{parcel_id}:reminder:{number}",
            title="提货提醒",
            body=lambda p, o, pt: (
                f"{_goods(o)} 还在{pt.name}（{pt.address}）等您，营业时间 {pt.opening_hours}，提货码 {p.pickup_code}{tail}。"
            ),
            now=now,
        )

    async def returned(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        parcel_id = int(event.payload["parcel_id"])
        await _tell(
            session, parcel_id=parcel_id, kind="parcel_returned", key=f"parcel:{parcel_id}:returned", title="逾期未提货，已退款",
            body=lambda p, o, pt: f"{_goods(o)} 超过提货期限未领取，已退回并原路退款。",
            now=now,
        )

    async def cancelled(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        parcel_id = int(event.payload["parcel_id"])
        reason = str(event.payload.get("reason") or "")
        await _tell(
            session, parcel_id=parcel_id, kind="parcel_cancelled", key=f"parcel:{parcel_id}:cancelled", title="订单已退款",
            body=lambda p, o, pt: f"{_goods(o)} 已取消配送，货款将原路退回。原因：{reason}",
            now=now,
        )

    async def picked_up(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        parcel_id = int(event.payload["parcel_id"])
        await _tell(
            session, parcel_id=parcel_id, kind="parcel_picked_up", key=f"parcel:{parcel_id}:picked_up", title="已提货",
            body=lambda p, o, pt: f"{_goods(o)} 已在{pt.name}提货。如非本人操作，请联系品牌客服。",
            now=now,
        )

    registry.register("order.paid", order_paid)
    registry.register("order.refunded", order_refunded)
    registry.register(service.PARCEL_ARRIVED_EVENT, arrived)
    registry.register(service.PARCEL_REMINDER_EVENT, reminder)
    registry.register(service.PARCEL_RETURNED_EVENT, returned)
    registry.register(service.PARCEL_PICKED_UP_EVENT, picked_up)
    registry.register(service.PARCEL_CANCELLED_EVENT, cancelled)
