"""Order tracking: a member's order timeline, from placement to the pickup point and after-sales.

The timeline is built from the order's status history (orders), its parcel and wave (fulfillment) and
any registered source: another context adds its own entries with `register_timeline_source` (after-sales
adds its claims that way), so fulfillment never reads their tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.models import PickupPoint
from linli.fulfillment import service, waves
from linli.fulfillment.models import DeliveryWave, Parcel
from linli.orders import service as orders
from linli.orders.models import Order
from linli.timefmt import format_local


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # placed, paid, packed, in_transit, arrived, picked_up, returned, cancelled, refunded, … (sources add theirs)
    at: datetime
    title: str
    description: str | None = None


# A source gets the session and the member's own order and returns entries to merge in.
TimelineSource = Callable[..., Awaitable[list[TimelineEntry]]]  # async def source(*, session, order) -> [...]
_SOURCES: list[TimelineSource] = []


def register_timeline_source(source: TimelineSource) -> None:
    """Adds entries of another context (e.g. after-sales claims) to every order timeline."""
    if source not in _SOURCES:
        _SOURCES.append(source)


@dataclass(frozen=True)
class Timeline:
    order: Order
    parcel: Parcel | None
    wave: DeliveryWave | None
    pickup_point: PickupPoint | None
    entries: list[TimelineEntry]

    @property
    def stage(self) -> str:
        """Where the order is now: the parcel's status once paid, else the order's."""
        return self.parcel.status if self.parcel is not None else self.order.status


ORDER_ENTRIES = {
    "pending_payment": ("placed", "已下单"),
    "paid": ("paid", "已支付"),
    "refunded": ("refunded", "已退款"),
    "expired": ("expired", "超时未支付，已关闭"),
    "cancelled": ("cancelled", "已取消"),
}

# Why a move happened, where the member should know: a late payment that found its units still free.
REASON_TEXTS = {"late_payment_rereserved": "付款晚于订单时限，名额仍在，订单已为您恢复"}


def _point_text(point: PickupPoint) -> str:
    return f"{point.name}（{point.address}），营业时间 {point.opening_hours}"


async def order_timeline(*, session: AsyncSession, user_id: int, order_id: int) -> Timeline:
    """The caller's own order's timeline, oldest first (someone else's order is a 404)."""
    order = await orders.get_own_order(session=session, user_id=user_id, order_id=order_id)
    entries: list[TimelineEntry] = []
    for change in await orders.status_history(session=session, order_id=order.id):
        kind, title = ORDER_ENTRIES.get(change.to_status, (change.to_status, change.to_status))
        description = REASON_TEXTS.get(change.reason or "")
        entries.append(TimelineEntry(kind=kind, at=change.changed_at, title=title, description=description))
    parcel = await service.find_parcel(session=session, order_id=order.id)
    wave = point = None
    if parcel is not None:
        point = await brands.get_pickup_point(session=session, community_id=parcel.community_id)
        if parcel.wave_id is not None:
            wave = await waves.get_wave(session=session, brand_id=order.brand_id, wave_id=parcel.wave_id)
        timezone = (await brands.get_brand(session=session, brand_id=order.brand_id)).timezone
        entries.extend(_parcel_entries(parcel, wave, point, timezone=timezone))
    for source in _SOURCES:
        entries.extend(await source(session=session, order=order))
    entries.sort(key=lambda e: e.at)  # stable: same-instant entries keep their natural order
    return Timeline(order=order, parcel=parcel, wave=wave, pickup_point=point, entries=entries)


def _parcel_entries(parcel: Parcel, wave: DeliveryWave | None, point: PickupPoint, *, timezone: str) -> list[TimelineEntry]:
    entries = []
    if parcel.packed_at:
        entries.append(TimelineEntry(kind="packed", at=parcel.packed_at, title="已打包"))
    if parcel.shipped_at:
        expected = f"，预计 {format_local(wave.arrive_after, timezone)} 后到达" if wave is not None else ""
        entries.append(TimelineEntry(kind="in_transit", at=parcel.shipped_at, title="配送中", description=f"发往{point.name}{expected}"))
    if parcel.arrived_at:
        entries.append(
            TimelineEntry(kind="arrived", at=parcel.arrived_at, title="已到达自提点，请凭提货码提货", description=_point_text(point))
        )
    if parcel.picked_up_at:
        entries.append(TimelineEntry(kind="picked_up", at=parcel.picked_up_at, title="已提货", description=point.name))
    if parcel.returned_at:
        entries.append(TimelineEntry(kind="returned", at=parcel.returned_at, title="逾期未提货，已退回并退款"))
    if parcel.cancelled_at:
        entries.append(TimelineEntry(kind="parcel_cancelled", at=parcel.cancelled_at, title="订单已退款，取消配送"))
    return entries
