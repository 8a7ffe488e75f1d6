"""Fulfillment rules: parcels, delivery waves, pickup (核销), unclaimed parcels. Other contexts read a
parcel through `find_parcel` and `picked_up_at`.

- A parcel is made for each paid order by the `order.paid` handler (idempotent: order_id is unique) with a
  random 6-digit pickup code unique among its pickup point's open parcels (a collision draws again).
- A wave is cut for one pickup point at a cut-off that has passed: every waiting parcel of that point paid
  by the cut-off joins it in one guarded UPDATE (`wave_id IS NULL`), so two concurrent cuts never take
  the same parcel; a cut that finds nothing is refused and writes nothing.
- Waves move open → packed → in_transit → arrived, one step at a time, and move their parcels with them.
- Only the active leader of the parcel's pickup point verifies a pickup; the UPDATE is guarded on
  `status = 'arrived'`, so two verifications of one code verify it once. A pickup emits `order.completed`.
- Brand staff refund a paid order in full while its parcel is still in the warehouse (waiting or packed);
  once it is on its way, after-sales takes over. The unclaimed return and the staff refund share
  `_refund_in_full` (payments.request_refund + orders.mark_refunded).

Lock order: parcel, then payment, then order (the unclaimed return, the staff refund), the same as payments
(payment → order).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.brands.models import Community, PickupPoint
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
    UNCLAIMED_ACTIONS,
    UNCLAIMED_KEEP_WAITING,
    UNCLAIMED_RETURN_REFUND,
    WAVE_ARRIVED,
    WAVE_IN_TRANSIT,
    WAVE_OPEN,
    WAVE_PACKED,
    WAVE_STATUSES,
    DeliveryWave,
    FulfillmentPolicy,
    Parcel,
    StaffRefund,
)
from linli.leaders import service as leaders
from linli.leaders.models import Leader
from linli.ledger.handlers import ORDER_COMPLETED, order_completed_payload
from linli.members import service as members
from linli.orders import service as orders
from linli.orders.models import Order
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page
from linli.payments import service as payments
from linli.payments.models import Refund
from linli.security import mask_name, mask_phone

log = logging.getLogger("linli.fulfillment")

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

# wave step: (status it must be in, parcel status it moves from, parcel status it moves to, timestamp column)
WAVE_STEPS: dict[str, tuple[str, str, str, str]] = {
    WAVE_PACKED: (WAVE_OPEN, PARCEL_WAITING, PARCEL_PACKED, "packed_at"),
    WAVE_IN_TRANSIT: (WAVE_PACKED, PARCEL_PACKED, PARCEL_IN_TRANSIT, "shipped_at"),
    WAVE_ARRIVED: (WAVE_IN_TRANSIT, PARCEL_IN_TRANSIT, PARCEL_ARRIVED, "arrived_at"),
}
WAVE_STATUS_NAMES = {WAVE_OPEN: "待打包", WAVE_PACKED: "已打包", WAVE_IN_TRANSIT: "配送中", WAVE_ARRIVED: "已到自提点"}
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


# --- the brand's policy for unclaimed parcels ---------------------------------------------------


@dataclass(frozen=True)
class Policy:
    remind_after_hours: int
    remind_every_hours: int
    max_reminders: int
    unclaimed_action: str
    unclaimed_after_days: int
    updated_at: datetime | None = None
    updated_by_user_id: int | None = None


DEFAULT_POLICY = Policy(
    remind_after_hours=24, remind_every_hours=24, max_reminders=2, unclaimed_action=UNCLAIMED_KEEP_WAITING,
    unclaimed_after_days=7,
)
MAX_HOURS = 24 * 30
MAX_REMINDERS = 10
MAX_DAYS = 60


def _policy_of(row: FulfillmentPolicy) -> Policy:
    return Policy(
        remind_after_hours=row.remind_after_hours, remind_every_hours=row.remind_every_hours,
        max_reminders=row.max_reminders, unclaimed_action=row.unclaimed_action,
        unclaimed_after_days=row.unclaimed_after_days, updated_at=row.updated_at,
        updated_by_user_id=row.updated_by_user_id,
    )


async def get_policy(*, session: AsyncSession, brand_id: int) -> Policy:
    row = await session.get(FulfillmentPolicy, brand_id)
    return DEFAULT_POLICY if row is None else _policy_of(row)


async def update_policy(
    *,
    session: AsyncSession,
    brand_id: int,
    remind_after_hours: int,
    remind_every_hours: int,
    max_reminders: int,
    unclaimed_action: str,
    unclaimed_after_days: int,
    actor_user_id: int,
    now: datetime,
) -> Policy:
    """Replaces the policy; arrived parcels follow the new one from their next check on."""
    if not 1 <= remind_after_hours <= MAX_HOURS or not 1 <= remind_every_hours <= MAX_HOURS:
        raise InvalidInput(f"提醒间隔须在 1 到 {MAX_HOURS} 小时之间", code="remind_hours_invalid")
    if not 0 <= max_reminders <= MAX_REMINDERS:
        raise InvalidInput(f"提醒次数须在 0 到 {MAX_REMINDERS} 次之间", code="max_reminders_invalid")
    if unclaimed_action not in UNCLAIMED_ACTIONS:
        raise InvalidInput("逾期处理只能是 keep_waiting 或 return_refund", code="unclaimed_action_invalid")
    if not 1 <= unclaimed_after_days <= MAX_DAYS:
        raise InvalidInput(f"逾期天数须在 1 到 {MAX_DAYS} 天之间", code="unclaimed_days_invalid")
    await brands.get_brand(session=session, brand_id=brand_id)
    values = dict(
        remind_after_hours=remind_after_hours, remind_every_hours=remind_every_hours, max_reminders=max_reminders,
        unclaimed_action=unclaimed_action, unclaimed_after_days=unclaimed_after_days, updated_at=now,
        updated_by_user_id=actor_user_id,
    )
    row = await session.get(FulfillmentPolicy, brand_id, with_for_update=True)
    if row is None:
        row = FulfillmentPolicy(brand_id=brand_id, **values)
        if await insert_unique(session, row):
            return _policy_of(row)
        # Another staff member created the row a moment ago: ours is the later change.
        row = await session.get(FulfillmentPolicy, brand_id, with_for_update=True, populate_existing=True)
        assert row is not None
    for key, value in values.items():
        setattr(row, key, value)
    await session.flush()
    return _policy_of(row)


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


# --- delivery waves -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointInfo:
    community: Community
    point: PickupPoint


async def point_of(*, session: AsyncSession, brand_id: int, community_id: int) -> PointInfo:
    community = await brands.get_community(session=session, brand_id=brand_id, community_id=community_id)
    return PointInfo(community=community, point=await brands.get_pickup_point(session=session, community_id=community.id))


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
    if arrive_after <= cutoff_at:
        raise InvalidInput("预计到达时间须晚于截单时间", code="arrive_after_invalid")
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
        values["next_action_at"] = _first_action_at(policy, arrived_at=now)
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


# --- pickup (核销) --------------------------------------------------------------------------------


def normalize_code(raw: str) -> str:
    code = raw.strip()
    if len(code) != CODE_DIGITS or not all("0" <= ch <= "9" for ch in code):
        raise InvalidInput("提货码为 6 位数字", code="pickup_code_malformed")
    return code


async def _parcel_by_code(session: AsyncSession, *, pickup_point_id: int, code: str) -> Parcel:
    """The open parcel with this code at this point, else the latest closed one (to say why), else a 404."""
    parcel = await session.scalar(
        select(Parcel).where(Parcel.pickup_point_id == pickup_point_id, Parcel.open_code == code)
    )
    if parcel is None:
        parcel = await session.scalar(
            select(Parcel)
            .where(Parcel.pickup_point_id == pickup_point_id, Parcel.pickup_code == code)
            .order_by(Parcel.id.desc())
            .limit(1)
        )
    if parcel is None:
        # The same answer whether the code exists at another point or nowhere: nothing leaks.
        raise NotFound("本自提点没有这个提货码", code="pickup_code_not_found")
    return parcel


def _require_collectable(parcel: Parcel) -> None:
    if parcel.status == PARCEL_PICKED_UP:
        raise Conflict("该提货码已核销，不能重复提货", code="pickup_already_verified",
                       details={"picked_up_at": parcel.picked_up_at.isoformat() if parcel.picked_up_at else None})
    if parcel.status in (PARCEL_RETURNED, PARCEL_CANCELLED):
        raise Conflict(f"该订单{PARCEL_STATUS_NAMES[parcel.status]}，不能提货", code="parcel_closed",
                       details={"status": parcel.status})
    if parcel.status != PARCEL_ARRIVED:
        raise Conflict(f"货品尚未到达自提点（{PARCEL_STATUS_NAMES[parcel.status]}）", code="parcel_not_arrived",
                       details={"status": parcel.status})


async def verify_pickup(
    *, session: AsyncSession, brand_id: int, user_id: int, raw_code: str, all_of_member: bool, now: datetime
) -> list[Parcel]:
    """The pickup point's leader hands over the goods for a code (or every arrived parcel of its member)."""
    code = normalize_code(raw_code)
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id)
    point = await brands.get_pickup_point(session=session, community_id=leader.community_id)
    parcel = await _parcel_by_code(session, pickup_point_id=point.id, code=code)
    _require_collectable(parcel)
    ids = [parcel.id]
    if all_of_member:
        ids = list(
            await session.scalars(
                select(Parcel.id)
                .where(Parcel.pickup_point_id == point.id, Parcel.member_id == parcel.member_id,
                       Parcel.status == PARCEL_ARRIVED)
                .order_by(Parcel.id)
            )
        )
    # Guarded on `arrived`: of two concurrent verifications only one changes the row.
    done = (
        await session.execute(
            update(Parcel)
            .where(Parcel.id.in_(ids), Parcel.status == PARCEL_ARRIVED)
            .values(status=PARCEL_PICKED_UP, picked_up_at=now, picked_up_by_user_id=user_id, open_code=None,
                    next_action_at=None)
            .returning(Parcel.id, Parcel.order_id, Parcel.member_id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if parcel.id not in {row[0] for row in done}:
        raise Conflict("该提货码已核销，不能重复提货", code="pickup_already_verified")
    for parcel_id, order_id, member_id in done:
        emit(session, topic=ORDER_COMPLETED, payload=order_completed_payload(order_id=order_id, completed_at=now), now=now)
        emit(
            session, topic=PARCEL_PICKED_UP_EVENT,
            payload={"parcel_id": parcel_id, "order_id": order_id, "member_id": member_id, "brand_id": brand_id},
            now=now,
        )
    rows = await session.scalars(
        select(Parcel).where(Parcel.id.in_([row[0] for row in done])).order_by(Parcel.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


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


# --- unclaimed parcels ----------------------------------------------------------------------------


def _reminder_at(policy: Policy, *, arrived_at: datetime, number: int) -> datetime:
    """When reminder `number` (1-based) is due."""
    return arrived_at + timedelta(hours=policy.remind_after_hours + (number - 1) * policy.remind_every_hours)


def _return_at(policy: Policy, *, arrived_at: datetime) -> datetime | None:
    if policy.unclaimed_action != UNCLAIMED_RETURN_REFUND:
        return None
    return arrived_at + timedelta(days=policy.unclaimed_after_days)


def _next_action_at(policy: Policy, *, arrived_at: datetime, reminders_sent: int) -> datetime | None:
    candidates = [t for t in (_return_at(policy, arrived_at=arrived_at),) if t is not None]
    if reminders_sent < policy.max_reminders:
        candidates.append(_reminder_at(policy, arrived_at=arrived_at, number=reminders_sent + 1))
    return min(candidates) if candidates else None


def _first_action_at(policy: Policy, *, arrived_at: datetime) -> datetime | None:
    return _next_action_at(policy, arrived_at=arrived_at, reminders_sent=0)


@dataclass
class UnclaimedReport:
    reminded: int = 0
    returned: int = 0
    failed: int = 0


RETRY_AFTER = timedelta(hours=1)


async def handle_unclaimed(*, session: AsyncSession, now: datetime, limit: int = 500) -> UnclaimedReport:
    """Reminds members of arrived parcels and applies the brand's policy once they are overdue.

    Idempotent for any `now`: a reminder is due by its number (the count already sent), so replaying a
    day sends nothing twice; a returned parcel is no longer arrived.
    """
    report = UnclaimedReport()
    due = list(
        await session.scalars(
            select(Parcel)
            .where(Parcel.status == PARCEL_ARRIVED, Parcel.next_action_at <= now)
            .order_by(Parcel.next_action_at, Parcel.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    policies: dict[int, Policy] = {}
    for parcel in due:
        if parcel.brand_id not in policies:
            policies[parcel.brand_id] = await get_policy(session=session, brand_id=parcel.brand_id)
        try:
            async with session.begin_nested():
                await _act_on_unclaimed(session, parcel, policy=policies[parcel.brand_id], now=now, report=report)
        except Exception:  # noqa: BLE001 - one parcel that cannot be handled must not hold up the others
            log.exception("unclaimed parcel %s could not be handled; retrying later", parcel.id)
            report.failed += 1
            await session.refresh(parcel)
            parcel.next_action_at = now + RETRY_AFTER
    await session.flush()
    return report


async def _act_on_unclaimed(
    session: AsyncSession, parcel: Parcel, *, policy: Policy, now: datetime, report: UnclaimedReport
) -> None:
    assert parcel.arrived_at is not None
    return_at = _return_at(policy, arrived_at=parcel.arrived_at)
    if return_at is not None and now >= return_at:
        await _return_and_refund(session, parcel, now=now)
        report.returned += 1
        return
    number = parcel.reminders_sent
    while number < policy.max_reminders and _reminder_at(policy, arrived_at=parcel.arrived_at, number=number + 1) <= now:
        number += 1
    if number > parcel.reminders_sent:
        # Missed slots (the job did not run) collapse into one reminder: one message, not a burst.
        parcel.reminders_sent = number
        parcel.last_reminded_at = now
        emit(
            session, topic=PARCEL_REMINDER_EVENT,
            payload={"parcel_id": parcel.id, "order_id": parcel.order_id, "member_id": parcel.member_id,
                     "brand_id": parcel.brand_id, "reminder_no": number,
                     "return_at": return_at.isoformat() if return_at else None},
            now=now,
        )
        report.reminded += 1
    parcel.next_action_at = _next_action_at(policy, arrived_at=parcel.arrived_at, reminders_sent=parcel.reminders_sent)
    await session.flush()


async def _return_and_refund(session: AsyncSession, parcel: Parcel, *, now: datetime) -> None:
    """Unclaimed past the brand's limit: the goods go back and the member gets everything paid back."""
    order = await orders.get_order(session=session, order_id=parcel.order_id)
    await _refund_in_full(
        session, order=order, reason="逾期未提货，退货退款", order_reason="unclaimed_return",
        key_prefix=f"unclaimed-return:parcel:{parcel.id}", now=now,
    )
    parcel.status = PARCEL_RETURNED
    parcel.open_code = None
    parcel.returned_at = now
    parcel.next_action_at = None
    emit(
        session, topic=PARCEL_RETURNED_EVENT,
        payload={"parcel_id": parcel.id, "order_id": parcel.order_id, "member_id": parcel.member_id,
                 "brand_id": parcel.brand_id},
        now=now,
    )


async def _refund_in_full(
    session: AsyncSession, *, order: Order, reason: str, order_reason: str, key_prefix: str, now: datetime
) -> Refund | None:
    """Gives back what is left of the payment that paid the order and marks the order refunded.

    `orders.mark_refunded` puts the units back on sale and emits `order.refunded` (the ledger claws the
    commission back, the parcel handler cancels an open parcel). The refund key is
    `{key_prefix}:payment:{payment_id}`, so a replay names the same refund. None when nothing is left to give.
    A second payment of the same order is not the order's money: payments refunds it on its own
    (`payment-unapplied:{id}`).
    """
    refund = None
    payment = await payments.order_payment(session=session, order_id=order.id)
    if payment is not None:
        left = payment.amount_fen - await payments.refunded_fen(session=session, payment_id=payment.id)
        if left > 0:
            refund = await payments.request_refund(
                session=session, payment=payment, amount_fen=left, reason=reason,
                idempotency_key=f"{key_prefix}:payment:{payment.id}", now=now,
            )
    if order.status == "paid":
        await orders.mark_refunded(session=session, order_id=order.id, now=now, reason=order_reason)
    return refund


# --- staff refund before the parcel leaves --------------------------------------------------------

# Still in the warehouse: nothing was handed to the driver, so the brand can simply keep the goods.
REFUNDABLE_BEFORE_DISPATCH = (PARCEL_WAITING, PARCEL_PACKED)
MAX_REASON_CHARS = 200


@dataclass(frozen=True)
class StaffRefundResult:
    record: StaffRefund
    order: Order
    parcel: Parcel
    refund: Refund
    created: bool


async def _staff_refund_replay(
    session: AsyncSession, *, brand_id: int, key: str, order_id: int, reason: str
) -> StaffRefund | None:
    """The refund this key already made (same order and reason), a 409 (anything else), or None."""
    row = await session.scalar(
        select(StaffRefund).where(StaffRefund.brand_id == brand_id, StaffRefund.idempotency_key == key)
    )
    if row is not None and (row.order_id != order_id or row.reason != reason):
        raise Conflict("该幂等键已用于另一笔退款", code="idempotency_key_reused")
    return row


async def _staff_refund_result(session: AsyncSession, record: StaffRefund, *, created: bool) -> StaffRefundResult:
    parcel = await find_parcel(session=session, order_id=record.order_id)
    assert parcel is not None
    return StaffRefundResult(
        record=record, order=await orders.get_order(session=session, order_id=record.order_id), parcel=parcel,
        refund=await payments.get_refund(session=session, refund_id=record.refund_id), created=created,
    )


async def _lock_parcel_of(session: AsyncSession, *, order: Order, now: datetime) -> Parcel | None:
    """The order's parcel, locked; made now if the worker has not made it yet (None if the order is not paid)."""
    if await find_parcel(session=session, order_id=order.id) is None:
        await create_parcel(session=session, order_id=order.id, now=now)
    return await session.scalar(
        select(Parcel).where(Parcel.order_id == order.id).with_for_update().execution_options(populate_existing=True)
    )


async def refund_before_dispatch(
    *,
    session: AsyncSession,
    brand_id: int,
    order_id: int,
    reason: str,
    idempotency_key: str,
    actor_user_id: int,
    now: datetime,
) -> StaffRefundResult:
    """Brand staff refund a paid order in full while its parcel is waiting or packed.

    The same key for the same order and reason returns the first result (`created` False); the key for
    anything else is a 409 `idempotency_key_reused`; a refunded order is a 409 `order_already_refunded`; a
    parcel on its way or collected is a 409 `parcel_dispatched` (after-sales takes over). A refusal writes
    nothing. The parcel is cancelled here (not only by the `order.refunded` handler) so it leaves the pick
    list at once; `parcel.cancelled` tells the member.
    """
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 64:
        raise InvalidInput("幂等键长度须为 8 到 64 个字符", code="idempotency_key_invalid")
    text = reason.strip()
    if not 1 <= len(text) <= MAX_REASON_CHARS:
        raise InvalidInput(f"请填写退款原因（{MAX_REASON_CHARS} 字以内）", code="refund_reason_invalid")
    order = await orders.get_order(session=session, order_id=order_id)
    if order.brand_id != brand_id:
        raise NotFound("订单不存在", code="order_not_found")
    replay = await _staff_refund_replay(session, brand_id=brand_id, key=key, order_id=order.id, reason=text)
    if replay is not None:
        return await _staff_refund_result(session, replay, created=False)

    parcel = await _lock_parcel_of(session, order=order, now=now)
    # A concurrent refund of this order may have committed while we waited for the parcel.
    replay = await _staff_refund_replay(session, brand_id=brand_id, key=key, order_id=order.id, reason=text)
    if replay is not None:
        return await _staff_refund_result(session, replay, created=False)
    await session.refresh(order)  # as it is now; mark_refunded locks it after the payment (the lock order)
    if order.status == "refunded":
        raise Conflict("该订单已退款，不能重复退款", code="order_already_refunded",
                       details={"closed_at": order.closed_at.isoformat() if order.closed_at else None})
    if order.status != "paid" or parcel is None:
        raise Conflict("订单未支付，不能退款", code="order_not_refundable", details={"status": order.status})
    if parcel.status not in REFUNDABLE_BEFORE_DISPATCH:
        raise Conflict(
            f"包裹{PARCEL_STATUS_NAMES[parcel.status]}，已离开仓库，请通过售后处理", code="parcel_dispatched",
            details={"status": parcel.status},
        )
    stopped_at = parcel.status
    refund = await _refund_in_full(
        session, order=order, reason=f"商家退款：{text}", order_reason="staff_refund",
        key_prefix=f"order-refund:{order.id}", now=now,
    )
    if refund is None:
        raise Conflict("该订单没有可退的支付", code="order_payment_missing")
    await cancel_for_refund(session=session, order_id=order.id, now=now)
    record = StaffRefund(
        brand_id=brand_id, order_id=order.id, parcel_id=parcel.id, refund_id=refund.id, amount_fen=refund.amount_fen,
        reason=text, parcel_status=stopped_at, idempotency_key=key, refunded_by_user_id=actor_user_id, created_at=now,
    )
    if not await insert_unique(session, record):
        # The key was used a moment ago for another order of the brand; the refund above is rolled back too.
        raise Conflict("该幂等键已用于另一笔退款", code="idempotency_key_reused")
    emit(
        session, topic=PARCEL_CANCELLED_EVENT,
        payload={"parcel_id": parcel.id, "order_id": order.id, "member_id": parcel.member_id, "brand_id": brand_id,
                 "reason": text},
        now=now,
    )
    return StaffRefundResult(record=record, order=order, parcel=parcel, refund=refund, created=True)
