"""Core-leader churn (docs/kpis.md), from the leaders' GMV per local month (`dash_leader_months`).

- The top 20 % of a month: of the brand's leaders with a paid order attributed in that month (N of them), those
  with a GMV (paid − refunded, refunds on their order's month) above 0 that fewer than ⌈N ÷ 5⌉ leaders beat;
  leaders tied at the cut are all in.
- A **core leader of month M**: in the top 20 % of each of the three complete months before M (M − 3, M − 2,
  M − 1).
- **Churned**: a core leader of M with no paid order attributed in M + 1 (a paid order refunded since still
  counts as one). The rate is `churned × 10 000 ÷ core` in basis points, rounded down; None without core
  leaders. M's churn is final once M + 1 is over; until then it is "so far".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards.models import LeaderMonth
from linli.dashboards.rollups import next_month, previous_month

TOP_SHARE_DIVISOR = 5  # the top 20 %
CORE_MONTHS = 3


@dataclass(frozen=True)
class MonthChurn:
    month: date
    core_leaders: int
    churned: int
    rate_bp: int | None
    final: bool  # M + 1 is over


def top_share(gmv: dict[int, int]) -> set[int]:
    """The month's top 20 % of leaders by GMV (see the module's docstring)."""
    cut = -(-len(gmv) // TOP_SHARE_DIVISOR)
    return {leader for leader, fen in gmv.items() if fen > 0 and sum(1 for other in gmv.values() if other > fen) < cut}


async def core_churn(*, session: AsyncSession, brand_id: int, months: list[date], today: date) -> list[MonthChurn]:
    """One entry per month asked for (local first days, oldest first)."""
    first = months[0]
    for _ in range(CORE_MONTHS):
        first = previous_month(first)
    last = next_month(months[-1])
    gmv: dict[date, dict[int, int]] = {}
    for leader_id, month, paid, refunded in (await session.execute(
        select(LeaderMonth.leader_id, LeaderMonth.month, LeaderMonth.paid_fen, LeaderMonth.refunded_fen)
        .where(LeaderMonth.brand_id == brand_id, LeaderMonth.month.between(first, last),
               LeaderMonth.orders > 0)
    )).all():
        gmv.setdefault(month, {})[leader_id] = int(paid) - int(refunded)
    tops = {month: top_share(by_leader) for month, by_leader in gmv.items()}
    out = []
    for month in months:
        before, core = month, None
        for _ in range(CORE_MONTHS):
            before = previous_month(before)
            core = tops.get(before, set()) if core is None else core & tops.get(before, set())
        assert core is not None
        churned = core - set(gmv.get(next_month(month), {}))
        out.append(MonthChurn(
            month=month, core_leaders=len(core), churned=len(churned),
            rate_bp=len(churned) * 10_000 // len(core) if core else None,
            final=today >= next_month(next_month(month)),
        ))
    return out
