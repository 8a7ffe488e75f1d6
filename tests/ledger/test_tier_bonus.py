"""Tier bonus: monthly GMV net of refunds in the brand's time zone, computed once, adjusted by new transactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linli.errors import InvalidInput
from linli.ledger import tier_bonus
from linli.ledger.models import TX_TIER_BONUS, LedgerTransaction
from tests.ledger.helpers import assert_audit_ok, balances, buy, refund, transactions
from tests.orders.setup import bound_member, build_stage

DEC_1 = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 00:00 on 1 Dec in Shanghai
TIERS = [
    {"threshold_fen": 20_000, "bonus_fen": 1_000},
    {"threshold_fen": 50_000, "bonus_fen": 3_000, "reward": "草莓礼盒一份"},
]


@pytest.fixture
async def stage(world, client):
    stage = await build_stage(world, quota=100, per_member_limit=20, price_fen=6800, live_price_fen=8800)
    response = await client.put(
        f"/api/v1/brands/{stage.brand_id}/commission-rules",
        json={
            "live_rate_bp": 1500, "off_session_rate_bp": 1000, "referral_rate_bp": 200, "referral_months": 12,
            "self_purchase_counts": True, "settlement_window_days": 1, "tier_bonuses": TIERS,
        },
        headers=stage.owner.headers,
    )
    assert response.status_code == 200, response.text
    return stage


async def compute(ctx, stage, now):  # noqa: ANN001, ANN201
    if now > ctx.clock.now():  # computing at a moment means it has come: the audit flags money dated after now
        ctx.clock.set(now)
    async with ctx.db.transaction() as s:
        return await tier_bonus.compute_month(session=s, brand_id=stage.brand_id, month="2026-11", now=now)


async def test_monthly_tiers_are_awarded_once_and_taken_back_when_refunds_drop_the_gmv(ctx, world, clock, stage):
    clock.advance(timedelta(minutes=1))
    li_order = await buy(ctx, stage, await bound_member(world, stage.leader), quantity=8)  # 54,400 fen
    await buy(ctx, stage, await bound_member(world, stage.other_leader), offer=False)  # 王姐: 8,800 fen
    clock.set(DEC_1 + timedelta(minutes=30))  # 00:30 on 1 Dec: counts for December, not November
    await buy(ctx, stage, await bound_member(world, stage.leader), quantity=5, offer=False)

    with pytest.raises(InvalidInput) as early:
        await compute(ctx, stage, DEC_1 - timedelta(seconds=1))
    assert early.value.code == "month_not_over"

    report = await compute(ctx, stage, DEC_1 + timedelta(hours=1))
    by_leader = {row.leader_id: row for row in report.rows}
    li, wang = by_leader[stage.leader.leader_id], by_leader[stage.other_leader.leader_id]
    assert (li.gmv_fen, li.threshold_fen, li.awarded_fen, li.reward) == (54_400, 50_000, 3_000, "草莓礼盒一份")
    assert (wang.gmv_fen, wang.threshold_fen, wang.awarded_fen) == (8_800, None, 0)
    assert (report.changed, report.posted_fen) == (1, 3_000)
    assert (await balances(ctx, stage)).available_fen == 3_000
    await assert_audit_ok(ctx)

    again = await compute(ctx, stage, DEC_1 + timedelta(hours=2))  # the command run twice posts nothing
    assert (again.changed, again.posted_fen, again.awarded_fen) == (0, 0, 3_000)

    await refund(ctx, li_order, 2 * 6_800)  # GMV 40,800: down to the first tier
    adjusted = await compute(ctx, stage, DEC_1 + timedelta(days=3))
    assert (adjusted.changed, adjusted.posted_fen) == (1, -2_000)
    await refund(ctx, li_order, 4 * 6_800)  # GMV 13,600: below every tier
    gone = await compute(ctx, stage, DEC_1 + timedelta(days=4))
    assert (gone.posted_fen, gone.awarded_fen) == (-1_000, 0)
    bonus_txs = await transactions(ctx, LedgerTransaction.kind == TX_TIER_BONUS)
    assert [t.idempotency_key for t in bonus_txs] == [f"tier-bonus:{stage.leader.leader_id}:2026-11:r{i}" for i in (1, 2, 3)]
    assert all(t.rule_version_id is not None and "2026-11" in t.memo for t in bonus_txs)
    assert (await balances(ctx, stage)).available_fen == 0
    await assert_audit_ok(ctx)


async def test_compute_all_runs_every_brand_and_refuses_a_bad_month(ctx, world, clock, stage):
    await buy(ctx, stage, await bound_member(world, stage.leader), quantity=3)
    clock.set(DEC_1)
    reports = await tier_bonus.compute_all(db=ctx.db, month="2026-11", now=DEC_1)
    assert [r.brand_id for r in reports] == [stage.brand_id]
    assert reports[0].rows[0].gmv_fen == 20_400 and reports[0].awarded_fen == 1_000
    for bad in ("2026-13", "26-11", "2026/11", ""):
        with pytest.raises(InvalidInput):
            await tier_bonus.compute_all(db=ctx.db, month=bad, now=DEC_1)
    await assert_audit_ok(ctx)


def test_month_bounds_are_in_the_brand_time_zone():
    start, end = tier_bonus.month_bounds("2026-12", "Asia/Shanghai")
    assert start.astimezone(UTC) == DEC_1
    assert end.astimezone(UTC) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
