"""Pickup (核销): the pickup point's leader hands over the goods for a member's code.

Only the active leader of the parcel's pickup point verifies a pickup; the UPDATE is guarded on
`status = 'arrived'`, so two verifications of one code verify it once. A pickup emits `order.completed`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.errors import Conflict, InvalidInput, NotFound
from linli.fulfillment.models import PARCEL_ARRIVED, PARCEL_CANCELLED, PARCEL_PICKED_UP, PARCEL_RETURNED, Parcel
from linli.fulfillment.service import CODE_DIGITS, PARCEL_PICKED_UP_EVENT, PARCEL_STATUS_NAMES
from linli.leaders import service as leaders
from linli.ledger.handlers import ORDER_COMPLETED, order_completed_payload
from linli.outbox.service import emit


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
