"""The roll-ups of the brand's leader KPIs kept from the outbox (docs/kpis.md), each event counted once.

- `record_commission` (on `commission.posted`): an accrual or clawback the ledger posted adds to its leader's
  income of the local month it was posted in. `dash_applied_commissions` (by ledger transaction) is inserted
  first; only an insert that happened adds anything.
- `record_leader_approved` (on `leader.approved`) and `record_member_bound` (on `member.bound`, a member's
  first binding ever): one more on the local day, once per leader or member (`dash_growth_facts`).

The leader's GMV per month (`dash_leader_months`) follows `order.paid` and `payment.refunded` with the
days, in `dashboards.rollups`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards.models import AppliedCommission, BrandGrowthDay, GrowthFact, LeaderIncomeMonth
from linli.dashboards.rollups import _bump, brand_zone, month_of
from linli.dashboards.upsert import insert_new
from linli.ledger.models import TX_ACCRUAL

LEADER, MEMBER = "leader", "member"


async def _local_day(session: AsyncSession, *, brand_id: int, at: str) -> date:
    instant = datetime.fromisoformat(at)
    return instant.astimezone(await brand_zone(session=session, brand_id=brand_id)).date()


async def record_commission(*, session: AsyncSession, payload: dict) -> bool:
    """Counts one posting of commission once; False if it was already counted."""
    brand_id, leader_id, amount = int(payload["brand_id"]), int(payload["leader_id"]), int(payload["amount_fen"])
    month = month_of(await _local_day(session, brand_id=brand_id, at=str(payload["posted_at"])))
    kind = str(payload["kind"])
    if not await insert_new(session, AppliedCommission, transaction_id=int(payload["transaction_id"]), brand_id=brand_id,
                            leader_id=leader_id, month=month, kind=kind, amount_fen=amount):
        return False
    accrued, clawed = (amount, 0) if kind == TX_ACCRUAL else (0, -amount)
    await _bump(session, LeaderIncomeMonth, keys={"leader_id": leader_id, "month": month}, also={"brand_id": brand_id},
                accrued_fen=accrued, clawed_back_fen=clawed)
    return True


async def _record_growth(session: AsyncSession, *, kind: str, subject_id: int, brand_id: int, at: str) -> bool:
    day = await _local_day(session, brand_id=brand_id, at=at)
    if not await insert_new(session, GrowthFact, kind=kind, subject_id=subject_id, brand_id=brand_id, day=day):
        return False
    await _bump(session, BrandGrowthDay, keys={"brand_id": brand_id, "day": day},
                leaders_approved=int(kind == LEADER), members_bound=int(kind == MEMBER))
    return True


async def record_leader_approved(*, session: AsyncSession, payload: dict) -> bool:
    return await _record_growth(session, kind=LEADER, subject_id=int(payload["leader_id"]),
                                brand_id=int(payload["brand_id"]), at=str(payload["approved_at"]))


async def record_member_bound(*, session: AsyncSession, payload: dict) -> bool:
    return await _record_growth(session, kind=MEMBER, subject_id=int(payload["member_id"]),
                                brand_id=int(payload["brand_id"]), at=str(payload["bound_at"]))
