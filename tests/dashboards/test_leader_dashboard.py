"""The leader's dashboard over HTTP: the figures of each period by hand, and who may read it."""

from __future__ import annotations

import pytest

from linli.ledger import service as ledger
from linli.payouts import service as payouts
from tests.dashboards.test_rollups import evening  # noqa: F401 - the fixture
from tests.orders.setup import bound_member

URL = "/api/v1/brands/{brand}/leader/dashboard"


async def _dashboard(client, actor, brand: int, period: str | None = None):
    params = {"period": period} if period else {}
    return await client.get(URL.format(brand=brand), params=params, headers=actor.headers)


async def test_each_period_shows_the_hand_counted_figures(ctx, client, evening):  # noqa: F811
    stage, _ = evening  # the clock stands on 15 December (Shanghai)
    me = stage.leader.actor
    today = (await _dashboard(client, me, stage.brand_id)).json()
    assert (today["period"], today["today"], today["first_day"], today["last_day"]) == ("today", "2026-12-15", "2026-12-15", "2026-12-15")
    assert (today["orders"], today["gmv_fen"], today["paying_members"]) == (0, 0, 0)  # the 15th's order was a walk-in's
    assert today["rank"] is None

    month = (await _dashboard(client, me, stage.brand_id, "month")).json()
    assert (month["first_day"], month["last_day"]) == ("2026-12-01", "2026-12-15")
    # 1 Dec: order b (2 × 88.00) and order c (88.00); 30.00 of b refunded on the 15th counts on the 1st.
    assert (month["orders"], month["paid_fen"], month["refunded_fen"], month["gmv_fen"]) == (2, 26400, 3000, 23400)
    assert month["paying_members"] == 2 and month["new_members"] == 0
    # This month shows November's repurchase: its one paying member paid again in December.
    assert month["repurchase"] == {"month": "2026-11-01", "paying_members": 1, "bought_again_next_month": 1, "rate_bp": 10_000}
    assert (month["rank"], month["ranked_leaders"]) == (1, 1)

    november = (await _dashboard(client, me, stage.brand_id, "2026-11")).json()
    assert (november["first_day"], november["last_day"]) == ("2026-11-01", "2026-11-30")
    assert (november["orders"], november["gmv_fen"], november["paying_members"]) == (1, 8800, 1)
    assert november["new_members"] == 2  # both neighbours entered with 小李's code on 20 November
    assert november["repurchase"]["month"] == "2026-11-01"

    week = (await _dashboard(client, me, stage.brand_id, "week")).json()
    assert (week["first_day"], week["last_day"]) == ("2026-12-14", "2026-12-15")  # Monday to today

    async with ctx.db.read() as s:
        balances = await ledger.leader_balances(session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id)
        paid_out = await payouts.paid_out_fen(session=s, leader_id=stage.leader.leader_id)
    assert (month["pending_fen"], month["available_fen"], month["withdrawing_fen"], month["withdrawn_fen"]) == (
        balances.pending_fen, balances.available_fen, balances.withdrawing_fen, paid_out
    )
    assert month["pending_fen"] > 0

    other = (await _dashboard(client, stage.other_leader.actor, stage.brand_id, "month")).json()
    assert (other["orders"], other["gmv_fen"], other["rank"], other["ranked_leaders"]) == (0, 0, None, 1)


async def test_only_an_active_leader_of_the_brand_reads_their_own(ctx, client, world, evening):  # noqa: F811
    stage, _ = evening
    neighbour = await bound_member(world, stage.leader)
    refused = [await _dashboard(client, actor, stage.brand_id, "month") for actor in (neighbour, stage.owner)]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(403, "leader_only"), (403, "leader_only")]
    elsewhere = await world.brand(name="别家")
    assert (await _dashboard(client, stage.leader.actor, elsewhere)).status_code == 403
    assert (await client.get(URL.format(brand=stage.brand_id))).status_code == 401
    missing = await _dashboard(client, stage.leader.actor, 999_999)
    assert missing.status_code == 404


@pytest.mark.parametrize(("period", "code"), [("yesterday", "period_invalid"), ("2026-13", "period_invalid"),
                                              ("2027-01", "period_in_future"), ("1999-12", "period_invalid")])
async def test_a_period_it_cannot_show_is_a_clear_422(client, evening, period, code):  # noqa: F811
    stage, _ = evening
    answer = await _dashboard(client, stage.leader.actor, stage.brand_id, period)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, code)
