"""Delivery waves: cutting a wave for one pickup point, moving it forward with its parcels, the pick list.

- A wave is cut for one pickup point at a cut-off that has passed: every waiting parcel of that point paid
  by the cut-off joins it in one guarded UPDATE (`wave_id IS NULL`), so two concurrent cuts never take
  the same parcel; a cut that finds nothing is refused and writes nothing.
- Waves move open → packed → in_transit → arrived, one step at a time, and move their parcels with them;
  an arrived parcel gets its first unclaimed check from the brand's policy (`unclaimed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.models import Community, PickupPoint
from linli.errors import Conflict, InvalidInput, NotFound
from linli.fulfillment.models import (
    PARCEL_ARRIVED,
    PARCEL_CANCELLED,
    PARCEL_IN_TRANSIT,
    PARCEL_PACKED,
    PARCEL_WAITING,
    WAVE_ARRIVED,
    WAVE_IN_TRANSIT,
    WAVE_OPEN,
    WAVE_PACKED,
    WAVE_STATUSES,
    DeliveryWave,
    Parcel,
)
from linli.fulfillment.service import PARCEL_ARRIVED_EVENT, ParcelView, describe_parcels
from linli.fulfillment.unclaimed import first_action_at, get_policy
from linli.leaders import service as leaders
from linli.leaders.models import Leader
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page

# wave step: (status it must be in, parcel status it moves from, parcel status it moves to, timestamp column)
WAVE_STEPS: dict[str, tuple[str, str, str, str]] = {
    WAVE_PACKED: (WAVE_OPEN, PARCEL_WAITING, PARCEL_PACKED, "packed_at"),
    WAVE_IN_TRANSIT: (WAVE_PACKED, PARCEL_PACKED, PARCEL_IN_TRANSIT, "shipped_at"),
    WAVE_ARRIVED: (WAVE_IN_TRANSIT, PARCEL_IN_TRANSIT, PARCEL_ARRIVED, "arrived_at"),
}
WAVE_STATUS_NAMES = {WAVE_OPEN: "待打包", WAVE_PACKED: "已打包", WAVE_IN_TRANSIT: "配送中", WAVE_ARRIVED: "已到自提点"}


# --- delivery waves -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointInfo:
    community: Community
    point: PickupPoint


async def point_of(*, session: AsyncSession, brand_id: int, community_id: int) -> PointInfo:
    community = await brands.get_community(session=session, brand_id=brand_id, community_id=community_id)
    return PointInfo(community=community, point=await brands.get_pickup_point(session=session, community_id=community.id))


# A wave is a day's delivery: its cut-off and expected arrival stay within this span (bounds every date too).
MAX_WAVE_SPAN = timedelta(days=30)

def _aware(value: datetime, *, label: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(f"{label}须带时区（例如 +08:00）", code="datetime_timezone_required")
    return value


async def create_wave(
    *,
    session: AsyncSession,
    brand_id: int,
    community_id: int,
    cutoff_at: datetime,
    arrive_after: datetime,
    actor_user_id: int,
    now: datetime,
) -> DeliveryWave:
    """Cuts a wave: every waiting parcel of the point paid by the cut-off joins it, atomically."""
    cutoff_at = _aware(cutoff_at, label="截单时间")
    arrive_after = _aware(arrive_after, label="预计到达时间")
    if cutoff_at > now:
        raise InvalidInput("截单时间未到，不能提前截单", code="cutoff_in_future")
    if cutoff_at < now - MAX_WAVE_SPAN:
        raise InvalidInput(f"截单时间不能早于 {MAX_WAVE_SPAN.days} 天前", code="cutoff_too_old")
    if not cutoff_at < arrive_after <= cutoff_at + MAX_WAVE_SPAN:
        raise InvalidInput(
            f"预计到达时间须晚于截单时间，且在截单后 {MAX_WAVE_SPAN.days} 天内", code="arrive_after_invalid"
        )
    where = await point_of(session=session, brand_id=brand_id, community_id=community_id)
    wave = DeliveryWave(
        brand_id=brand_id, pickup_point_id=where.point.id, community_id=where.community.id, cutoff_at=cutoff_at,
        arrive_after=arrive_after, status=WAVE_OPEN, created_at=now, created_by_user_id=actor_user_id,
    )
    session.add(wave)
    await session.flush()
    # `wave_id IS NULL` guards the claim: a concurrent cut waits on the rows, re-checks and skips them.
    joined = await session.execute(
        update(Parcel)
        .where(
            Parcel.pickup_point_id == where.point.id,
            Parcel.status == PARCEL_WAITING,
            Parcel.wave_id.is_(None),
            Parcel.paid_at <= cutoff_at,
        )
        .values(wave_id=wave.id)
        .execution_options(synchronize_session=False)
    )
    if not joined.rowcount:
        raise Conflict("该自提点在截单时间前没有待配送的订单", code="wave_empty")
    return wave


async def get_wave(*, session: AsyncSession, brand_id: int, wave_id: int, for_update: bool = False) -> DeliveryWave:
    wave = await session.get(DeliveryWave, wave_id, with_for_update=for_update, populate_existing=for_update)
    if wave is None or wave.brand_id != brand_id:
        raise NotFound("配送批次不存在", code="wave_not_found")
    return wave


def _require_leaders_wave(wave: DeliveryWave, leader: Leader) -> None:
    if wave.community_id != leader.community_id:
        raise NotFound("配送批次不存在", code="wave_not_found")  # another point's wave: not even its existence


async def leader_wave(*, session: AsyncSession, brand_id: int, user_id: int, wave_id: int) -> DeliveryWave:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id)
    wave = await get_wave(session=session, brand_id=brand_id, wave_id=wave_id)
    _require_leaders_wave(wave, leader)
    return wave


async def advance_wave(
    *, session: AsyncSession, brand_id: int, wave_id: int, to: str, now: datetime, leader: Leader | None = None
) -> DeliveryWave:
    """One step forward (packed, in_transit, arrived) with its parcels; anything else is a 409.

    `leader` set: the leader of the wave's point confirms arrival (the only step a leader may take).
    """
    if to not in WAVE_STEPS:
        raise InvalidInput("批次状态只能变为 packed、in_transit 或 arrived", code="wave_status_invalid")
    wave = await get_wave(session=session, brand_id=brand_id, wave_id=wave_id, for_update=True)
    if leader is not None:
        _require_leaders_wave(wave, leader)
    required, parcel_from, parcel_to, stamp = WAVE_STEPS[to]
    if wave.status != required:
        raise Conflict(
            f"批次当前为「{WAVE_STATUS_NAMES[wave.status]}」，不能变为「{WAVE_STATUS_NAMES[to]}」",
            code="wave_status_conflict", details={"status": wave.status, "to": to},
        )
    wave.status = to
    setattr(wave, stamp, now)
    values: dict = {"status": parcel_to, stamp: now}
    if to == WAVE_ARRIVED:
        policy = await get_policy(session=session, brand_id=brand_id)
        values["next_action_at"] = first_action_at(policy, arrived_at=now)
    moved = await session.execute(
        update(Parcel)
        .where(Parcel.wave_id == wave.id, Parcel.status == parcel_from)
        .values(**values)
        .returning(Parcel.id, Parcel.order_id, Parcel.member_id)
        .execution_options(synchronize_session=False)
    )
    if to == WAVE_ARRIVED:
        for parcel_id, order_id, member_id in moved.all():
            emit(
                session, topic=PARCEL_ARRIVED_EVENT,
                payload={"parcel_id": parcel_id, "order_id": order_id, "member_id": member_id, "wave_id": wave.id,
                         "brand_id": brand_id},
                now=now,
            )
    await session.flush()
    return wave


async def list_waves(
    *, session: AsyncSession, brand_id: int, community_id: int | None, status: str | None, params: PageParams
) -> tuple[list[DeliveryWave], int]:
    if status is not None and status not in WAVE_STATUSES:
        raise InvalidInput("批次状态无效", code="wave_status_filter_invalid")
    query = select(DeliveryWave).where(DeliveryWave.brand_id == brand_id).order_by(DeliveryWave.id.desc())
    if community_id is not None:
        query = query.where(DeliveryWave.community_id == community_id)
    if status is not None:
        query = query.where(DeliveryWave.status == status)
    return await fetch_page(session, query, params)


async def wave_parcel_counts(*, session: AsyncSession, wave_ids: set[int]) -> dict[int, dict[str, int]]:
    """Per wave: how many of its parcels are in each status."""
    counts: dict[int, dict[str, int]] = {w: {} for w in wave_ids}
    if not wave_ids:
        return counts
    rows = await session.execute(select(Parcel.wave_id, Parcel.status).where(Parcel.wave_id.in_(wave_ids)))
    for wave_id, status in rows:
        counts[wave_id][status] = counts[wave_id].get(status, 0) + 1
    return counts


# --- the pick list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductTotal:
    product_name: str
    sku_name: str
    quantity: int
    orders: int


@dataclass
class Bag:
    bag_no: int
    member_name: str
    member_phone: str
    items: list[ParcelView] = field(default_factory=list)


@dataclass(frozen=True)
class PickList:
    wave: DeliveryWave
    where: PointInfo
    products: list[ProductTotal]
    bags: list[Bag]
    cancelled: int


async def pick_list(*, session: AsyncSession, wave: DeliveryWave) -> PickList:
    """What to pack for one wave (one pickup point): product totals and one bag per member.

    Cancelled parcels (refunded before they left) are left out and counted, so the packer knows.
    """
    parcels = list(await session.scalars(select(Parcel).where(Parcel.wave_id == wave.id).order_by(Parcel.id)))
    live = [p for p in parcels if p.status != PARCEL_CANCELLED]
    views = await describe_parcels(session=session, parcels=live)
    totals: dict[tuple[int, str, str], list[int]] = {}
    bags: dict[int, Bag] = {}
    for view in views:
        key = (view.order.sku_id, view.order.product_name, view.order.sku_name)
        total = totals.setdefault(key, [0, 0])
        total[0] += view.order.quantity
        total[1] += 1
        assert view.bag_no is not None
        bag = bags.setdefault(view.bag_no, Bag(bag_no=view.bag_no, member_name=view.member_name, member_phone=view.member_phone))
        bag.items.append(view)
    products = sorted(
        (ProductTotal(product_name=p, sku_name=s, quantity=q, orders=n) for (_, p, s), (q, n) in totals.items()),
        key=lambda t: (t.product_name, t.sku_name),
    )
    where = await point_of(session=session, brand_id=wave.brand_id, community_id=wave.community_id)
    return PickList(
        wave=wave, where=where, products=products, bags=[bags[n] for n in sorted(bags)],
        cancelled=len(parcels) - len(live),
    )
