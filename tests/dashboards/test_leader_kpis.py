"""Leader monthly income and core-leader churn, by hand on a small data set (both databases), over HTTP: who may
read them and the months refused; and the pure rules (distribution, median, the top 20 %) on plain numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from linli.dashboards.churn import top_share
from linli.dashboards.income import summarize
from linli.dashboards.models import LeaderIncomeMonth, LeaderMonth
from linli.leaders.models import Leader
from tests.dashboards.test_rollups import _agree
from tests.ledger.helpers import buy, refund
from tests.orders.setup import bound_member, build_stage

URL = "/api/v1/brands/{brand}/dashboard/leaders"


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 4, 0, tzinfo=UTC)  # noon in Shanghai


@pytest.fixture
async def half_year(ctx, world, clock):
    """小李 (L) and 王姐 (W), one neighbour each, from December 2026 to April 2027; commission 15 %, 17 % on
    repurchases of a neighbour the leader brought in (the referral reward)."""
    from dataclasses import replace

    stage = await build_stage(world, quota=1000, per_member_limit=99, allocation=5000, stock=5000, live_price_fen=8800)
    async with ctx.db.read() as s:
        w_community = (await s.get(Leader, stage.other_leader.leader_id)).community_id
    at_w = replace(stage, community_id=w_community)
    m1, m2 = await bound_member(world, stage.leader), await bound_member(world, stage.other_leader)
    clock.set(_at(2026, 12, 10))
    o1 = await buy(ctx, stage, m1, quantity=2, offer=False)  # L 176.00 → 26.40
    await buy(ctx, at_w, m2, quantity=1, offer=False)  # W 88.00 → 13.20
    clock.set(_at(2027, 1, 5))
    await refund(ctx, o1, 3000)  # on December's GMV; clawback 26.40 × 30 / 176 = 4.50, posted in January
    clock.set(_at(2027, 1, 10))
    await buy(ctx, stage, m1, quantity=1, offer=False)  # L 88.00 → 14.96
    await buy(ctx, at_w, m2, quantity=1, offer=False)  # W 88.00 → 14.96
    clock.set(_at(2027, 2, 10))
    await buy(ctx, stage, m1, quantity=8, offer=False)  # L 704.00 → 119.68
    o6 = await buy(ctx, at_w, m2, quantity=1, offer=False)  # W 88.00 → 14.96
    clock.set(_at(2027, 3, 10))
    await buy(ctx, stage, m1, quantity=1, offer=False)  # L 88.00 → 14.96
    await refund(ctx, o6, 8800)  # February's order wholly refunded: −14.96 posted in March
    clock.set(_at(2027, 4, 10))
    await buy(ctx, at_w, m2, quantity=1, offer=False)  # W 88.00 → 14.96; L sells nothing in April
    clock.set(_at(2027, 5, 2))
    return stage


def _income(month: dict) -> tuple:
    income = month["income"]
    busy = {b["key"]: b["leaders"] for b in income["buckets"] if b["leaders"]}
    return income["leaders"], income["total_fen"], income["mean_fen"], income["median_fen"], busy


def _churn(month: dict) -> tuple:
    churn = month["churn"]
    return churn["core_leaders"], churn["churned"], churn["rate_bp"], churn["final"]


async def test_the_kept_months_match_the_hand_count(ctx, half_year):
    stage = half_year
    leader, other = stage.leader.leader_id, stage.other_leader.leader_id
    async with ctx.db.read() as s:
        sales = {(r.leader_id, r.month): (r.orders, r.paid_fen, r.refunded_fen)
                 for r in await s.scalars(select(LeaderMonth).where(LeaderMonth.brand_id == stage.brand_id))}
        income = {(r.leader_id, r.month): (r.accrued_fen, r.clawed_back_fen)
                  for r in await s.scalars(select(LeaderIncomeMonth).where(LeaderIncomeMonth.brand_id == stage.brand_id))}
    dec, jan, feb, mar, apr = (date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1), date(2027, 4, 1))
    assert sales == {
        (leader, dec): (1, 17600, 3000), (other, dec): (1, 8800, 0),  # January's refund counts on December
        (leader, jan): (1, 8800, 0), (other, jan): (1, 8800, 0),
        (leader, feb): (1, 70400, 0), (other, feb): (1, 8800, 8800),
        (leader, mar): (1, 8800, 0), (other, apr): (1, 8800, 0),
    }
    assert income == {  # by the month posted: the clawbacks on the month they came
        (leader, dec): (2640, 0), (other, dec): (1320, 0),
        (leader, jan): (1496, 450), (other, jan): (1496, 0),
        (leader, feb): (11968, 0), (other, feb): (1496, 0),
        (leader, mar): (1496, 0), (other, mar): (0, 1496),
        (other, apr): (1496, 0),
    }
    assert await _agree(ctx) == {}


async def test_income_and_churn_over_http(client, world, half_year):
    stage = half_year
    staff = await world.staff(stage.brand_id)  # the evening's owner token is older than 30 days by May
    answer = await client.get(URL.format(brand=stage.brand_id), params={"month": "2027-03"}, headers=staff.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["month"], body["today"]) == ("2027-03-01", "2027-05-02")
    months = {m["month"]: m for m in body["months"]}
    assert list(months) == ["2026-09-01", "2026-10-01", "2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01",
                            "2027-03-01"]
    assert _income(months["2026-11-01"]) == (0, 0, None, None, {})
    assert _income(months["2026-12-01"]) == (2, 3960, 1980, 1980, {"under_100": 2})
    assert _income(months["2027-01-01"]) == (2, 1046 + 1496, 1271, 1271, {"under_100": 2})
    assert _income(months["2027-02-01"]) == (2, 13464, 6732, 6732, {"under_100": 1, "100_500": 1})
    # March: L earned 14.96; W only lost February's 14.96 (counted: a posting that month), so −14.96.
    assert _income(months["2027-03-01"]) == (2, 0, 0, 0, {"negative": 1, "under_100": 1})
    assert [b["key"] for b in months["2027-03-01"]["income"]["buckets"]] == [
        "negative", "zero", "under_100", "100_500", "500_1000", "1000_3000", "3000_plus"]
    # Top 20 % of two leaders is one, ties all in: December {L}, January {L, W} (88.00 each), February {L}
    # (W's 88.00 refunded). Core of March: L, with no order in April: churned, and April is over.
    assert _churn(months["2027-03-01"]) == (1, 1, 10_000, True)
    for early in ("2026-09-01", "2026-12-01", "2027-01-01", "2027-02-01"):  # not three ranked months before them
        assert _churn(months[early]) == (0, 0, None, True)

    april = (await client.get(URL.format(brand=stage.brand_id), params={"month": "2027-04"}, headers=staff.headers)).json()
    last = april["months"][-1]
    assert last["month"] == "2027-04-01" and len(april["months"]) == 7
    assert _income(last) == (1, 1496, 1496, 1496, {"under_100": 1})  # L neither sold nor was posted anything
    # Core of April: January {L, W} ∩ February {L} ∩ March {L} = L; no order in May so far, and May runs.
    assert _churn(last) == (1, 1, 10_000, False)

    default = (await client.get(URL.format(brand=stage.brand_id), headers=staff.headers)).json()
    assert default["month"] == "2027-05-01" and _income(default["months"][-1]) == (0, 0, None, None, {})


async def test_only_the_brands_staff_read_it(client, world, half_year):
    stage = half_year
    elsewhere = await world.brand(name="别家")
    refused = [
        await client.get(URL.format(brand=stage.brand_id), headers=actor.headers)
        for actor in (await world.staff(elsewhere), await bound_member(world, stage.leader))
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(403, "staff_only")] * 2
    # The leader's own token is a month old; a fresh sign-in of the same user is still no staff.
    leader_user = await world.user(phone=stage.leader.actor.phone)
    mine = await client.get(URL.format(brand=stage.brand_id), headers=leader_user.headers)
    assert (mine.status_code, mine.json()["error"]["code"]) == (403, "staff_only")
    assert (await client.get(URL.format(brand=stage.brand_id))).status_code == 401
    assert (await client.get(URL.format(brand=999_999), headers=(await world.staff(stage.brand_id)).headers)).status_code == 404


@pytest.mark.parametrize(
    ("month", "code"),
    [("2027-13", "month_invalid"), ("2027-5", "month_invalid"), ("May", "month_invalid"), ("1899-12", "month_invalid"),
     ("2027-06", "month_in_future"), ("2027-05-01", "invalid_request")],
)
async def test_a_month_it_cannot_show_is_a_clear_422(client, world, half_year, month, code):
    staff = await world.staff(half_year.brand_id)
    answer = await client.get(URL.format(brand=half_year.brand_id), params={"month": month}, headers=staff.headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, code), answer.text


def test_the_distribution_mean_and_median_on_plain_numbers():
    month = date(2027, 1, 1)
    figures = summarize(month, [-1, 0, 0, 1, 9_999, 10_000, 299_999, 300_000])
    assert [(b.key, b.leaders) for b in figures.buckets] == [
        ("negative", 1), ("zero", 2), ("under_100", 2), ("100_500", 1), ("500_1000", 0), ("1000_3000", 1),
        ("3000_plus", 1)]
    assert (figures.leaders, figures.total_fen) == (8, 619_998)
    assert figures.mean_fen == 77_500  # 77 499.75 rounded half up
    assert figures.median_fen == 5_000  # (1 + 9 999) ÷ 2
    assert summarize(month, [3, 1, 2]).median_fen == 2 and summarize(month, [1, 2]).median_fen == 2  # 1.5 → 2
    assert summarize(month, [-3, -2]).mean_fen == -2  # −2.5 → −2: halves up
    assert summarize(month, []).mean_fen is None and summarize(month, []).median_fen is None


def test_the_top_20_percent_rounds_up_and_keeps_ties():
    assert top_share({1: 500, 2: 100}) == {1}  # ⌈2 ÷ 5⌉ = 1
    assert top_share({1: 500, 2: 500, 3: 100}) == {1, 2}  # tied at the cut: both
    assert top_share({n: 100 * n for n in range(1, 11)}) == {10, 9}  # ⌈10 ÷ 5⌉ = 2
    assert top_share({n: 100 * n for n in range(1, 12)}) == {11, 10, 9}  # ⌈11 ÷ 5⌉ = 3
    assert top_share({1: 0, 2: -50}) == set()  # nothing earned: nobody is top
    assert top_share({}) == set()
