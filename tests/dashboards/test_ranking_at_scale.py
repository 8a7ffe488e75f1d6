"""The top leaders and communities (bounded by the months' GMV index) and the leader's rank (read from the month's
roll-up) are exactly what grouping every leader's (community's) days gives, on a generated data set of 50 leaders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from linli.bench import dashboard_data as data
from linli.dashboards import ranking, service
from linli.dashboards.models import PaidOrder
from linli.leaders.models import Leader
from tests.bench.test_dashboard_bench import drop_bench_leftovers

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # noon on 25 November in Shanghai
TODAY = date(2026, 11, 25)


@pytest.fixture
async def brand_id(db) -> AsyncIterator[int]:
    yield (await data.generate(db, scale=0.001, now=NOW)).brand_id
    await drop_bench_leftovers(db)


async def _grouped(session, *, brand_id: int, first: date, last: date, rollups=ranking.LEADERS) -> list[tuple[int, int, int, int]]:  # noqa: ANN001
    """The brand's leaders (or communities) over the range by grouping all their days: (id, orders, paid, refunded)."""
    day = rollups.day
    key = getattr(day, rollups.key)
    paid, refunded = func.sum(day.paid_fen), func.sum(day.refunded_fen)
    rows = await session.execute(
        select(key, func.sum(day.orders), paid, refunded)
        .where(day.brand_id == brand_id, day.day.between(first, last))
        .group_by(key)
        .order_by((paid - refunded).desc(), key)
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


@pytest.mark.parametrize("rollups", [ranking.LEADERS, ranking.COMMUNITIES], ids=["leaders", "communities"])
async def test_the_bounded_top_equals_grouping_every_ones_days(db, brand_id, rollups):
    async with db.read() as s:
        assert await _grouped(s, brand_id=brand_id, first=RANGES[0][0], last=TODAY, rollups=rollups)  # not vacuous
        # 1: the candidates grow several times; 80 (the default): found at once; past 10: every one's days grouped.
        for candidates, most in [(1, 5000), (3, 5000), (None, 5000), (2, 10)]:
            for first, last in RANGES:
                expected = (await _grouped(s, brand_id=brand_id, first=first, last=last, rollups=rollups))[:20]
                top = await ranking.top(s, rollups, brand_id=brand_id, first=first, last=last, count=20,
                                        first_candidates=candidates, max_candidates=most)
                assert [(t.key, t.orders, t.paid_fen, t.refunded_fen) for t in top] == expected, (first, last)


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


async def test_the_files_list_every_leader_and_community_and_the_page_the_best_twenty(db, brand_id):
    from linli.dashboards import brand

    async with db.read() as s:
        first, last = RANGES[3]
        asked = {"session": s, "brand_id": brand_id, "date_from": first.isoformat(), "date_to": last.isoformat(),
                 "leader_id": None, "community_id": None, "now": NOW}
        page = await brand.brand_dashboard(**asked)
        files = await brand.brand_dashboard(**asked, complete="leaders")
        assert [x.community_id for x in files.communities] == [x.community_id for x in page.communities]  # the 20
        files = replace(files, communities=(await brand.brand_dashboard(**asked, complete="communities")).communities)
        leaders = await _grouped(s, brand_id=brand_id, first=first, last=last)
        communities = await _grouped(s, brand_id=brand_id, first=first, last=last, rollups=ranking.COMMUNITIES)
        assert len(leaders) > brand.TOP_LEADERS and len(communities) > brand.TOP_COMMUNITIES
        assert [(x.leader_id, x.gmv_fen) for x in files.leaders] == [(k, p - r) for k, _, p, r in leaders]
        assert [x.leader_id for x in page.leaders] == [k for k, *_ in leaders[: brand.TOP_LEADERS]]
        assert [x.community_id for x in page.communities] == [k for k, *_ in communities[: brand.TOP_COMMUNITIES]]
        # Every community (the generated orders all carry one), adding up to the range's totals.
        assert [(x.community_id, x.orders) for x in files.communities] == [(k, n) for k, n, *_ in communities]
        assert sum(x.gmv_fen for x in files.communities) == files.totals.gmv_fen == page.totals.gmv_fen
        assert sum(x.orders for x in files.communities) == files.totals.orders
