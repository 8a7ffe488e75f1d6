"""New leaders and new members per local day, by hand (both databases): across a local midnight, a transfer and a
reinstatement that are not new, another brand's that are not ours; over HTTP, who may read it and the ranges
refused; and a rebuild from a day, which leaves the earlier rows as they are."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from linli.attribution import service as attribution
from linli.dashboards.models import BrandGrowthDay, LeaderIncomeMonth
from linli.dashboards.rebuild import rebuild_rollups
from linli.dashboards.rebuild_leaders import leader_rollups_differ
from linli.leaders import service as leaders
from linli.worker import run_until_idle
from tests.dashboards.test_rollups import _agree
from tests.ledger.helpers import buy
from tests.orders.setup import bound_member, build_stage

URL = "/api/v1/brands/{brand}/dashboard/growth"
NOV_20_LATE = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
NOV_21_EARLY = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 00:30 on the 21st


@pytest.fixture
async def growing(ctx, world, clock):
    stage = await build_stage(world)  # 10:00 on 20 November: 小李 and 王姐 approved
    first = await bound_member(world, stage.leader)
    clock.set(NOV_20_LATE)
    await bound_member(world, stage.other_leader)
    clock.set(NOV_21_EARLY)
    await bound_member(world, stage.leader)
    await world.leader(stage.brand_id, await world.community(stage.brand_id, "新小区"), approver=stage.owner, name="老陈")
    now = clock.now()
    async with ctx.db.transaction() as s:  # 小李 suspended and reinstated: no new leader
        await leaders.suspend(session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, reason="核查",
                              actor_user_id=stage.owner.user_id, now=now)
        await leaders.reinstate(session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id,
                                actor_user_id=stage.owner.user_id, now=now)
    async with ctx.db.transaction() as s:  # the first neighbour tries 王姐's code, is refused, and is moved to her
        outcome = await attribution.enter_with_code(session=s, user_id=first.user_id, raw_code=stage.other_leader.code,
                                                    now=now)
        assert outcome.result == "refused"
        dispute = await attribution.open_dispute(session=s, brand_id=stage.brand_id, leader_id=stage.other_leader.leader_id,
                                                 member_id=outcome.member_id, reason="是我拉来的", now=now)
        await attribution.resolve_dispute(session=s, brand_id=stage.brand_id, dispute_id=dispute.id, decision="upheld",
                                          reason="核实属实", actor_user_id=stage.owner.user_id, now=now)
    elsewhere = await world.brand(name="别家")
    foreign = await world.leader(elsewhere, await world.community(elsewhere, "别家小区"), approver=await world.staff(elsewhere),
                                 name="老周")
    await bound_member(world, foreign)
    await run_until_idle(ctx)
    return stage


async def test_the_days_match_the_hand_count(ctx, growing):
    stage = growing
    async with ctx.db.read() as s:
        days = {(r.day, r.leaders_approved, r.members_bound)
                for r in await s.scalars(select(BrandGrowthDay).where(BrandGrowthDay.brand_id == stage.brand_id))}
    # 20th: 小李, 王姐; two neighbours (the second at 23:30). 21st (00:30): 老陈 and the third neighbour. The
    # reinstatement and the transfer add nothing; 老周 and his neighbour are the other brand's.
    assert days == {(date(2026, 11, 20), 2, 2), (date(2026, 11, 21), 1, 1)}
    assert await _agree(ctx) == {}


async def test_growth_over_http(client, world, growing):
    stage = growing
    body = (await client.get(URL.format(brand=stage.brand_id), headers=stage.owner.headers)).json()
    assert (body["first_day"], body["last_day"], body["today"]) == ("2026-10-23", "2026-11-21", "2026-11-21")
    assert (body["leaders_approved"], body["members_bound"], len(body["days"])) == (3, 3, 30)
    assert body["days"][-2:] == [{"day": "2026-11-20", "leaders_approved": 2, "members_bound": 2},
                                 {"day": "2026-11-21", "leaders_approved": 1, "members_bound": 1}]
    one = (await client.get(URL.format(brand=stage.brand_id), params={"from": "2026-11-21", "to": "2026-11-21"},
                            headers=stage.owner.headers)).json()
    assert (one["leaders_approved"], one["members_bound"], len(one["days"])) == (1, 1, 1)

    elsewhere = await world.brand(name="又一家")
    for actor in (await world.staff(elsewhere), stage.leader.actor, await bound_member(world, stage.leader)):
        refused = await client.get(URL.format(brand=stage.brand_id), headers=actor.headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "staff_only")
    assert (await client.get(URL.format(brand=stage.brand_id))).status_code == 401


@pytest.mark.parametrize(
    ("params", "code"),
    [({"from": "2026-11-22", "to": "2026-11-21"}, "range_invalid"), ({"from": "2025-10-17"}, "range_too_long"),
     ({"to": "2026-02-30"}, "date_invalid"), ({"from": "2026-11-21T00:00"}, "invalid_request")],
)
async def test_a_range_it_cannot_show_is_a_clear_422(client, growing, params, code):
    answer = await client.get(URL.format(brand=growing.brand_id), params=params, headers=growing.owner.headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, code), answer.text


async def test_a_rebuild_from_a_day_leaves_the_earlier_rows_as_they_are(ctx, world, clock):
    stage = await build_stage(world)
    buyer = await bound_member(world, stage.leader)
    await buy(ctx, stage, buyer, quantity=1, offer=False)  # November's commission
    clock.set(datetime(2026, 12, 3, 4, 0, tzinfo=UTC))
    await buy(ctx, stage, buyer, quantity=1, offer=False)  # December's
    await bound_member(world, stage.leader)
    await run_until_idle(ctx)
    async with ctx.db.transaction() as s:  # drift on both sides of 1 December
        for row in await s.scalars(select(LeaderIncomeMonth)):
            row.accrued_fen += 1
        for row in await s.scalars(select(BrandGrowthDay)):
            row.members_bound += 1
    async with ctx.db.read() as s:
        assert await leader_rollups_differ(session=s) == {"leader_income_months": 2, "brand_growth_days": 2}
    async with ctx.db.transaction() as s:
        written = await rebuild_rollups(session=s, brand_id=stage.brand_id, first_day=date(2026, 12, 2))
    assert written["leader_income_months"] == 1 and written["brand_growth_days"] == 1
    async with ctx.db.read() as s:  # December (the month of the 2nd) and the 3rd repaired; November not touched
        assert await leader_rollups_differ(session=s) == {"leader_income_months": 1, "brand_growth_days": 1}
        november = await s.scalar(select(BrandGrowthDay).where(BrandGrowthDay.day == date(2026, 11, 20)))
        assert (november.leaders_approved, november.members_bound) == (2, 2)  # 1 bound + the drift
    async with ctx.db.transaction() as s:
        await rebuild_rollups(session=s)
    assert await _agree(ctx) == {}
