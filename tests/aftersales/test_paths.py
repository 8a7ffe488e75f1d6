"""The after-sales paths end to end: instant refund, queue approval, partial approval, rejection, a full
refund, a failed refund retried; the ledger audit holds after every step and commission is clawed back by
exactly the refunded share (15% of 68 yuan = 1020 fen, rounded half up)."""

from __future__ import annotations

import dataclasses

from linli.aftersales import service
from linli.orders.models import Order
from linli.outbox.models import OutboxEvent
from linli.worker import run_until_idle
from tests.aftersales.setup import (
    claim_row,
    decide,
    error_code,
    file_claim,
    jpeg,
    line_clawed,
    mark_picked_up,
    media_files,
    refunds_of,
)
from tests.ledger.helpers import assert_audit_ok, buy, refund_whole
from tests.payments.test_refunds import CountingProvider

COMMISSION = 1020  # 15% of 6800


async def _events(ctx, topic: str) -> list[OutboxEvent]:
    async with ctx.db.read() as s:
        from sqlalchemy import select

        return list(await s.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id)))


async def test_a_small_claim_is_refunded_at_once(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    await assert_audit_ok(ctx)
    response = await file_claim(client, bought.member, bought.order_id, amount_fen=2000, photos=[jpeg(1), jpeg(2)])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "refunding" and body["decision"] == "instant" and body["approved_fen"] == 2000
    assert body["filed_by"] == "member" and body["member_phone"] is None and len(body["photos"]) == 2
    # The refund is requested and the commission share clawed back in the filing transaction.
    [refund] = await refunds_of(ctx, bought.order_id)
    assert refund.amount_fen == 2000 and refund.status == "pending"
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 2000, 300, "pending")  # 1020 × 2000 / 6800
    await assert_audit_ok(ctx)

    await run_until_idle(ctx)  # the worker asks the provider; its answer moves the claim
    claim = await claim_row(ctx, body["id"])
    assert claim.status == "refunded" and claim.refunded_fen == 2000 and claim.refunded_at == ctx.clock.now()
    assert [r.status for r in await refunds_of(ctx, bought.order_id)] == ["succeeded"]
    assert len(await _events(ctx, "claim.refunded")) == 1
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 2000, 300, "pending")
    assert len(media_files(ctx)) == 2
    await assert_audit_ok(ctx)

    async with ctx.db.read() as s:
        [summary] = await service.claims_for_order(session=s, order_id=bought.order_id)
        order = await s.get(Order, bought.order_id)
    assert (summary.reason, summary.status, summary.refunded_fen, summary.decided_at) == ("bad", "refunded", 2000, ctx.clock.now())
    assert order.status == "paid"  # goods were collected: the order itself is not "refunded"


async def test_the_queue_approves_and_refunds(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    filed = await file_claim(client, bought.member, bought.order_id, amount_fen=5000)
    assert filed.status_code == 201 and filed.json()["status"] == "reviewing" and filed.json()["decision"] is None
    claim_id = filed.json()["id"]
    assert await refunds_of(ctx, bought.order_id) == []
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 0, 0, "pending")
    await assert_audit_ok(ctx)

    queue = await client.get(f"/api/v1/brands/{bought.stage.brand_id}/claims", params={"status": "reviewing"},
                             headers=bought.stage.owner.headers)
    assert [c["id"] for c in queue.json()["items"]] == [claim_id]
    approved = await decide(client, bought.stage, claim_id, decision="approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "refunding" and approved.json()["approved_fen"] == 5000
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 5000, 750, "pending")
    await assert_audit_ok(ctx)

    await run_until_idle(ctx)
    claim = await claim_row(ctx, claim_id)
    assert (claim.status, claim.decision, claim.refunded_fen, claim.decided_by_user_id) == (
        "refunded", "approved", 5000, bought.stage.owner.user_id)
    [refund] = await refunds_of(ctx, bought.order_id)
    assert (refund.amount_fen, refund.status) == (5000, "succeeded")
    await assert_audit_ok(ctx)

    again = await decide(client, bought.stage, claim_id, decision="approve")  # deciding twice
    assert again.status_code == 409 and error_code(again) == "claim_already_decided"
    assert len(await refunds_of(ctx, bought.order_id)) == 1


async def test_partial_approval_refunds_the_smaller_amount(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    claim_id = (await file_claim(client, bought.member, bought.order_id, amount_fen=5000)).json()["id"]
    no_reason = await decide(client, bought.stage, claim_id, decision="partial", amount_fen=2500)
    assert no_reason.status_code == 422 and error_code(no_reason) == "claim_decision_reason_required"
    too_much = await decide(client, bought.stage, claim_id, decision="partial", amount_fen=5001, reason="x")
    assert too_much.status_code == 422 and error_code(too_much) == "claim_amount_exceeds_asked"
    assert await refunds_of(ctx, bought.order_id) == []
    partial = await decide(client, bought.stage, claim_id, decision="partial", amount_fen=2500, reason="照片显示坏果约一半")
    assert partial.status_code == 200, partial.text
    assert (partial.json()["decision"], partial.json()["approved_fen"]) == ("partial", 2500)
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 2500, 375, "pending")
    await run_until_idle(ctx)
    claim = await claim_row(ctx, claim_id)
    assert (claim.status, claim.refunded_fen, claim.decision_reason) == ("refunded", 2500, "照片显示坏果约一半")
    await assert_audit_ok(ctx)

    # What is left may still be claimed later: paid minus refunded.
    second = await file_claim(client, bought.member, bought.order_id, amount_fen=6800 - 2500 + 1, reason="other", photos=[])
    assert second.status_code == 422 and error_code(second) == "claim_amount_exceeds_paid"
    assert second.json()["error"]["details"]["claimable_fen"] == 4300
    second = await file_claim(client, bought.member, bought.order_id, amount_fen=4300, reason="other", photos=[])
    assert second.status_code == 201 and second.json()["status"] == "reviewing"


async def test_rejection_refunds_nothing(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    claim_id = (await file_claim(client, bought.member, bought.order_id, amount_fen=5000)).json()["id"]
    bare = await decide(client, bought.stage, claim_id, decision="reject")
    assert bare.status_code == 422 and error_code(bare) == "claim_decision_reason_required"
    rejected = await decide(client, bought.stage, claim_id, decision="reject", reason="照片中商品完好")
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["decision_reason"]) == ("rejected", "照片中商品完好")
    assert [h["to_status"] for h in rejected.json()["history"]] == ["reviewing", "rejected"]
    await run_until_idle(ctx)
    assert await refunds_of(ctx, bought.order_id) == []
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 0, 0, "pending")
    assert len(await _events(ctx, "claim.rejected")) == 1
    await assert_audit_ok(ctx)
    approve_after = await decide(client, bought.stage, claim_id, decision="approve")
    assert approve_after.status_code == 409 and error_code(approve_after) == "claim_already_decided"


async def test_a_claim_for_everything_paid_reverses_the_commission_once(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    claim_id = (await file_claim(client, bought.member, bought.order_id, reason="wrong", amount_fen=6800)).json()["id"]
    assert (await decide(client, bought.stage, claim_id, decision="approve")).status_code == 200
    await run_until_idle(ctx)
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 6800, COMMISSION, "reversed")
    async with ctx.db.read() as s:
        assert (await s.get(Order, bought.order_id)).status == "paid"  # no units go back on sale
    await assert_audit_ok(ctx)
    nothing_left = await file_claim(client, bought.member, bought.order_id, amount_fen=1, reason="other", photos=[])
    assert nothing_left.status_code == 422 and error_code(nothing_left) == "claim_amount_exceeds_paid"


async def test_a_failed_refund_is_retried_without_a_second_clawback(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    claim_id = (await file_claim(client, bought.member, bought.order_id, amount_fen=5000)).json()["id"]
    retry_early = await client.post(f"/api/v1/brands/{bought.stage.brand_id}/claims/{claim_id}/retry-refund",
                                    headers=bought.stage.owner.headers)
    assert retry_early.status_code == 409 and error_code(retry_early) == "claim_not_refund_failed"
    assert (await decide(client, bought.stage, claim_id, decision="approve")).status_code == 200
    refusing = CountingProvider(ctx.payments["simulator"], ["failed"])
    await run_until_idle(dataclasses.replace(ctx, payments={"simulator": refusing}))
    claim = await claim_row(ctx, claim_id)
    assert (claim.status, claim.refunded_fen) == ("refund_failed", 0)
    assert len(await _events(ctx, "claim.refund_failed")) == 1
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 5000, 750, "pending")
    await assert_audit_ok(ctx)

    retried = await client.post(f"/api/v1/brands/{bought.stage.brand_id}/claims/{claim_id}/retry-refund",
                                headers=bought.stage.owner.headers)
    assert retried.status_code == 200 and retried.json()["status"] == "refunding"
    await run_until_idle(ctx)
    claim = await claim_row(ctx, claim_id)
    assert (claim.status, claim.refunded_fen, claim.refund_attempts) == ("refunded", 5000, 2)
    assert [(r.amount_fen, r.status) for r in await refunds_of(ctx, bought.order_id)] == [(5000, "failed"), (5000, "succeeded")]
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 5000, 750, "pending")  # clawed back once
    await assert_audit_ok(ctx)


async def test_a_leader_files_on_the_members_behalf(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    filed = await file_claim(client, bought.stage.leader.actor, bought.order_id, amount_fen=1500)
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["filed_by"] == "leader" and body["status"] == "refunding"
    assert body["member_phone"] == bought.member.phone[:3] + "****" + bought.member.phone[-4:]
    mine = await client.get(f"/api/v1/brands/{bought.stage.brand_id}/claims/mine", headers=bought.member.headers)
    assert [c["id"] for c in mine.json()["items"]] == [body["id"]]
    await run_until_idle(ctx)
    assert (await claim_row(ctx, body["id"])).status == "refunded"
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 1500, 225, "pending")
    await assert_audit_ok(ctx)


async def test_the_member_claim_rate_decides_instant_or_queue(ctx, client, stage, member):
    first = await buy(ctx, stage, member)
    second = await buy(ctx, stage, member)
    await mark_picked_up(ctx, first)
    await mark_picked_up(ctx, second)
    one = await file_claim(client, member, first, amount_fen=1000)
    assert one.json()["decision"] == "instant"
    # One earlier claim over two pickups is 50%, above the default 20%: the next small claim waits.
    two = await file_claim(client, member, second, amount_fen=1000)
    assert two.status_code == 201 and two.json()["status"] == "reviewing"
    await run_until_idle(ctx)
    await assert_audit_ok(ctx)


async def test_staff_change_the_policy_with_who_and_when(ctx, client, bought):
    url = f"/api/v1/brands/{bought.stage.brand_id}/aftersales-policy"
    default = await client.get(url, headers=bought.member.headers)
    assert default.status_code == 200
    assert (default.json()["is_default"], default.json()["window_hours"], default.json()["instant_max_fen"]) == (True, 48, 3000)
    policy = {"window_hours": 24, "instant_enabled": False, "instant_max_fen": 3000, "instant_lookback_days": 90,
              "instant_max_recent_claims": 3, "instant_max_claim_rate_bp": 2000, "note": "旺季收紧"}
    bad = await client.put(url, json={**policy, "window_hours": 0}, headers=bought.stage.owner.headers)
    assert bad.status_code == 422 and error_code(bad) == "aftersales_policy_invalid"
    changed = await client.put(url, json=policy, headers=bought.stage.owner.headers)
    assert changed.status_code == 200 and changed.json()["version"] == 1
    versions = await client.get(f"{url}/versions", headers=bought.stage.owner.headers)
    [row] = versions.json()["items"]
    assert (row["created_by_user_id"], row["note"], row["instant_enabled"]) == (bought.stage.owner.user_id, "旺季收紧", False)

    await mark_picked_up(ctx, bought.order_id)
    small = await file_claim(client, bought.member, bought.order_id, amount_fen=100)
    assert small.json()["status"] == "reviewing"  # instant refunds are off


async def test_a_claim_then_a_whole_order_refund_claw_back_the_commission_once(ctx, client, bought):
    """`order.refunded` takes back only what the claim left: together exactly the commission, never more."""
    await mark_picked_up(ctx, bought.order_id)
    await file_claim(client, bought.member, bought.order_id, amount_fen=2000)
    await run_until_idle(ctx)
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 2000, 300, "pending")
    await refund_whole(ctx, bought.order_id)
    assert await line_clawed(ctx, bought.order_id) == (COMMISSION, 6800, COMMISSION, "reversed")
    await assert_audit_ok(ctx)
    closed = await file_claim(client, bought.member, bought.order_id, amount_fen=100, reason="other", photos=[])
    assert closed.status_code == 409 and error_code(closed) == "order_not_claimable"
