"""Races on both databases: two staff approving at once, the member and the leader filing at once."""

from __future__ import annotations

import asyncio

from linli.worker import run_until_idle
from tests.aftersales.setup import decide, error_code, file_claim, line_clawed, mark_picked_up, refunds_of, snapshot
from tests.ledger.helpers import assert_audit_ok


async def test_concurrent_approvals_refund_once(ctx, client, world, bought):
    await mark_picked_up(ctx, bought.order_id)
    claim_id = (await file_claim(client, bought.member, bought.order_id, amount_fen=5000)).json()["id"]
    second_staff = await world.staff(bought.stage.brand_id, role="operator")
    answers = await asyncio.gather(
        decide(client, bought.stage, claim_id, decision="approve"),
        decide(client, bought.stage, claim_id, staff=second_staff, decision="partial", amount_fen=3000, reason="只坏了一部分"),
        decide(client, bought.stage, claim_id, decision="approve"),
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409]
    assert all(error_code(a) == "claim_already_decided" for a in answers if a.status_code == 409)
    [winner] = [a.json() for a in answers if a.status_code == 200]
    [refund] = await refunds_of(ctx, bought.order_id)
    assert refund.amount_fen == winner["approved_fen"]
    share = (2 * 1020 * winner["approved_fen"] + 6800) // (2 * 6800)
    assert await line_clawed(ctx, bought.order_id) == (1020, winner["approved_fen"], share, "pending")
    await run_until_idle(ctx)
    await assert_audit_ok(ctx)


async def test_the_member_and_the_leader_filing_at_once_make_one_claim(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    answers = await asyncio.gather(
        file_claim(client, bought.member, bought.order_id, amount_fen=2000),
        file_claim(client, bought.stage.leader.actor, bought.order_id, amount_fen=2000),
    )
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert [error_code(a) for a in answers if a.status_code == 409] == ["claim_already_open"]
    state = await snapshot(ctx)
    assert len(state["claims"]) == 1
    assert len(state["files"]) == 1 and len(await refunds_of(ctx, bought.order_id)) == 1
    await run_until_idle(ctx)
    await assert_audit_ok(ctx)


async def test_the_same_key_sent_twice_at_once_files_once(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    answers = await asyncio.gather(*(
        file_claim(client, bought.member, bought.order_id, amount_fen=2000, key="same-key-12345") for _ in range(3)
    ))
    assert sorted(a.status_code for a in answers) == [200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(await refunds_of(ctx, bought.order_id)) == 1
