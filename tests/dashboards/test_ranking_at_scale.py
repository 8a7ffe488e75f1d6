"""The top leaders (bounded by the leader months' GMV index) and the leader's rank (read from the month's
roll-up) are exactly what grouping every leader's days gives, on a generated data set of 50 leaders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from linli.bench import dashboard_data as data
from linli.dashboards import brand, service
from linli.dashboards.models import LeaderDay, PaidOrder
from linli.leaders.models import Leader
from tests.bench.test_dashboard_bench import drop_bench_leftovers

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # noon on 25 November in Shanghai
TODAY = date(2026, 11, 25)


@pytest.fixture
async def brand_id(db) -> AsyncIterator[int]:
    yield (await data.generate(db, scale=0.001, now=NOW)).brand_id
    await drop_bench_leftovers(db)


async def _grouped(session, *, brand_id: int, first: date, last: date) -> list[tuple[int, int, int, int]]:
    """The brand's leaders over the range by grouping all their days: (leader, orders, paid, refunded)."""
    paid, refunded = func.sum(LeaderDay.paid_fen), func.sum(LeaderDay.refunded_fen)
    rows = await session.execute(
        select(LeaderDay.leader_id, func.sum(LeaderDay.orders), paid, refunded)
        .where(LeaderDay.brand_id == brand_id, LeaderDay.day.between(first, last))
        .group_by(LeaderDay.leader_id)
        .order_by((paid - refunded).desc(), LeaderDay.leader_id)
    )
    return [(int(a), int(b), int(c), int(d)) for a, b, c, d in rows.all()]


RANGES = [
    (TODAY - timedelta(days=29), TODAY),  # the default: parts of two months
    (date(2026, 10, 1), date(2026, 10, 31)),  # a whole month
    (date(2026, 11, 1), TODAY),  # the month so far
    (date(2026, 8, 17), date(2026, 11, 3)),  # mid-month to mid-month
    (date(2026, 9, 9), date(2026, 9, 9)),  # one day
    (date(2025, 10, 22), TODAY),  # 400 days, the first months without any order
]


async def test_the_bounded_top_leaders_equal_grouping_every_leaders_days(db, brand_id, monkeypatch):
    async with db.read() as s:
        # 1: the candidates grow several times; 80 (the default): found at once; past 10: every leader's days grouped.
        for candidates, most in [(1, 5000), (3, 5000), (brand.CANDIDATES_PER_MONTH, 5000), (2, 10)]:
            monkeypatch.setattr(brand, "CANDIDATES_PER_MONTH", candidates)
            monkeypatch.setattr(brand, "MAX_CANDIDATES", most)
            for first, last in RANGES:
                expected = (await _grouped(s, brand_id=brand_id, first=first, last=last))[: brand.TOP_LEADERS]
                top = await brand._top_leaders(s, brand_id=brand_id, first=first, last=last)
                assert [(t.leader_id, t.orders, t.paid_fen, t.refunded_fen) for t in top] == expected, (first, last)


PERIODS = [
    ("month", date(2026, 11, 1), TODAY), ("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
    ("today", TODAY, TODAY), ("week", date(2026, 11, 23), TODAY),
]


async def test_the_rank_and_paying_members_equal_grouping_every_leaders_days(db, brand_id):
    async with db.read() as s:
        for period, first, last in PERIODS:
            everyone = {leader: p - r for leader, _, p, r in await _grouped(s, brand_id=brand_id, first=first, last=last)}
            leaders = (await s.scalars(select(Leader.id).where(Leader.brand_id == brand_id).order_by(Leader.id))).all()
            for leader_id in leaders[::5]:
                shown = await service.leader_dashboard(
                    session=s, balances_session=s, brand_id=brand_id, leader_id=leader_id, period_kind=period, now=NOW
                )
                mine = everyone.get(leader_id, 0)
                assert shown.gmv_fen == mine
                assert shown.ranked_leaders == len(everyone)
                assert shown.rank == (1 + sum(1 for gmv in everyone.values() if gmv > mine) if mine > 0 else None)
                paying = await s.scalar(select(func.count(func.distinct(PaidOrder.member_id))).where(
                    PaidOrder.leader_id == leader_id, PaidOrder.paid_day.between(first, last)))
                assert shown.paying_members == paying
