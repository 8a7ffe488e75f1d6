"""An order above 2³¹ fen (22 × 1,000,000 元, within the documented limits) flows end to end on both databases:
placed and paid over HTTP, its commission accrued, settled, partly refunded and clawed back, counted in the tier
bonus and audited, with every figure exact."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from linli.ledger import tier_bonus
from tests.ledger.helpers import assert_audit_ok, complete, refund, settle
from tests.orders.setup import bound_member, build_stage

PRICE_FEN = 100_000_000  # the highest price a listing or an offer may have (1,000,000 元)
QUANTITY = 22
TOTAL_FEN = PRICE_FEN * QUANTITY  # 2,200,000,000 fen: above a 32-bit integer's 2,147,483,647
COMMISSION_FEN = TOTAL_FEN * 1500 // 10_000  # the default 15%
NEXT_MIDNIGHT = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # T+1 in Shanghai
DEC_1 = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


async def test_an_order_above_32_bits_is_placed_paid_settled_refunded_and_audited(ctx, world, clock, client):
    stage = await build_stage(world, price_fen=PRICE_FEN, live_price_fen=PRICE_FEN, per_member_limit=QUANTITY)
    tiers = {"tier_bonuses": [{"threshold_fen": 1_000_000_000, "bonus_fen": 5_000_000}]}
    rules = await client.put(
        f"/api/v1/brands/{stage.brand_id}/commission-rules",
        json={
            "live_rate_bp": 1500, "off_session_rate_bp": 1000, "referral_rate_bp": 0, "referral_months": 0,
            "self_purchase_counts": True, "settlement_window_days": 1, **tiers,
        },
        headers=stage.owner.headers,
    )
    assert rules.status_code == 200, rules.text
    buyer = await bound_member(world, stage.leader)

    placed = await client.post(
        "/api/v1/orders", json={"offer_id": stage.offer_id, "quantity": QUANTITY},
        headers={**buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["unit_price_fen"], order["quantity"], order["total_fen"]) == (PRICE_FEN, QUANTITY, TOTAL_FEN)

    started = await client.post(f"/api/v1/orders/{order['id']}/payments", json={}, headers=buyer.headers)
    assert started.status_code == 201, started.text
    assert started.json()["amount_fen"] == TOTAL_FEN
    out_trade_no = started.json()["out_trade_no"]
    done = await client.post(f"/api/v1/payments/simulator/{out_trade_no}/complete", json={"outcome": "success"})
    assert done.status_code == 200, done.text
    assert done.json()["outcomes"] == ["paid"]
    paid = await client.get(f"/api/v1/orders/{order['id']}", headers=buyer.headers)
    assert (paid.json()["status"], paid.json()["total_fen"]) == ("paid", TOTAL_FEN)
    [payment] = (await client.get(f"/api/v1/orders/{order['id']}/payments", headers=buyer.headers)).json()["items"]
    assert (payment["status"], payment["amount_fen"]) == ("succeeded", TOTAL_FEN)

    from linli.worker import run_until_idle

    await run_until_idle(ctx)
    commission_url = f"/api/v1/brands/{stage.brand_id}/leader/commission"
    accrued = (await client.get(commission_url, headers=stage.leader.actor.headers)).json()
    [line] = accrued["items"]
    assert (line["paid_fen"], line["commission_fen"], line["status"]) == (TOTAL_FEN, COMMISSION_FEN, "pending")
    assert accrued["balances"] == {"pending_fen": COMMISSION_FEN, "available_fen": 0, "withdrawing_fen": 0}

    await complete(ctx, order["id"])
    clock.set(NEXT_MIDNIGHT)
    await settle(ctx)
    settled = (await client.get(commission_url, headers=stage.leader.actor.headers)).json()
    assert settled["balances"] == {"pending_fen": 0, "available_fen": COMMISSION_FEN, "withdrawing_fen": 0}

    await refund(ctx, order["id"], TOTAL_FEN // 2)  # half of it back: half of the commission is clawed back
    refunded = (await client.get(commission_url, headers=stage.leader.actor.headers)).json()
    [line] = refunded["items"]
    assert (line["refunded_fen"], line["clawed_back_fen"]) == (TOTAL_FEN // 2, COMMISSION_FEN // 2)
    assert refunded["balances"]["available_fen"] == COMMISSION_FEN // 2

    clock.set(DEC_1)  # the month has closed: nothing may be dated after the clock (the audit checks it)
    async with ctx.db.transaction() as s:
        report = await tier_bonus.compute_month(session=s, brand_id=stage.brand_id, month="2026-11", now=DEC_1)
    [row] = [r for r in report.rows if r.leader_id == stage.leader.leader_id]
    assert (row.gmv_fen, row.threshold_fen, row.awarded_fen) == (TOTAL_FEN // 2, 1_000_000_000, 5_000_000)

    report_url = f"/api/v1/brands/{stage.brand_id}/commission-report?from=2026-11-01&to=2026-11-30"
    brand_report = await client.get(report_url, headers=stage.owner.headers)
    assert brand_report.status_code == 200, brand_report.text
    total = brand_report.json()["total"]
    assert (total["paid_fen"], total["refunded_fen"], total["accrued_fen"], total["clawed_back_fen"]) == (
        TOTAL_FEN, TOTAL_FEN // 2, COMMISSION_FEN, COMMISSION_FEN // 2
    )
    final = (await client.get(commission_url, headers=stage.leader.actor.headers)).json()
    assert final["balances"]["available_fen"] == COMMISSION_FEN // 2 + 5_000_000
    await assert_audit_ok(ctx)
