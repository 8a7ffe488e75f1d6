"""Leader monthly income (docs/kpis.md): per local month, the commission credited to each leader net of the
month's clawbacks, and over the brand's leaders of that month its mean, median and distribution.

Read from the roll-ups only: `dash_leader_income_months` (accruals and clawbacks by the month they were posted)
and `dash_leader_months` (who had a paid order that month). The leaders counted in a month are the
brand's leaders with a paid order attributed in it or a commission posting in it (an accrual, or a clawback of
an earlier month's order); a leader who sold but earned nothing (self-purchases not counted, rate 0) counts at 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards.models import LeaderIncomeMonth, LeaderMonth

# The distribution's bands, in fen: [low, high), None for open. Below zero when clawbacks exceeded the accruals.
BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("negative", None, 0),
    ("zero", 0, 1),
    ("under_100", 1, 10_000),
    ("100_500", 10_000, 50_000),
    ("500_1000", 50_000, 100_000),
    ("1000_3000", 100_000, 300_000),
    ("3000_plus", 300_000, None),
)


@dataclass(frozen=True)
class Bucket:
    key: str
    low_fen: int | None  # inclusive; None: no lower bound
    high_fen: int | None  # exclusive; None: no upper bound
    leaders: int


@dataclass(frozen=True)
class MonthIncome:
    month: date
    leaders: int  # counted this month (see the module's docstring)
    total_fen: int
    mean_fen: int | None  # rounded half up; None when no leader counts
    median_fen: int | None  # the middle one, or the two middle ones' mean rounded half up
    buckets: list[Bucket]


def _half_up(total: int, count: int) -> int:
    """total ÷ count to the nearest fen, halves up (towards +∞, negative totals included)."""
    return (2 * total + count) // (2 * count)


def summarize(month: date, incomes: list[int]) -> MonthIncome:
    ordered = sorted(incomes)
    count = len(ordered)
    median = None
    if count:
        middle = count // 2
        median = ordered[middle] if count % 2 else _half_up(ordered[middle - 1] + ordered[middle], 2)
    buckets = [
        Bucket(key, low, high, sum(1 for x in ordered if (low is None or x >= low) and (high is None or x < high)))
        for key, low, high in BUCKETS
    ]
    return MonthIncome(month=month, leaders=count, total_fen=sum(ordered),
                       mean_fen=_half_up(sum(ordered), count) if count else None, median_fen=median, buckets=buckets)


async def monthly_income(*, session: AsyncSession, brand_id: int, months: list[date]) -> list[MonthIncome]:
    """One entry per month asked for (local first days), from the roll-ups."""
    income: dict[tuple[date, int], int] = {}
    for leader_id, month, accrued, clawed in (await session.execute(
        select(LeaderIncomeMonth.leader_id, LeaderIncomeMonth.month, LeaderIncomeMonth.accrued_fen,
               LeaderIncomeMonth.clawed_back_fen)
        .where(LeaderIncomeMonth.brand_id == brand_id, LeaderIncomeMonth.month.in_(months))
    )).all():
        income[(month, leader_id)] = int(accrued) - int(clawed)
    for leader_id, month in (await session.execute(
        select(LeaderMonth.leader_id, LeaderMonth.month)
        .where(LeaderMonth.brand_id == brand_id, LeaderMonth.month.in_(months))
    )).all():
        income.setdefault((month, leader_id), 0)
    return [summarize(month, [fen for (m, _), fen in income.items() if m == month]) for month in months]
