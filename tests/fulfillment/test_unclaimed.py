"""Unclaimed parcels: reminders after the brand's hours, then keep waiting or return and refund."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from linli.ledger.models import LINE_REVERSED
from linli.notifications import service as notifications
from linli.orders.models import Order
from linli.payments.models import Refund
from linli.worker import run_until_idle
from tests.fulfillment.helpers import ARRIVED_AT, code_of, cut_wave, deliver, parcel_of, run_cli, snapshot, verify
from tests.ledger.helpers import assert_audit_ok, buy, line_of
from tests.orders.setup import bound_member, build_stage


async def _arrived(ctx, client, world):  # noqa: ANN001, ANN202
    stage = await build_stage(world)
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, quantity=2)
    wave_id = (await cut_wave(client, ctx, stage)).json()["id"]
    await deliver(client, ctx, stage, wave_id)
    return stage, buyer, order_id


async def _reminders(ctx, buyer) -> int:  # noqa: ANN001
    async with ctx.db.read() as s:
        return len(await notifications.messages_for(session=s, user_id=buyer.user_id, kind="pickup_reminder"))


async def _policy(client, stage, **change):  # noqa: ANN001, ANN003, ANN202
    body = {"remind_after_hours": 24, "remind_every_hours": 24, "max_reminders": 2, "unclaimed_action": "keep_waiting",
            "unclaimed_after_days": 7, **change}
    return await client.put(f"/api/v1/brands/{stage.brand_id}/fulfillment-policy", json=body, headers=stage.owner.headers)


async def test_default_policy_reminds_twice_then_keeps_waiting(ctx, client, world, database_url, tmp_path, monkeypatch):
    stage, buyer, order_id = await _arrived(ctx, client, world)
    policy = (await client.get(f"/api/v1/brands/{stage.brand_id}/fulfillment-policy", headers=stage.owner.headers)).json()
    assert policy["is_default"] and policy["unclaimed_action"] == "keep_waiting" and policy["max_reminders"] == 2

    def as_of(hours: float) -> str:
        return (ARRIVED_AT + timedelta(hours=hours)).isoformat()

    async def remind(hours: float) -> str:
        result = await run_cli(database_url, tmp_path, monkeypatch, "remind-unclaimed", "--as-of", as_of(hours))
        assert result.exit_code == 0, result.output
        ctx.clock.set(ARRIVED_AT + timedelta(hours=hours))  # the worker delivers the reminders the job emitted
        await run_until_idle(ctx)
        return result.output

    assert "reminded 0" in await remind(23)
    assert "reminded 1" in await remind(24)
    assert "reminded 0" in await remind(24)  # the same day replayed: nothing twice
    assert "reminded 0" in await remind(30)
    assert await _reminders(ctx, buyer) == 1
    assert "reminded 1" in await remind(49)
    assert "reminded 0" in await remind(24 * 6)  # two reminders at most; the parcel keeps waiting
    assert await _reminders(ctx, buyer) == 2
    parcel = await parcel_of(ctx, order_id)
    assert parcel.status == "arrived" and parcel.reminders_sent == 2 and parcel.next_action_at is None
    async with ctx.db.read() as s:
        text = (await notifications.messages_for(session=s, user_id=buyer.user_id, kind="pickup_reminder"))[0].body
    assert parcel.pickup_code in text and "云顶华府自提点" in text
    # Still collectable days later (the brand keeps waiting).
    assert (await verify(client, stage, stage.leader.actor, parcel.pickup_code)).status_code == 200


async def test_return_and_refund_after_the_brands_limit(ctx, client, world):
    stage = await build_stage(world)
    assert (await _policy(client, stage, unclaimed_action="return_refund", unclaimed_after_days=3, max_reminders=1)).status_code == 200
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, quantity=2)
    code = await code_of(client, buyer, order_id)
    wave_id = (await cut_wave(client, ctx, stage)).json()["id"]
    await deliver(client, ctx, stage, wave_id)
    line = await line_of(ctx, order_id)
    assert line.commission_fen > 0

    ctx.clock.set(ARRIVED_AT + timedelta(days=3) - timedelta(minutes=1))
    await run_until_idle(ctx)  # the worker's periodic pass runs the same job
    assert (await parcel_of(ctx, order_id)).status == "arrived" and await _reminders(ctx, buyer) == 1
    ctx.clock.set(ARRIVED_AT + timedelta(days=3))
    await run_until_idle(ctx)
    parcel = await parcel_of(ctx, order_id)
    assert parcel.status == "returned" and parcel.open_code is None and parcel.returned_at == ctx.clock.now()
    async with ctx.db.read() as s:
        order = await s.get(Order, order_id)
        refunds = list(await s.scalars(select(Refund).where(Refund.order_id == order_id)))
        told = await notifications.messages_for(session=s, user_id=buyer.user_id, kind="parcel_returned")
    assert order.status == "refunded"
    assert [(r.amount_fen, r.status) for r in refunds] == [(order.total_fen, "succeeded")]  # the simulator refunds at once
    assert len(told) == 1
    assert (await line_of(ctx, order_id)).status == LINE_REVERSED
    await assert_audit_ok(ctx)
    # Replaying the job changes nothing; the code no longer works.
    before = await snapshot(ctx)
    await run_until_idle(ctx)
    assert await snapshot(ctx) == before
    refused = await verify(client, stage, stage.leader.actor, code)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "parcel_closed"
    timeline = (await client.get(f"/api/v1/orders/{order_id}/timeline", headers=buyer.headers)).json()
    assert timeline["entries"][-1]["kind"] in ("returned", "refunded") and timeline["stage"] == "returned"


async def test_policy_access_and_validation(ctx, client, world):
    stage = await build_stage(world)
    member = await bound_member(world, stage.leader)
    url = f"/api/v1/brands/{stage.brand_id}/fulfillment-policy"
    assert (await client.get(url, headers=stage.leader.actor.headers)).status_code == 200
    assert (await client.get(url, headers=member.headers)).status_code == 403
    assert (await _policy(client, stage)).status_code == 200
    leader_put = await client.put(url, json={"remind_after_hours": 1, "remind_every_hours": 1, "max_reminders": 0,
                                             "unclaimed_action": "keep_waiting", "unclaimed_after_days": 1},
                                  headers=stage.leader.actor.headers)
    assert leader_put.status_code == 403
    for change in ({"remind_after_hours": 0}, {"max_reminders": 11}, {"unclaimed_action": "burn"}, {"unclaimed_after_days": 61}):
        assert (await _policy(client, stage, **change)).status_code == 422, change
    saved = (await client.get(url, headers=stage.owner.headers)).json()
    assert saved["is_default"] is False and saved["remind_after_hours"] == 24


async def test_a_parcel_that_cannot_be_returned_does_not_hold_up_the_others(ctx, client, world, monkeypatch):
    from linli.fulfillment import refunds, unclaimed

    stage = await build_stage(world)
    assert (await _policy(client, stage, unclaimed_action="return_refund", unclaimed_after_days=1, max_reminders=0)).status_code == 200
    stuck = await buy(ctx, stage, await bound_member(world, stage.leader))
    fine = await buy(ctx, stage, await bound_member(world, stage.leader))
    wave_id = (await cut_wave(client, ctx, stage)).json()["id"]
    await deliver(client, ctx, stage, wave_id)
    real = refunds.orders.mark_refunded

    async def failing(*, session, order_id, now, reason):  # noqa: ANN001, ANN202
        if order_id == stuck:
            raise RuntimeError("provider down")
        return await real(session=session, order_id=order_id, now=now, reason=reason)

    monkeypatch.setattr(refunds.orders, "mark_refunded", failing)
    ctx.clock.set(ARRIVED_AT + timedelta(days=1))
    await run_until_idle(ctx)
    assert (await parcel_of(ctx, fine)).status == "returned"
    parcel = await parcel_of(ctx, stuck)
    assert parcel.status == "arrived" and parcel.next_action_at == ctx.clock.now() + unclaimed.RETRY_AFTER
    async with ctx.db.read() as s:
        assert list(await s.scalars(select(Refund).where(Refund.order_id == stuck))) == []  # its refund rolled back
    monkeypatch.setattr(refunds.orders, "mark_refunded", real)
    ctx.clock.advance(unclaimed.RETRY_AFTER)
    await run_until_idle(ctx)
    assert (await parcel_of(ctx, stuck)).status == "returned"
    await assert_audit_ok(ctx)
