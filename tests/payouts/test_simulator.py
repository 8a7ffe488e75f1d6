"""The payout simulator's notifications: forged, tampered, stale or malformed ones are refused and change
nothing; delayed deliveries land later; finishing out of order is refused."""

from __future__ import annotations

import json
from datetime import timedelta

from linli.worker import run_until_idle
from tests.payouts.conftest import approve, ask, earn, error_code, snapshot, withdrawal


async def in_transfer(ctx, world, stage, client, payout_sim):  # noqa: ANN201
    await earn(ctx, world, stage)
    payout_sim.mode = "pending"
    w = (await ask(client, stage, stage.leader.actor, 5_000)).json()
    await approve(client, stage, stage.owner, w["id"])
    await run_until_idle(ctx)
    return await withdrawal(ctx, w["id"])


async def notify(client, headers, body: bytes):  # noqa: ANN001, ANN201
    return await client.post("/api/v1/payouts/simulator/notify", content=body, headers=headers)


async def test_forged_tampered_stale_and_malformed_notifications_change_nothing(ctx, world, stage, client, payout_sim, clock):
    row = await in_transfer(ctx, world, stage, client, payout_sim)
    record = payout_sim.finish(row.out_detail_no, "paid")
    body = payout_sim.notification_body(record, now=clock.now())
    good = payout_sim.signed(body, now=clock.now())
    before = await snapshot(ctx)

    tampered = json.loads(body)
    tampered["out_batch_no"] = "LLWB9999999999"
    r = await notify(client, good.headers, json.dumps(tampered).encode())
    assert (r.status_code, error_code(r)) == (401, "callback_signature_invalid")
    r = await notify(client, {**good.headers, "X-Linli-Payout-Signature": "0" * 64}, body)
    assert r.status_code == 401
    r = await notify(client, {"Content-Type": "application/json"}, body)
    assert r.status_code == 401
    stale = payout_sim.signed(body, now=clock.now() - timedelta(minutes=6))
    r = await notify(client, stale.headers, body)
    assert r.status_code == 401 and r.json()["error"]["message"] == "打款通知已过期"
    garbage = payout_sim.signed(b'{"id": 1}', now=clock.now())
    r = await notify(client, garbage.headers, garbage.body)
    assert (r.status_code, error_code(r)) == (422, "callback_malformed")
    unknown = dict(json.loads(body), out_batch_no="LLWB9999999999")
    signed_unknown = payout_sim.signed(json.dumps(unknown).encode(), now=clock.now())
    r = await notify(client, signed_unknown.headers, signed_unknown.body)
    assert (r.status_code, error_code(r)) == (404, "withdrawal_not_found")
    assert await snapshot(ctx) == before and (await withdrawal(ctx, row.id)).status == "approved"

    r = await notify(client, good.headers, body)
    assert r.json() == {"outcome": "paid"}


async def test_delayed_notifications_land_later(ctx, world, stage, client, payout_sim):
    row = await in_transfer(ctx, world, stage, client, payout_sim)
    r = await client.post(
        f"/api/v1/payouts/simulator/{row.out_detail_no}/complete", json={"outcome": "failed", "delay_ms": 20, "duplicates": 1},
        headers=stage.owner.headers,
    )
    assert r.status_code == 200 and r.json()["scheduled"] is True and r.json()["outcomes"] == []
    assert (await withdrawal(ctx, row.id)).status == "approved"
    await payout_sim.drain()
    assert (await withdrawal(ctx, row.id)).status == "failed"


async def test_finishing_out_of_order_is_refused(ctx, world, stage, client, payout_sim):
    row = await in_transfer(ctx, world, stage, client, payout_sim)
    url = f"/api/v1/payouts/simulator/{row.out_detail_no}/complete"
    r = await client.post(url, json={"outcome": "returned"}, headers=stage.owner.headers)
    assert (r.status_code, error_code(r)) == (409, "payout_transfer_state")
    r = await client.post(url, json={"outcome": "lost"}, headers=stage.owner.headers)
    assert r.status_code == 422
    r = await client.post(url, json={"outcome": "paid", "delay_ms": 60_001}, headers=stage.owner.headers)
    assert r.status_code == 422
    assert (await withdrawal(ctx, row.id)).status == "approved"
