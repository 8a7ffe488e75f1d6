"""The life of a withdrawal: request, approval, payout (instant, pending then notified, failed, returned),
rejection; the ledger postings of each step, the fee split, the daily cap in the brand's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linli.ledger import service as ledger
from linli.ledger.models import BRAND_PAYOUT_FEE_INCOME, BRAND_PAYOUTS_CLEARING, LedgerTransaction
from linli.ledger.statements import TRANSACTION_KIND_TEXT
from linli.payouts import service as payouts
from linli.worker import run_until_idle
from tests.ledger.helpers import assert_audit_ok, balances, refund, transactions
from tests.payouts.conftest import approve, ask, earn, error_code, withdrawal


async def brand_balance(ctx, stage, kind: str) -> int:
    async with ctx.db.transaction() as s:
        account = await ledger.brand_account(session=s, brand_id=stage.brand_id, kind=kind, now=ctx.clock.now())
        return await ledger.balance(session=s, account_id=account.id)


async def set_policy(client, stage, **policy) -> None:
    body = {"min_amount_fen": 1000, "fee_bp": 0, "daily_cap_fen": 500_000, **policy}
    r = await client.put(f"/api/v1/brands/{stage.brand_id}/withdrawal-policy", json=body, headers=stage.owner.headers)
    assert r.status_code == 200, r.text


async def test_request_approve_and_instant_payout_with_a_fee(ctx, world, stage, client, payout_sim):
    assert await earn(ctx, world, stage) == 10_200  # 10 boxes × 68 元 × 15%
    await set_policy(client, stage, fee_bp=60)  # 0.6%
    me = await client.get(f"/api/v1/brands/{stage.brand_id}/leader/withdrawal-policy", headers=stage.leader.actor.headers)
    assert me.json()["withdrawable_now_fen"] == 10_200 and me.json()["policy"]["fee_bp"] == 60

    r = await ask(client, stage, stage.leader.actor, 8_875)
    assert r.status_code == 201, r.text
    w = r.json()
    # 8,875 × 0.6% = 53.25 fen → 53; the leader receives 8,822.
    assert (w["amount_fen"], w["fee_fen"], w["net_fen"], w["status"], w["status_text"]) == (8_875, 53, 8_822, "requested", "待审核")
    assert await balances(ctx, stage) == ledger.LeaderBalances(pending_fen=0, available_fen=1_325, withdrawing_fen=8_875)
    await assert_audit_ok(ctx)

    approved = await approve(client, stage, stage.owner, w["id"])
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["out_detail_no"] == f"LLWD{w['id']:010d}"
    await run_until_idle(ctx)
    row = await withdrawal(ctx, w["id"])
    assert row.status == "paid" and row.finished_at == ctx.clock.now()
    assert payout_sim.transfers[row.out_detail_no].amount_fen == 8_822
    assert await balances(ctx, stage) == ledger.LeaderBalances(pending_fen=0, available_fen=1_325, withdrawing_fen=0)
    assert await brand_balance(ctx, stage, BRAND_PAYOUTS_CLEARING) == 8_822
    assert await brand_balance(ctx, stage, BRAND_PAYOUT_FEE_INCOME) == 53
    posted = await transactions(ctx, LedgerTransaction.idempotency_key.like(f"withdrawal:{w['id']}:%"))
    assert [(t.kind, t.idempotency_key) for t in posted] == [
        ("withdrawal_requested", f"withdrawal:{w['id']}:request"), ("withdrawal_paid", f"withdrawal:{w['id']}:paid"),
    ]
    assert all(t.kind in TRANSACTION_KIND_TEXT and t.leader_id == stage.leader.leader_id for t in posted)
    await assert_audit_ok(ctx)

    mine = await client.get(f"/api/v1/brands/{stage.brand_id}/leader/withdrawals", headers=stage.leader.actor.headers)
    assert [(i["id"], i["status_text"], i["leader_name"]) for i in mine.json()["items"]] == [(w["id"], "已到账", "小李")]
    # The leader's own withdrawal names them, from the request on, as the staff's list does.
    assert w["leader_name"] == "小李"
    one = await client.get(f"/api/v1/brands/{stage.brand_id}/leader/withdrawals/{w['id']}", headers=stage.leader.actor.headers)
    assert one.status_code == 200 and one.json()["leader_name"] == "小李"


async def test_a_pending_transfer_is_settled_by_the_signed_notification(ctx, world, stage, client, payout_sim):
    await earn(ctx, world, stage)
    payout_sim.mode = "pending"
    w = (await ask(client, stage, stage.leader.actor, 5_000)).json()
    await approve(client, stage, stage.owner, w["id"])
    await run_until_idle(ctx)
    row = await withdrawal(ctx, w["id"])
    assert (row.status, row.provider_state) == ("approved", "PENDING")
    assert (await balances(ctx, stage)).withdrawing_fen == 5_000
    await assert_audit_ok(ctx)

    done = await client.post(
        f"/api/v1/payouts/simulator/{row.out_detail_no}/complete", json={"outcome": "paid", "duplicates": 2},
        headers=stage.owner.headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["outcomes"] == ["paid", "duplicate", "duplicate"]
    assert (await withdrawal(ctx, w["id"])).status == "paid"
    # A replay of the signed notification later changes nothing either.
    n = done.json()["notifications"][0]
    again = await client.post("/api/v1/payouts/simulator/notify", content=n["body"].encode(), headers=n["headers"])
    assert again.json() == {"outcome": "duplicate"}
    assert (await balances(ctx, stage)).withdrawing_fen == 0
    await assert_audit_ok(ctx)


async def test_a_failed_transfer_gives_the_money_back_to_available(ctx, world, stage, client, payout_sim):
    available = await earn(ctx, world, stage)
    payout_sim.mode = "fail"
    w = (await ask(client, stage, stage.leader.actor, 6_000)).json()
    await approve(client, stage, stage.owner, w["id"])
    await run_until_idle(ctx)
    row = await withdrawal(ctx, w["id"])
    assert (row.status, row.failure_reason) == ("failed", "模拟打款失败（收款账户异常）")
    assert await balances(ctx, stage) == ledger.LeaderBalances(pending_fen=0, available_fen=available, withdrawing_fen=0)
    # A failed withdrawal does not use up the daily cap; the leader can ask again at once.
    payout_sim.mode = "instant"
    again = await ask(client, stage, stage.leader.actor, available)
    assert again.status_code == 201
    await assert_audit_ok(ctx)


async def test_a_returned_payout_is_reversed_fee_included(ctx, world, stage, client, payout_sim):
    await earn(ctx, world, stage)
    await set_policy(client, stage, fee_bp=100)
    w = (await ask(client, stage, stage.leader.actor, 10_000)).json()
    await approve(client, stage, stage.owner, w["id"])
    await run_until_idle(ctx)
    row = await withdrawal(ctx, w["id"])
    assert row.status == "paid"
    done = await client.post(
        f"/api/v1/payouts/simulator/{row.out_detail_no}/complete", json={"outcome": "returned"}, headers=stage.owner.headers
    )
    assert done.json()["outcomes"] == ["returned"]
    row = await withdrawal(ctx, w["id"])
    assert (row.status, row.failure_reason) == ("returned", "模拟退回（收款账户已注销）")
    assert await balances(ctx, stage) == ledger.LeaderBalances(pending_fen=0, available_fen=10_200, withdrawing_fen=0)
    assert await brand_balance(ctx, stage, BRAND_PAYOUTS_CLEARING) == 0
    assert await brand_balance(ctx, stage, BRAND_PAYOUT_FEE_INCOME) == 0
    await assert_audit_ok(ctx)


async def test_staff_reject_with_a_reason_and_the_amount_goes_back(ctx, world, stage, client):
    await earn(ctx, world, stage)
    w = (await ask(client, stage, stage.leader.actor, 3_000)).json()
    url = f"/api/v1/brands/{stage.brand_id}/withdrawals/{w['id']}/reject"
    empty = await client.post(url, json={"reason": "  "}, headers=stage.owner.headers)
    assert empty.status_code == 422 and error_code(empty) == "reject_reason_required"
    r = await client.post(url, json={"reason": "收款信息有误"}, headers=stage.owner.headers)
    assert r.status_code == 200 and (r.json()["status"], r.json()["reject_reason"]) == ("rejected", "收款信息有误")
    assert (await balances(ctx, stage)).available_fen == 10_200
    late = await approve(client, stage, stage.owner, w["id"])
    assert late.status_code == 409 and error_code(late) == "withdrawal_not_pending"
    listed = await client.get(f"/api/v1/brands/{stage.brand_id}/withdrawals?status=rejected", headers=stage.owner.headers)
    assert [(i["id"], i["leader_name"]) for i in listed.json()["items"]] == [(w["id"], "小李")]
    await assert_audit_ok(ctx)


async def test_the_daily_cap_counts_the_brands_business_day(ctx, world, stage, client, clock):
    await earn(ctx, world, stage, boxes=60)  # 612 元
    await set_policy(client, stage, daily_cap_fen=20_000)
    clock.set(datetime(2026, 11, 23, 15, 30, tzinfo=UTC))  # 23:30 in Shanghai
    assert (await ask(client, stage, stage.leader.actor, 15_000)).status_code == 201
    over = await ask(client, stage, stage.leader.actor, 5_001)
    assert over.status_code == 409 and error_code(over) == "withdrawal_daily_cap_exceeded"
    assert over.json()["error"]["details"]["today_remaining_fen"] == 5_000
    assert (await ask(client, stage, stage.leader.actor, 5_000)).status_code == 201
    clock.advance(timedelta(minutes=31))  # 00:01 the next day in Shanghai, still the 23rd in UTC
    assert (await ask(client, stage, stage.leader.actor, 20_000)).status_code == 201
    await assert_audit_ok(ctx)


async def test_a_clawback_after_withdrawal_leaves_available_negative_and_blocks_withdrawing(ctx, world, stage, client):
    buyer_available = await earn(ctx, world, stage)
    w = (await ask(client, stage, stage.leader.actor, buyer_available)).json()
    await approve(client, stage, stage.owner, w["id"])
    await run_until_idle(ctx)
    async with ctx.db.read() as s:
        line = (await s.execute(LedgerTransaction.__table__.select().where(LedgerTransaction.kind == "accrual"))).first()
    await refund(ctx, line.order_id, 5 * 6_800)  # half the order refunded after the money was withdrawn
    assert (await balances(ctx, stage)).available_fen == -5_100
    r = await ask(client, stage, stage.leader.actor, 1_000)
    assert r.status_code == 409 and error_code(r) == "withdrawal_exceeds_available"
    await assert_audit_ok(ctx)


async def test_policy_defaults_and_changes_apply_to_later_requests(ctx, world, stage, client):
    r = await client.get(f"/api/v1/brands/{stage.brand_id}/withdrawal-policy", headers=stage.owner.headers)
    assert r.json() | {"updated_at": None} == {
        "min_amount_fen": 1000, "fee_bp": 0, "daily_cap_fen": 500_000, "is_default": True, "updated_at": None,
        "updated_by_user_id": None,
    }
    await earn(ctx, world, stage)
    before = (await ask(client, stage, stage.leader.actor, 2_000)).json()
    await set_policy(client, stage, fee_bp=500, min_amount_fen=2_000)
    after = (await ask(client, stage, stage.leader.actor, 2_000)).json()
    assert (before["fee_fen"], after["fee_fen"], after["net_fen"]) == (0, 100, 1_900)
    small = await ask(client, stage, stage.leader.actor, 1_999)
    assert small.status_code == 422 and error_code(small) == "withdrawal_below_minimum"
    for bad, code in (({"fee_bp": 2001}, "payout_fee_invalid"), ({"min_amount_fen": 99}, "payout_min_invalid"),
                      ({"daily_cap_fen": 500}, "payout_daily_cap_invalid")):
        body = {"min_amount_fen": 1000, "fee_bp": 0, "daily_cap_fen": 500_000, **bad}
        r = await client.put(f"/api/v1/brands/{stage.brand_id}/withdrawal-policy", json=body, headers=stage.owner.headers)
        assert r.status_code == 422 and error_code(r) == code


def test_fee_split_rounds_half_up_and_sums_back():
    assert payouts.split_fee(8_875, 60) == (53, 8_822)  # 53.25
    assert payouts.split_fee(2_500, 10) == (3, 2_497)  # 2.5 → 3
    assert payouts.split_fee(1_000, 0) == (0, 1_000)
    for amount in range(100, 5_000, 37):
        fee, net = payouts.split_fee(amount, 2_000)
        assert fee + net == amount and net > 0
