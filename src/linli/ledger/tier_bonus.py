"""Tier bonus: a leader's monthly GMV (net of refunds, brand time zone) unlocks the highest tier reached.

`compute_month` is run once a month for the month just ended (`linli tier-bonus --month YYYY-MM`) and
may be run again at any time: it recomputes every leader's GMV and posts only the difference between
the bonus the tier now gives and what was already awarded (`tier-bonus:{leader}:{month}:r{revision}`),
so a later refund that drops a leader below a threshold takes the bonus back (or down to the lower
tier), and running it twice with nothing changed posts nothing.

- GMV = Σ (paid − refunded) of the leader's commission lines whose order was paid in that month,
  self-purchases that earn no commission excluded.
- Tiers are those of the rule version in force at the month's end. Cash goes brand bonus expense →
  leader available (a monthly bonus has no pickup to wait for); a take-back goes the other way, and may
  leave available negative if the bonus was already withdrawn.
- The month must be over (in the brand's time zone) before it can be computed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.models import Brand
from linli.db import Database, insert_unique
from linli.errors import InvalidInput
from linli.ledger import rules, service
from linli.ledger.models import BRAND_BONUS_EXPENSE, TX_TIER_BONUS, CommissionLine, TierBonus

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_bounds(month: str, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of a YYYY-MM month in a time zone, as aware datetimes."""
    matched = MONTH_PATTERN.match(month)
    if not matched:
        raise InvalidInput("月份格式应为 YYYY-MM", code="month_invalid")
    year, number = int(matched.group(1)), int(matched.group(2))
    zone = ZoneInfo(timezone)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=zone)
    return start, end


def tier_bonus_key(leader_id: int, month: str, revision: int) -> str:
    return f"tier-bonus:{leader_id}:{month}:r{revision}"


@dataclass
class MonthReport:
    brand_id: int
    month: str
    leaders: int = 0
    changed: int = 0
    awarded_fen: int = 0  # total awarded for the month after this run
    posted_fen: int = 0  # net posted by this run
    rows: list[TierBonus] = field(default_factory=list)


async def monthly_gmv(*, session: AsyncSession, brand_id: int, start: datetime, end: datetime) -> dict[int, int]:
    rows = await session.execute(
        select(CommissionLine.leader_id, func.sum(CommissionLine.paid_fen - CommissionLine.refunded_fen))
        .where(
            CommissionLine.brand_id == brand_id,
            CommissionLine.paid_at >= start,
            CommissionLine.paid_at < end,
            CommissionLine.rule != rules.RULE_SELF_PURCHASE_EXCLUDED,
        )
        .group_by(CommissionLine.leader_id)
    )
    return {int(leader): int(total or 0) for leader, total in rows.all()}


async def _lock_row(session: AsyncSession, leader_id: int, month: str) -> TierBonus | None:
    return await session.scalar(
        select(TierBonus)
        .where(TierBonus.leader_id == leader_id, TierBonus.month == month)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def compute_month(*, session: AsyncSession, brand_id: int, month: str, now: datetime) -> MonthReport:
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    start, end = month_bounds(month, brand.timezone)
    if now < end:
        raise InvalidInput("该月尚未结束，不能计算阶梯奖励", code="month_not_over")
    version = await rules.version_at(session=session, brand_id=brand_id, at=end - timedelta(microseconds=1))
    ruleset = rules.ruleset_of(version)
    gmv = await monthly_gmv(session=session, brand_id=brand_id, start=start, end=end)
    earlier = await session.scalars(select(TierBonus.leader_id).where(TierBonus.brand_id == brand_id, TierBonus.month == month))
    leader_ids = sorted(set(gmv) | set(earlier))
    report = MonthReport(brand_id=brand_id, month=month, leaders=len(leader_ids))
    expense = await service.brand_account(session=session, brand_id=brand_id, kind=BRAND_BONUS_EXPENSE, now=now) if leader_ids else None
    for leader_id in leader_ids:
        leader_gmv = gmv.get(leader_id, 0)
        tier = ruleset.tier_for(leader_gmv)
        row = await _lock_row(session, leader_id, month)
        if row is None:
            fresh = TierBonus(
                brand_id=brand_id, leader_id=leader_id, month=month, rule_version_id=version.id, gmv_fen=leader_gmv,
                threshold_fen=None, reward="", awarded_fen=0, revision=0, computed_at=now,
            )
            await insert_unique(session, fresh)
            row = await _lock_row(session, leader_id, month)
            assert row is not None
        target = tier.bonus_fen if tier else 0
        delta = target - row.awarded_fen
        if delta != 0:
            assert expense is not None
            accounts = await service.leader_accounts(session=session, brand_id=brand_id, leader_id=leader_id, now=now)
            revision = row.revision + 1
            memo = (
                f"{month} 月销售额 {leader_gmv} 分，达到 {tier.threshold_fen} 分档，阶梯奖励"
                if tier else f"{month} 月销售额 {leader_gmv} 分，未达阶梯门槛"
            ) + ("发放" if delta > 0 else "调整扣回")
            await service.post(
                session=session, key=tier_bonus_key(leader_id, month, revision), brand_id=brand_id, kind=TX_TIER_BONUS,
                entries=[(expense.id, -delta), (accounts.available.id, delta)], now=now,
                source=service.Source(leader_id=leader_id, rule_version_id=version.id, memo=memo),
            )
            row.revision = revision
            row.awarded_fen = target
            report.changed += 1
            report.posted_fen += delta
        row.gmv_fen = leader_gmv
        row.threshold_fen = tier.threshold_fen if tier else None
        row.reward = tier.reward if tier else ""
        row.rule_version_id = version.id
        row.computed_at = now
        report.awarded_fen += row.awarded_fen
        report.rows.append(row)
    await session.flush()
    return report


async def compute_all(*, db: Database, month: str, now: datetime, brand_id: int | None = None) -> list[MonthReport]:
    """Every brand (or one), each brand in a transaction of its own."""
    async with db.read() as session:
        query = select(Brand.id).order_by(Brand.id)
        if brand_id is not None:
            query = query.where(Brand.id == brand_id)
        brand_ids = list(await session.scalars(query))
    reports = []
    for bid in brand_ids:
        async with db.transaction() as session:
            reports.append(await compute_month(session=session, brand_id=bid, month=month, now=now))
    return reports
