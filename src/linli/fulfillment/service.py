"""Parcels: made for each paid order, closed when the order is refunded, their pickup codes, how staff,
leaders and the member see them, and the topics fulfillment emits. Other contexts read a parcel through
`find_parcel` and `picked_up_at`.

- A parcel is made for each paid order by the `order.paid` handler (idempotent: order_id is unique) with a
  random 6-digit pickup code unique among its pickup point's open parcels (a collision draws again).
- A whole-order refund (`order.refunded`) closes a parcel not yet collected.

The rest of the context: `waves` (delivery waves and the pick list), `pickup` (核销), `unclaimed` (the
brand's policy and the unclaimed job), `refunds` (staff refund before dispatch, the shared full refund).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.db import insert_unique
from linli.errors import Conflict, InvalidInput, NotFound
from linli.fulfillment.models import (
    PARCEL_ARRIVED,
    PARCEL_CANCELLED,
    PARCEL_IN_TRANSIT,
    PARCEL_PACKED,
    PARCEL_PICKED_UP,
    PARCEL_RETURNED,
    PARCEL_STATUSES,
    PARCEL_WAITING,
    DeliveryWave,
    Parcel,
)
from linli.members import service as members
from linli.orders import service as orders
from linli.orders.models import Order
from linli.pagination import PageParams, fetch_page
from linli.security import mask_name, mask_phone

CODE_DIGITS = 6
CODE_ATTEMPTS = 10
OPEN_PARCEL_STATUSES = (PARCEL_WAITING, PARCEL_PACKED, PARCEL_IN_TRANSIT, PARCEL_ARRIVED)
# A whole-order refund closes every parcel that has not been collected yet (see docs/fulfillment.md).
REFUND_CANCELS = OPEN_PARCEL_STATUSES

PARCEL_ARRIVED_EVENT = "parcel.arrived"
PARCEL_PICKED_UP_EVENT = "parcel.picked_up"
PARCEL_REMINDER_EVENT = "parcel.pickup_reminder"
PARCEL_RETURNED_EVENT = "parcel.returned"
PARCEL_CANCELLED_EVENT = "parcel.cancelled"

PARCEL_STATUS_NAMES = {
    PARCEL_WAITING: "待配送", PARCEL_PACKED: "已打包", PARCEL_IN_TRANSIT: "配送中", PARCEL_ARRIVED: "待提货",
    PARCEL_PICKED_UP: "已提货", PARCEL_RETURNED: "逾期退回", PARCEL_CANCELLED: "已取消",
}


# --- reading: the contract other contexts use -----------------------------------------------------


async def find_parcel(*, session: AsyncSession, order_id: int) -> Parcel | None:
    return await session.scalar(select(Parcel).where(Parcel.order_id == order_id))


async def picked_up_at(*, session: AsyncSession, order_id: int) -> datetime | None:
    """When the member collected the order (the after-sales window counts from here); None if not yet."""
    return await session.scalar(select(Parcel.picked_up_at).where(Parcel.order_id == order_id))


async def wave_communities(*, session: AsyncSession, wave_ids: set[int]) -> dict[int, int]:
    """Each wave's community id, by wave id (a wave is known to people by its pickup point's community)."""
    if not wave_ids:
        return {}
    rows = await session.execute(select(DeliveryWave.id, DeliveryWave.community_id).where(DeliveryWave.id.in_(wave_ids)))
    return {wave_id: community_id for wave_id, community_id in rows.all()}


# --- parcels follow the order (outbox handlers) -------------------------------------------------


def new_pickup_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


async def create_parcel(*, session: AsyncSession, order_id: int, now: datetime) -> Parcel | None:
    """The parcel of a paid order (on `order.paid`); the existing one when replayed; None if it is not paid."""
    existing = await find_parcel(session=session, order_id=order_id)
    if existing is not None:
        return existing
    order = await orders.get_order(session=session, order_id=order_id)
    if order.status != "paid" or order.pickup_point_id is None or order.community_id is None or order.paid_at is None:
        return None  # refunded before the worker got here: nothing to deliver
    for _ in range(CODE_ATTEMPTS):
        code = new_pickup_code()
        parcel = Parcel(
            order_id=order.id, brand_id=order.brand_id, member_id=order.member_id, leader_id=order.leader_id,
            community_id=order.community_id, pickup_point_id=order.pickup_point_id, wave_id=None,
            pickup_code=code, open_code=code, status=PARCEL_WAITING, paid_at=order.paid_at, created_at=now,
            reminders_sent=0,
        )
        if await insert_unique(session, parcel):
            return parcel
        existing = await find_parcel(session=session, order_id=order_id)
        if existing is not None:  # a concurrent delivery of the same event won
            return existing
    raise RuntimeError(f"no free pickup code for order {order_id} after {CODE_ATTEMPTS} draws")


async def cancel_for_refund(*, session: AsyncSession, order_id: int, now: datetime) -> Parcel | None:
    """The order was refunded as a whole (`order.refunded`): a parcel not yet collected is closed."""
    parcel = await session.scalar(select(Parcel).where(Parcel.order_id == order_id).with_for_update())
    if parcel is None or parcel.status not in REFUND_CANCELS:
        return parcel
    parcel.status = PARCEL_CANCELLED
    parcel.open_code = None
    parcel.cancelled_at = now
    parcel.next_action_at = None
    await session.flush()
    return parcel


# --- parcel views: who may see what -------------------------------------------------------------


@dataclass(frozen=True)
class ParcelView:
    """A parcel as staff and leaders see it: the member masked, the order's goods."""

    parcel: Parcel
    order: Order
    member_name: str
    member_phone: str
    bag_no: int | None = None


async def describe_parcels(*, session: AsyncSession, parcels: list[Parcel]) -> list[ParcelView]:
    order_rows = await orders.orders_by_ids(session=session, order_ids={p.order_id for p in parcels})
    member_rows = await members.members_by_ids(session=session, member_ids={p.member_id for p in parcels})
    users = await accounts.users_by_ids(session=session, user_ids={m.user_id for m in member_rows.values()})
    bags = await _bag_numbers(session, wave_ids={p.wave_id for p in parcels if p.wave_id is not None})
    views = []
    for parcel in parcels:
        person = users.get(member_rows[parcel.member_id].user_id)
        views.append(
            ParcelView(
                parcel=parcel, order=order_rows[parcel.order_id],
                member_name=mask_name(person.display_name if person else None),
                member_phone=mask_phone(person.phone if person else None),
                bag_no=bags.get((parcel.wave_id, parcel.member_id)) if parcel.wave_id else None,
            )
        )
    return views


async def _bag_numbers(session: AsyncSession, *, wave_ids: set[int]) -> dict[tuple[int, int], int]:
    """(wave, member) → bag number: members numbered by their first parcel in the wave, cancelled ones
    included, so a number printed on a bag never changes afterwards."""
    if not wave_ids:
        return {}
    rows = await session.execute(
        select(Parcel.wave_id, Parcel.member_id, Parcel.id).where(Parcel.wave_id.in_(wave_ids)).order_by(Parcel.id)
    )
    numbers: dict[tuple[int, int], int] = {}
    next_no: dict[int, int] = {}
    for wave_id, member_id, _ in rows:
        if (wave_id, member_id) not in numbers:
            next_no[wave_id] = next_no.get(wave_id, 0) + 1
            numbers[(wave_id, member_id)] = next_no[wave_id]
    return numbers


def _parcel_status_filter(status: str | None) -> str | None:
    if status is not None and status not in PARCEL_STATUSES:
        raise InvalidInput("包裹状态无效", code="parcel_status_filter_invalid")
    return status


async def list_parcels(
    *,
    session: AsyncSession,
    brand_id: int,
    community_id: int | None,
    wave_id: int | None,
    status: str | None,
    params: PageParams,
) -> tuple[list[ParcelView], int]:
    """Parcels of a brand (staff) or, with `community_id`, of one pickup point (its leader)."""
    query = select(Parcel).where(Parcel.brand_id == brand_id).order_by(Parcel.id.desc())
    if community_id is not None:
        query = query.where(Parcel.community_id == community_id)
    if wave_id is not None:
        query = query.where(Parcel.wave_id == wave_id)
    if _parcel_status_filter(status) is not None:
        query = query.where(Parcel.status == status)
    rows, total = await fetch_page(session, query, params)
    return await describe_parcels(session=session, parcels=rows), total


# --- the member's own parcel --------------------------------------------------------------------


async def member_parcel(*, session: AsyncSession, user_id: int, order_id: int) -> Parcel:
    """The caller's order's parcel (someone else's order is a 404, an unpaid one has none yet)."""
    await orders.get_own_order(session=session, user_id=user_id, order_id=order_id)
    parcel = await find_parcel(session=session, order_id=order_id)
    if parcel is None:
        raise NotFound("订单支付后才有提货码", code="parcel_not_found")
    return parcel


async def member_open_code(*, session: AsyncSession, user_id: int, order_id: int) -> str:
    parcel = await member_parcel(session=session, user_id=user_id, order_id=order_id)
    if parcel.open_code is None:
        raise Conflict(f"该订单{PARCEL_STATUS_NAMES[parcel.status]}，提货码已失效", code="pickup_code_closed")
    return parcel.open_code
