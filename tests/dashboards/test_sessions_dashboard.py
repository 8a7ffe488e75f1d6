"""The sessions dashboard over HTTP: a session's GMV against its communities' non-live baseline, the GMV per
community, the funnel per session and per leader — every figure counted by hand — the session filter, who may
read it and the input it refuses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from linli.dashboards.rebuild import rollups_agree
from linli.leaders.models import Leader
from linli.live.models import LiveSession
from tests.dashboards import kpi_setup as kpi
from tests.factories import make_live_session
from tests.ledger.helpers import buy, refund
from tests.orders.setup import bound_member, build_stage

URL = "/api/v1/brands/{brand}/dashboard/sessions"
# Shanghai is UTC+8.
OCT_30 = datetime(2026, 10, 30, 4, 0, tzinfo=UTC)  # 12:00 on 30 Oct: before the baseline's 28 days
OCT_31_EARLY = datetime(2026, 10, 30, 16, 30, tzinfo=UTC)  # 00:30 on 31 Oct: the baseline's first day
NOV_27_LATE = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)  # 23:30 on 27 Nov: its last day
NOV_28_EVENING = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # 20:00 on 28 Nov: the session starts
NOV_28_LATE = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)  # 22:00: it ends
NOV_29 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)  # 10:00 on 29 Nov (logins last 30 days: the story fits in them)


@pytest.fixture
async def evening(ctx, world, clock):
    return await session_evening(ctx, world, clock)


async def session_evening(ctx, world, clock):
    """Orders outside any session at 云顶华府 (A) and 翠湖花园 (B) from 30 October, then one session on 28 November:
    visits through 小李's and 王姐's codes and without one, four paid orders (one paid late, after the end),
    one never paid, a refund of a session order and one of a baseline order."""
    clock.set(OCT_30)
    stage = await build_stage(world, per_member_limit=99, allocation=5000, stock=5000, live_price_fen=8800)
    async with ctx.db.read() as s:
        community_b = (await s.get(Leader, stage.other_leader.leader_id)).community_id
    m1, m2 = await bound_member(world, stage.leader), await bound_member(world, stage.leader)
    m3 = await bound_member(world, stage.other_leader)
    walk_in = await world.user()
    await kpi.buy_off_session(ctx, stage, m1)  # x0, 30 Oct: 88.00 at A, outside the window
    clock.set(OCT_31_EARLY)
    x1 = await kpi.buy_off_session(ctx, stage, m1, quantity=2)  # 31 Oct: 176.00 at A
    clock.set(NOV_27_LATE)
    await kpi.buy_off_session(ctx, stage, m3, community_id=community_b)  # x2, 27 Nov: 88.00 at B

    clock.set(NOV_28_EVENING)
    async with ctx.db.transaction() as s:
        await s.execute(update(LiveSession).where(LiveSession.id == stage.session_id)
                        .values(started_at=NOV_28_EVENING, scheduled_start_at=NOV_28_EVENING))
    li, wang = stage.leader.code, stage.other_leader.code
    for user, code in ((None, li), (None, li), (m1, li), (m1, li), (m2, li), (m3, wang), (walk_in, None), (None, None)):
        await kpi.visit(ctx, stage.session_id, user=user, code=code)
    await buy(ctx, stage, m1, offer=False)  # l1, A 88.00
    l2 = await buy(ctx, stage, m2, quantity=2, offer=False)  # A 176.00
    await buy(ctx, replace(stage, community_id=community_b), m3, offer=False)  # l3, B 88.00
    l4 = await kpi.place(ctx, stage, m1)  # A 88.00, paid late
    await kpi.place(ctx, stage, walk_in)  # never paid
    clock.set(NOV_28_LATE)
    await kpi.end(ctx, stage)
    await kpi.visit(ctx, stage.session_id, user=m2, code=li)  # at the end, so after it: not in the funnel
    clock.set(NOV_29)
    await kpi.pay_late(ctx, l4)
    await refund(ctx, l2, 3000)
    await refund(ctx, x1, 1000)
    return stage, community_b


async def _get(client, actor, brand: int, **params):
    query = {("from" if k == "date_from" else "to" if k == "date_to" else k): v for k, v in params.items()}
    return await client.get(URL.format(brand=brand), params=query, headers=actor.headers)


def _funnel(body: dict) -> tuple[int, int, int, int]:
    return body["views"], body["entries"], body["orders"], body["paid_orders"]


def _money(body: dict) -> tuple[int, int, int, int]:
    return body["orders"], body["paid_fen"], body["refunded_fen"], body["gmv_fen"]


async def test_a_sessions_gmv_its_baseline_and_its_funnel(client, ctx, evening):
    stage, _ = evening
    answer = await _get(client, stage.owner, stage.brand_id, date_from="2026-11-28", date_to="2026-11-29")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    [one] = body["sessions"]
    assert (one["session_id"], one["status"], one["start_day"]) == (stage.session_id, "ended", "2026-11-28")
    # l1 88.00 + l2 176.00 + l3 88.00 + l4 88.00 (paid on the 29th, after the end, still the session's); 30.00 back.
    assert _money(one) == (4, 44000, 3000, 41000)
    # The baseline: each community's orders outside any session from 31 October to 27 November, the 28 days
    # before the start day: A x1 (176.00 less 10.00 refunded; x0 of 30 October is outside), B x2 (23:30 on the 27th).
    assert [(c["name"], _money(c), c["baseline_fen"]) for c in one["communities"]] == [
        ("云顶华府", (3, 35200, 3000, 32200), 16600), ("翠湖花园", (1, 8800, 0, 8800), 8800),
    ]
    assert (one["baseline_fen"], one["baseline_day_fen"]) == (25400, 907)  # 254.00 ÷ 28, rounded down
    assert one["multiple_bp"] == 451968  # 410.00 × 28 ÷ 254.00 = 45.1968… baseline days
    # Views: 小李 5, 王姐 1, none 2 (the visit after the end is not counted); entries: 小李 m1 and m2, 王姐 m3,
    # none the walk-in. Orders: 小李 l1 l2 l4, 王姐 l3, none the walk-in's unpaid one; paid: four.
    assert _funnel(one["funnel"]) == (8, 4, 5, 4)
    assert _funnel(body["funnel"]) == (8, 4, 5, 4)
    assert [(f["name"], _funnel(f)) for f in body["leaders"]] == [("小李", (5, 2, 3, 3)), ("王姐", (1, 1, 1, 1))]
    assert _funnel(body["unattributed"]) == (2, 1, 1, 0)
    # Per community, by paid day within 28–29 November: A has l1 l2 (28th) and l4 (29th), B l3, all in the session.
    assert [(c["name"], _money(c), c["session_gmv_fen"]) for c in body["communities"]] == [
        ("云顶华府", (3, 35200, 3000, 32200), 32200), ("翠湖花园", (1, 8800, 0, 8800), 8800),
    ]
    assert _money(body["community_totals"]) == (4, 44000, 3000, 41000)
    async with ctx.db.read() as s:
        assert await rollups_agree(session=s) == {}


async def test_the_gmv_per_community_counts_every_order_on_its_paid_day(client, evening):
    stage, _ = evening
    body = (await _get(client, stage.owner, stage.brand_id, date_from="2026-10-01", date_to="2026-11-29")).json()
    # A: x0 88.00, x1 176.00 (10.00 back) outside sessions, the session's 352.00 (30.00 back); B: x2, l3.
    assert [(c["name"], _money(c), c["session_gmv_fen"]) for c in body["communities"]] == [
        ("云顶华府", (5, 61600, 4000, 57600), 32200), ("翠湖花园", (2, 17600, 0, 17600), 8800),
    ]
    assert _money(body["community_totals"]) == (7, 79200, 4000, 75200)
    assert body["community_totals"]["session_gmv_fen"] == 41000
    one_day = (await _get(client, stage.owner, stage.brand_id, date_from="2026-11-28", date_to="2026-11-28")).json()
    # l4 was paid on the 29th: not the 28th's, though its session is listed (it started on the 28th).
    assert [(c["name"], _money(c)) for c in one_day["communities"]] == [
        ("云顶华府", (2, 26400, 3000, 23400)), ("翠湖花园", (1, 8800, 0, 8800)),
    ]
    assert [s["session_id"] for s in one_day["sessions"]] == [stage.session_id]
    october = (await _get(client, stage.owner, stage.brand_id, date_from="2026-10-01", date_to="2026-10-31")).json()
    assert october["sessions"] == [] and _funnel(october["funnel"]) == (0, 0, 0, 0) and october["leaders"] == []
    assert _money(october["community_totals"]) == (2, 26400, 1000, 25400)  # x0, x1


async def test_a_session_still_live_shows_its_funnel_from_its_visits(client, ctx, world, evening):
    stage, community_b = evening
    second = await kpi.new_session(ctx, stage)  # starts on 29 November
    buyer = await bound_member(world, stage.other_leader)
    await kpi.visit(ctx, second.session_id, user=buyer, code=stage.other_leader.code)
    await kpi.visit(ctx, second.session_id)
    await buy(ctx, replace(second, community_id=community_b), buyer, offer=False)
    body = (await _get(client, stage.owner, stage.brand_id, session_id=second.session_id)).json()
    [one] = body["sessions"]
    assert (one["status"], _money(one), _funnel(one["funnel"])) == ("live", (1, 8800, 0, 8800), (2, 1, 1, 1))
    # Its community is B; B's orders outside sessions from 1 to 28 November: x2.
    assert (one["baseline_fen"], one["baseline_day_fen"], one["multiple_bp"]) == (8800, 314, 28 * 10_000)
    assert [(f["name"], _funnel(f)) for f in body["leaders"]] == [("王姐", (1, 1, 1, 1))]
    assert _funnel(body["unattributed"]) == (1, 0, 0, 0)

    both = (await _get(client, stage.owner, stage.brand_id, date_from="2026-11-28", date_to="2026-11-29")).json()
    assert [s["session_id"] for s in both["sessions"]] == [stage.session_id, second.session_id]
    assert _funnel(both["funnel"]) == (10, 5, 6, 5)
    assert [(f["name"], _funnel(f)) for f in both["leaders"]] == [("小李", (5, 2, 3, 3)), ("王姐", (2, 2, 2, 2))]


async def test_the_session_filter(client, world, evening):
    stage, _ = evening
    # The session is shown whatever the range; the range still chooses the communities' figures.
    body = (await _get(client, stage.owner, stage.brand_id, session_id=stage.session_id, date_from="2026-10-01",
                       date_to="2026-10-31")).json()
    assert body["session_id"] == stage.session_id
    assert [s["session_id"] for s in body["sessions"]] == [stage.session_id]
    assert _funnel(body["funnel"]) == (8, 4, 5, 4)
    assert [(f["name"], _funnel(f)) for f in body["leaders"]] == [("小李", (5, 2, 3, 3)), ("王姐", (1, 1, 1, 1))]
    assert _money(body["community_totals"]) == (2, 26400, 1000, 25400)  # x0, x1
    other_brand_session = await make_live_session(world, await world.brand(name="别家"), start=True)
    for session_id in (other_brand_session, 999_999):
        missing = await _get(client, stage.owner, stage.brand_id, session_id=session_id)
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "live_session_not_found")


async def test_only_the_brands_staff_read_it(client, world, evening):
    stage, _ = evening
    assert (await _get(client, stage.owner, stage.brand_id)).status_code == 200
    neighbour = await bound_member(world, stage.leader)
    foreign_staff = await world.staff(await world.brand(name="别家"))
    refused = [await _get(client, actor, stage.brand_id) for actor in (stage.leader.actor, neighbour, foreign_staff)]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(403, "staff_only")] * 3
    assert (await client.get(URL.format(brand=stage.brand_id))).status_code == 401
    assert (await _get(client, stage.owner, 999_999)).status_code == 404


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"date_from": "2026-11-29", "date_to": "2026-11-01"}, "range_invalid"),
        ({"date_from": "2025-10-24", "date_to": "2026-11-29"}, "range_too_long"),
        ({"date_to": "2026-02-30"}, "date_invalid"),
        ({"session_id": "0"}, "invalid_request"),
        ({"session_id": "abc"}, "invalid_request"),
        ({"session_id": str(10**20)}, "invalid_request"),
    ],
)
async def test_bad_input_is_a_clear_422(client, evening, params, code):
    stage, _ = evening
    answer = await _get(client, stage.owner, stage.brand_id, **params)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, code), answer.text
