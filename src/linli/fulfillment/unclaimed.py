"""Unclaimed parcels: the brand's policy (reminders, then keep waiting or return and refund) and the job
that applies it to arrived parcels (`linli remind-unclaimed`, also run by the worker).

A return gives the member everything back through `refunds.refund_in_full`; its lock order is the one
described in `refunds`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.db import insert_unique
from linli.errors import InvalidInput
from linli.fulfillment.models import (
    PARCEL_ARRIVED,
    PARCEL_RETURNED,
    UNCLAIMED_ACTIONS,
    UNCLAIMED_KEEP_WAITING,
    UNCLAIMED_RETURN_REFUND,
    FulfillmentPolicy,
    Parcel,
)
from linli.fulfillment.refunds import refund_in_full
from linli.fulfillment.service import PARCEL_REMINDER_EVENT, PARCEL_RETURNED_EVENT
from linli.orders import service as orders
from linli.outbox.service import emit

log = logging.getLogger("linli.fulfillment")


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


# --- the unclaimed job: reminders, then the policy ------------------------------------------------


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


def first_action_at(policy: Policy, *, arrived_at: datetime) -> datetime | None:
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
    await refund_in_full(
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
