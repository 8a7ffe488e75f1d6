"""The brand's best leaders or communities by GMV over a date range, without grouping every one's days.

A leader's (or a community's) GMV of a day is never negative (a refund never exceeds what its order paid), so its
GMV over a range is at most the sum of its months' (`gmv_fen` of `dash_leader_months` / `dash_community_months`)
over the months the range touches. The candidates are each month's `candidates` best (by the GMV index); one
outside them has at most the sum of each month's last candidate's GMV (0 for a month with fewer rows). Once the
N-th best candidate's exact GMV (from the day rows) beats that bound, no other can reach the list (not even by a
tie); else the candidates grow; past MAX_CANDIDATES (a range whose best differ month by month) every one's days
are grouped, as without the bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards.models import CommunityDay, CommunityMonth, LeaderDay, LeaderMonth
from linli.dashboards.rollups import month_of, next_month

CANDIDATES_PER_MONTH_FACTOR = 4  # the first guess: 4 × N per month; it grows (× 4) while it is not enough
MAX_CANDIDATES = 5000  # beyond, every one's days are grouped (and no longer list of ids is bound)


class Net:
    """GMV of figures that carry what was paid and what was refunded of it."""

    paid_fen: int
    refunded_fen: int

    @property
    def gmv_fen(self) -> int:
        return self.paid_fen - self.refunded_fen


@dataclass(frozen=True)
class Ranked(Net):
    key: int  # the leader's or community's id
    orders: int
    paid_fen: int
    refunded_fen: int


@dataclass(frozen=True)
class _Rollups:
    day: Any  # the day table (leader_id or community_id, day, brand_id, orders, paid_fen, refunded_fen)
    month: Any  # the month table, with gmv_fen indexed by (brand_id, month, gmv_fen)
    key: str


LEADERS = _Rollups(LeaderDay, LeaderMonth, "leader_id")
COMMUNITIES = _Rollups(CommunityDay, CommunityMonth, "community_id")


def months_of(first: date, last: date) -> list[date]:
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


async def exact_totals(
    session: AsyncSession, rollups: _Rollups, *, brand_id: int, keys: set[int] | None, first: date, last: date
) -> list[Ranked]:
    """Each one's orders, paid and refunded over the range (keys None: all the brand's), best GMV first (ties by
    id); only those with a day row in the range."""
    day = rollups.day
    key = getattr(day, rollups.key)
    which = day.brand_id == brand_id if keys is None else key.in_(sorted(keys))
    rows = (
        await session.execute(
            select(key, func.sum(day.orders), func.sum(day.paid_fen), func.sum(day.refunded_fen))
            .where(which, day.day.between(first, last))
            .group_by(key)
        )
    ).all()
    totals = [Ranked(int(k), int(orders), int(paid), int(refunded)) for k, orders, paid, refunded in rows]
    return sorted(totals, key=lambda r: (-r.gmv_fen, r.key))


async def top(
    session: AsyncSession, rollups: _Rollups, *, brand_id: int, first: date, last: date, count: int,
    first_candidates: int | None = None, max_candidates: int = MAX_CANDIDATES,
) -> list[Ranked]:
    """The brand's `count` best by GMV of the range (ties by id), exactly as grouping every one's days would; the
    first guess of candidates per month and their most are the module's unless given (the tests' smaller ones)."""
    month_table = rollups.month
    months = months_of(first, last)
    candidates = first_candidates or CANDIDATES_PER_MONTH_FACTOR * count
    while True:
        chosen: set[int] = set()
        bound, complete = 0, True
        for month in months:
            best = (
                await session.execute(
                    select(getattr(month_table, rollups.key), month_table.gmv_fen)
                    .where(month_table.brand_id == brand_id, month_table.month == month)
                    .order_by(month_table.gmv_fen.desc())
                    .limit(candidates)
                )
            ).all()
            chosen |= {key for key, _ in best}
            if len(best) == candidates:
                bound += int(best[-1][1])
                complete = False
        if len(chosen) > max_candidates:
            totals = await exact_totals(session, rollups, brand_id=brand_id, keys=None, first=first, last=last)
            break
        totals = await exact_totals(session, rollups, brand_id=brand_id, keys=chosen, first=first, last=last)
        if complete or (len(totals) >= count and totals[count - 1].gmv_fen > bound):
            break
        candidates *= 4
    return totals[:count]
