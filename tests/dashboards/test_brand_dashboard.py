"""The brand's dashboard over HTTP: a range's figures by hand (totals, every day, top leaders, months), its
leader and community filters, who may read it and the ranges it refuses."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from linli.leaders.models import Leader
from tests.dashboards.test_rollups import evening  # noqa: F401 - the fixture
from tests.ledger.helpers import buy
from tests.orders.setup import bound_member

URL = "/api/v1/brands/{brand}/dashboard"
NOV_30, DEC_1, DEC_15 = "2026-11-30", "2026-12-01", "2026-12-15"


async def _dashboard(client, actor, brand: int, **params):
    query = {("from" if name == "date_from" else "to" if name == "date_to" else name): value
             for name, value in params.items()}
    return await client.get(URL.format(brand=brand), params=query, headers=actor.headers)


def _figures(answer: dict) -> tuple[int, int, int, int]:
    return answer["orders"], answer["paid_fen"], answer["refunded_fen"], answer["gmv_fen"]


def _busy_days(answer: dict) -> dict[str, tuple[int, int, int, int]]:
    return {d["day"]: _figures(d) for d in answer["days"] if d["orders"] or d["paid_fen"] or d["refunded_fen"]}


def _months(answer: dict) -> list[tuple[str, int, int, int | None]]:
    return [(m["month"], m["paying_members"], m["bought_again_next_month"], m["rate_bp"]) for m in answer["months"]]


async def test_the_default_range_is_the_last_30_days_with_every_day(client, evening):  # noqa: F811
    stage, _ = evening  # the clock stands on 15 December (Shanghai)
    answer = await _dashboard(client, stage.owner, stage.brand_id)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["first_day"], body["last_day"], body["today"]) == ("2026-11-16", DEC_15, DEC_15)
    assert (body["leader_id"], body["community_id"]) == (None, None)
    # a (30 Nov 23:30, 88.00), b (1 Dec 00:30, 2 × 88.00, 30.00 of it refunded on the 15th but counted on the 1st),
    # c (1 Dec 00:30, 88.00), d (a walk-in's on 15 Dec, 88.00).
    assert _figures(body["totals"]) == (4, 8800 + 17600 + 8800 + 8800, 3000, 44000 - 3000)
    days = [d["day"] for d in body["days"]]
    assert len(days) == 30 and days[0] == "2026-11-16" and days[-1] == DEC_15
    assert days == [(date(2026, 11, 16) + timedelta(days=n)).isoformat() for n in range(30)]
    assert _busy_days(body) == {NOV_30: (1, 8800, 0, 8800), DEC_1: (2, 26400, 3000, 23400), DEC_15: (1, 8800, 0, 8800)}
    assert body["days"][0] == {"day": "2026-11-16", "orders": 0, "paid_fen": 0, "refunded_fen": 0, "gmv_fen": 0}
    # Only 小李 sold (the walk-in's order is nobody's; 王姐 sold nothing): a, b and c.
    assert body["leaders"] == [
        {"leader_id": stage.leader.leader_id, "name": "小李", "orders": 3, "gmv_fen": 8800 + 26400 - 3000}
    ]
    # November: one paying member, who paid again in December; December: three, nobody has paid in January yet.
    assert _months(body) == [("2026-11-01", 1, 1, 10_000), ("2026-12-01", 3, 0, 0)]


async def test_an_explicit_range(client, evening):  # noqa: F811
    stage, _ = evening
    december = (await _dashboard(client, stage.owner, stage.brand_id, date_from=DEC_1, date_to=DEC_15)).json()
    assert (december["first_day"], december["last_day"], len(december["days"])) == (DEC_1, DEC_15, 15)
    assert _figures(december["totals"]) == (3, 35200, 3000, 32200)
    assert _busy_days(december) == {DEC_1: (2, 26400, 3000, 23400), DEC_15: (1, 8800, 0, 8800)}
    assert [(t["name"], t["orders"], t["gmv_fen"]) for t in december["leaders"]] == [("小李", 2, 23400)]
    assert _months(december) == [("2026-12-01", 3, 0, 0)]

    # One local day: 23:30 on 30 November is still November's (15:30 UTC).
    one_day = (await _dashboard(client, stage.owner, stage.brand_id, date_from=NOV_30, date_to=NOV_30)).json()
    assert [d["day"] for d in one_day["days"]] == [NOV_30]
    assert _figures(one_day["totals"]) == (1, 8800, 0, 8800)
    assert _months(one_day) == [("2026-11-01", 1, 1, 10_000)]

    # Only `from`: up to today; only `to`: the 30 days ending there.
    since = (await _dashboard(client, stage.owner, stage.brand_id, date_from="2026-12-02")).json()
    assert (since["first_day"], since["last_day"]) == ("2026-12-02", DEC_15)
    assert _figures(since["totals"]) == (1, 8800, 0, 8800)
    until = (await _dashboard(client, stage.owner, stage.brand_id, date_to=NOV_30)).json()
    assert (until["first_day"], until["last_day"]) == ("2026-11-01", NOV_30)
    assert _figures(until["totals"]) == (1, 8800, 0, 8800)

    quiet = (await _dashboard(client, stage.owner, stage.brand_id, date_from="2026-10-01", date_to="2026-10-31")).json()
    assert _figures(quiet["totals"]) == (0, 0, 0, 0) and len(quiet["days"]) == 31
    assert quiet["leaders"] == [] and _months(quiet) == [("2026-10-01", 0, 0, None)]

    longest = await _dashboard(client, stage.owner, stage.brand_id, date_from="2025-11-11", date_to=DEC_15)
    assert longest.status_code == 200 and len(longest.json()["days"]) == 400
    assert len(longest.json()["months"]) == 14  # November 2025 to December 2026


async def test_one_leaders_figures(client, ctx, world, evening):  # noqa: F811
    stage, _ = evening
    mine = (await _dashboard(client, stage.owner, stage.brand_id, leader_id=stage.leader.leader_id)).json()
    assert mine["leader_id"] == stage.leader.leader_id
    assert _figures(mine["totals"]) == (3, 35200, 3000, 32200)  # the walk-in's order of the 15th is not 小李's
    assert _busy_days(mine) == {NOV_30: (1, 8800, 0, 8800), DEC_1: (2, 26400, 3000, 23400)}
    # 小李's members: the first paid in November and again in December; in December the two neighbours.
    assert _months(mine) == [("2026-11-01", 1, 1, 10_000), ("2026-12-01", 2, 0, 0)]
    assert [t["name"] for t in mine["leaders"]] == ["小李"]  # the ranking stays the brand's

    other = (await _dashboard(client, stage.owner, stage.brand_id, leader_id=stage.other_leader.leader_id)).json()
    assert _figures(other["totals"]) == (0, 0, 0, 0) and len(other["days"]) == 30
    assert _months(other) == [("2026-11-01", 0, 0, None), ("2026-12-01", 0, 0, None)]

    elsewhere = await world.brand(name="别家")
    owner = await world.staff(elsewhere)
    stranger = await world.leader(elsewhere, await world.community(elsewhere, "别家小区"), approver=owner, name="老周")
    for leader_id in (stranger.leader_id, 999_999):
        missing = await _dashboard(client, stage.owner, stage.brand_id, leader_id=leader_id)
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "leader_not_found")


async def test_one_communitys_figures(client, ctx, world, evening):  # noqa: F811
    stage, _ = evening
    async with ctx.db.read() as s:
        other_community = (await s.get(Leader, stage.other_leader.leader_id)).community_id
    # One more walk-in on the 15th picks up at 翠湖花园.
    await buy(ctx, replace(stage, community_id=other_community), await world.user(), quantity=1, offer=False)

    home = (await _dashboard(client, stage.owner, stage.brand_id, community_id=stage.community_id)).json()
    assert home["community_id"] == stage.community_id
    assert _figures(home["totals"]) == (4, 44000, 3000, 41000)  # the evening's four orders are picked up at 云顶华府
    assert _busy_days(home) == {NOV_30: (1, 8800, 0, 8800), DEC_1: (2, 26400, 3000, 23400), DEC_15: (1, 8800, 0, 8800)}
    assert _months(home) == [("2026-11-01", 1, 1, 10_000), ("2026-12-01", 3, 0, 0)]

    there = (await _dashboard(client, stage.owner, stage.brand_id, community_id=other_community)).json()
    assert _figures(there["totals"]) == (1, 8800, 0, 8800)
    assert _busy_days(there) == {DEC_15: (1, 8800, 0, 8800)}
    assert _months(there) == [("2026-11-01", 0, 0, None), ("2026-12-01", 1, 0, 0)]

    brand_wide = (await _dashboard(client, stage.owner, stage.brand_id)).json()
    assert _figures(brand_wide["totals"]) == (5, 52800, 3000, 49800)
    # GMV per community, highest first, adding up to the totals; with a community chosen, that one alone.
    assert [(c["community_id"], c["name"], *_figures(c)) for c in brand_wide["communities"]] == [
        (stage.community_id, "云顶华府", 4, 44000, 3000, 41000), (other_community, "翠湖花园", 1, 8800, 0, 8800)
    ]
    assert [c["community_id"] for c in there["communities"]] == [other_community]
    november = (await _dashboard(client, stage.owner, stage.brand_id, date_from="2026-11-01", date_to=NOV_30,
                                 leader_id=stage.leader.leader_id)).json()
    assert [(c["name"], *_figures(c)) for c in november["communities"]] == [("云顶华府", 1, 8800, 0, 8800)]
    assert (await _dashboard(client, stage.owner, stage.brand_id, date_from="2026-10-01",
                             date_to="2026-10-31")).json()["communities"] == []
    assert _months(brand_wide) == [("2026-11-01", 1, 1, 10_000), ("2026-12-01", 4, 0, 0)]

    both = (await _dashboard(client, stage.owner, stage.brand_id, community_id=stage.community_id,
                             leader_id=stage.leader.leader_id)).json()
    assert _figures(both["totals"]) == (3, 35200, 3000, 32200)
    assert _months(both) == [("2026-11-01", 1, 1, 10_000), ("2026-12-01", 2, 0, 0)]

    elsewhere = await world.brand(name="别家")
    foreign = await world.community(elsewhere, "别家小区")
    for community_id in (foreign, 999_999):
        missing = await _dashboard(client, stage.owner, stage.brand_id, community_id=community_id)
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "community_not_found")


async def test_the_top_leaders_are_ranked_by_gmv(client, ctx, world, evening):  # noqa: F811
    stage, _ = evening
    # Three of 王姐's neighbours buy 2 × 88.00 each on the 15th: 528.00, more than 小李's 322.00 over the 30 days.
    async with ctx.db.read() as s:
        other_community = (await s.get(Leader, stage.other_leader.leader_id)).community_id
    there = replace(stage, community_id=other_community)
    for _ in range(3):
        await buy(ctx, there, await bound_member(world, stage.other_leader), quantity=2, offer=False)
    body = (await _dashboard(client, stage.owner, stage.brand_id)).json()
    assert [(t["leader_id"], t["name"], t["orders"], t["gmv_fen"]) for t in body["leaders"]] == [
        (stage.other_leader.leader_id, "王姐", 3, 52800), (stage.leader.leader_id, "小李", 3, 32200)
    ]
    november = (await _dashboard(client, stage.owner, stage.brand_id, date_from="2026-11-01", date_to=NOV_30)).json()
    assert [(t["name"], t["orders"], t["gmv_fen"]) for t in november["leaders"]] == [("小李", 1, 8800)]


async def test_only_the_brands_staff_read_it(client, world, evening):  # noqa: F811
    stage, _ = evening
    assert (await _dashboard(client, stage.owner, stage.brand_id)).status_code == 200
    neighbour = await bound_member(world, stage.leader)
    elsewhere = await world.brand(name="别家")
    foreign_staff = await world.staff(elsewhere)
    actors = (stage.leader.actor, neighbour, foreign_staff)
    refused = [await _dashboard(client, actor, stage.brand_id) for actor in actors]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(403, "staff_only")] * 3
    anonymous = await client.get(URL.format(brand=stage.brand_id))
    assert anonymous.status_code == 401
    assert (await _dashboard(client, stage.owner, 999_999)).status_code == 404


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"date_from": DEC_15, "date_to": DEC_1}, "range_invalid"),
        ({"date_from": "2025-11-10", "date_to": DEC_15}, "range_too_long"),  # 401 days
        ({"date_from": "2026-12-16"}, "range_invalid"),  # after today, where `to` defaults to
        ({"date_from": "2026-13-01"}, "date_invalid"),
        ({"date_from": "2026-2-30"}, "date_invalid"),
        ({"date_to": "2026-02-30"}, "date_invalid"),
        ({"date_from": "tomorrow"}, "date_invalid"),
        ({"date_from": "1899-12-31", "date_to": "1900-01-01"}, "date_invalid"),
        ({"date_from": "2026-12-01T00:00"}, "invalid_request"),  # longer than a date
        ({"leader_id": "0"}, "invalid_request"),
        ({"community_id": str(10**20)}, "invalid_request"),
    ],
)
async def test_a_range_it_cannot_show_is_a_clear_422(client, evening, params, code):  # noqa: F811
    stage, _ = evening
    answer = await _dashboard(client, stage.owner, stage.brand_id, **params)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, code), answer.text
