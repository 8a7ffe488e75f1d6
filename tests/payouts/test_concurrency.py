"""Races on both databases: one leader's many concurrent requests never exceed the available balance or the
daily cap; one key sent at once makes one withdrawal; approvals and provider notifications at once pay once."""

from __future__ import annotations

import asyncio
import uuid

from linli.payouts import service
from linli.payouts.models import Withdrawal
from linli.payouts.providers import FAILED, TransferResult
from linli.payouts.simulator import complete
from linli.simulation import deliver
from linli.worker import run_until_idle
from tests.ledger.helpers import assert_audit_ok, balances
from tests.payments.conftest import rows
from tests.payouts.conftest import approve, ask, earn, withdrawal


async def test_concurrent_requests_never_exceed_available(ctx, world, stage, client):
    available = await earn(ctx, world, stage)  # 10,200
    responses = await asyncio.gather(*(ask(client, stage, stage.leader.actor, 1_500) for _ in range(12)))
    won = [r for r in responses if r.status_code == 201]
    assert len(won) == available // 1_500 == 6
    assert {r.json()["error"]["code"] for r in responses if r.status_code != 201} == {"withdrawal_exceeds_available"}
    got = await balances(ctx, stage)
    assert (got.available_fen, got.withdrawing_fen) == (available - 6 * 1_500, 6 * 1_500)
    await assert_audit_ok(ctx)


async def test_concurrent_requests_never_break_the_daily_cap(ctx, world, stage, client):
    await earn(ctx, world, stage, boxes=60)  # 61,200
    r = await client.put(
        f"/api/v1/brands/{stage.brand_id}/withdrawal-policy",
        json={"min_amount_fen": 1000, "fee_bp": 0, "daily_cap_fen": 10_000}, headers=stage.owner.headers,
    )
    assert r.status_code == 200
    responses = await asyncio.gather(*(ask(client, stage, stage.leader.actor, 3_000) for _ in range(8)))
    assert [r.status_code for r in responses].count(201) == 3
    assert {r.json()["error"]["code"] for r in responses if r.status_code != 201} == {"withdrawal_daily_cap_exceeded"}
    assert (await balances(ctx, stage)).withdrawing_fen == 9_000
    await assert_audit_ok(ctx)


async def test_one_key_sent_at_once_makes_one_withdrawal(ctx, world, stage, client):
    await earn(ctx, world, stage)
    key = uuid.uuid4().hex
    responses = await asyncio.gather(*(ask(client, stage, stage.leader.actor, 2_000, key=key) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(await rows(ctx, Withdrawal)) == 1 and (await balances(ctx, stage)).withdrawing_fen == 2_000


async def test_concurrent_approvals_pay_once(ctx, world, stage, client, payout_sim):
    await earn(ctx, world, stage)
    w = (await ask(client, stage, stage.leader.actor, 5_000)).json()
    responses = await asyncio.gather(*(approve(client, stage, stage.owner, w["id"]) for _ in range(5)))
    assert {r.status_code for r in responses} == {200}
    await asyncio.gather(*(run_until_idle(ctx) for _ in range(3)))
    row = await withdrawal(ctx, w["id"])
    assert row.status == "paid" and payout_sim.transfers[row.out_detail_no].submissions == 1
    await assert_audit_ok(ctx)


async def test_the_worker_retrying_a_transfer_is_deduplicated_by_the_provider(ctx, world, stage, client, payout_sim):
    await earn(ctx, world, stage)
    payout_sim.mode = "pending"
    w = (await ask(client, stage, stage.leader.actor, 5_000)).json()
    await approve(client, stage, stage.owner, w["id"])
    await run_until_idle(ctx)
    # The notification was lost: two syncs at once submit again under the same numbers; one transfer exists.
    report = await service.sync_approved(db=ctx.db, providers=ctx.payouts, as_of=ctx.clock.now(), now=ctx.clock.now())
    assert report.outcomes == {"pending": 1}
    row = await withdrawal(ctx, w["id"])
    payout_sim.transfers.clear()  # the simulator restarted and forgot it: the sync submits it again
    await asyncio.gather(*(
        service.sync_approved(db=ctx.db, providers=ctx.payouts, as_of=ctx.clock.now(), now=ctx.clock.now()) for _ in range(2)
    ))
    assert list(payout_sim.transfers) == [row.out_detail_no]
    payout_sim.finish(row.out_detail_no, "paid")
    report = await service.sync_approved(db=ctx.db, providers=ctx.payouts, as_of=ctx.clock.now(), now=ctx.clock.now())
    assert report.outcomes == {"paid": 1} and (await withdrawal(ctx, w["id"])).status == "paid"
    await assert_audit_ok(ctx)


async def test_concurrent_notifications_pay_once(ctx, world, stage, client, payout_sim):
    await earn(ctx, world, stage)
    payout_sim.mode = "pending"
    w = (await ask(client, stage, stage.leader.actor, 5_000)).json()
    await approve(client, stage, stage.owner, w["id"])
    await run_until_idle(ctx)
    row = await withdrawal(ctx, w["id"])
    record = payout_sim.finish(row.out_detail_no, "paid")
    same = payout_sim.notification_body(record, now=ctx.clock.now())
    copies = [payout_sim.signed(same, now=ctx.clock.now()) for _ in range(4)]
    distinct = [payout_sim.signed(payout_sim.notification_body(record, now=ctx.clock.now()), now=ctx.clock.now()) for _ in range(3)]
    outcomes = await asyncio.gather(*(deliver(ctx, payout_sim, n) for n in copies + distinct))
    assert sorted(outcomes) == ["already_paid"] * 3 + ["duplicate"] * 3 + ["paid"]
    assert (await balances(ctx, stage)).withdrawing_fen == 0
    await assert_audit_ok(ctx)


async def test_a_late_failure_after_payment_changes_nothing(ctx, world, stage, client, payout_sim):
    await earn(ctx, world, stage)
    payout_sim.mode = "pending"
    w = (await ask(client, stage, stage.leader.actor, 5_000)).json()
    await approve(client, stage, stage.owner, w["id"])
    await run_until_idle(ctx)
    row = await withdrawal(ctx, w["id"])
    done = await complete(ctx=ctx, out_detail_no=row.out_detail_no, outcome="paid")
    assert done.outcomes == ["paid"]
    async with ctx.db.transaction() as s:
        outcome = await service.apply_result(session=s, withdrawal_id=row.id, result=TransferResult(status=FAILED), now=ctx.clock.now())
    assert outcome == "ignored" and (await withdrawal(ctx, w["id"])).status == "paid"
    await assert_audit_ok(ctx)


async def test_a_provider_outage_on_one_withdrawal_does_not_stop_the_sync(ctx, world, stage, client, payout_sim, monkeypatch):
    from linli.payouts.providers import PayoutProviderUnavailable

    await earn(ctx, world, stage)
    payout_sim.mode = "pending"
    first = (await ask(client, stage, stage.leader.actor, 2_000)).json()
    second = (await ask(client, stage, stage.leader.actor, 2_000)).json()
    for w in (first, second):
        await approve(client, stage, stage.owner, w["id"])
    await run_until_idle(ctx)
    down = (await withdrawal(ctx, first["id"])).out_detail_no
    for row_id in (first["id"], second["id"]):
        payout_sim.finish((await withdrawal(ctx, row_id)).out_detail_no, "paid")
    real_query = payout_sim.query

    async def flaky(*, out_batch_no: str, out_detail_no: str):  # noqa: ANN202
        if out_detail_no == down:
            raise PayoutProviderUnavailable("打款渠道暂时不可用")
        return await real_query(out_batch_no=out_batch_no, out_detail_no=out_detail_no)

    monkeypatch.setattr(payout_sim, "query", flaky)
    report = await service.sync_approved(db=ctx.db, providers=ctx.payouts, as_of=ctx.clock.now(), now=ctx.clock.now())
    assert report.outcomes == {"provider_unavailable": 1, "paid": 1}
    assert ((await withdrawal(ctx, first["id"])).status, (await withdrawal(ctx, second["id"])).status) == ("approved", "paid")
    await assert_audit_ok(ctx)
