"""Brand staff refund a paid order in full while its parcel is still in the warehouse (waiting or packed)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from linli.fulfillment.models import StaffRefund
from linli.ledger.models import LINE_REVERSED
from linli.notifications import service as notifications
from linli.orders import service as orders
from linli.orders.models import Order
from linli.payments import service as payments
from linli.payments.models import Refund
from linli.worker import run_until_idle
from tests.fulfillment.helpers import cut_wave, deliver, move, parcel_of, snapshot, verify
from tests.ledger.helpers import assert_audit_ok, buy, line_of
from tests.orders.setup import assert_invariants, bound_member, build_stage, counters

STOCK = 1000


def _url(brand_id: int, order_id: int) -> str:
    return f"/api/v1/brands/{brand_id}/orders/{order_id}/refund"


async def _refund(client, stage, order_id, *, key=None, reason="缺货", actor=None, brand_id=None):
    headers = dict((actor or stage.owner).headers)
    headers["Idempotency-Key"] = key or uuid.uuid4().hex
    return await client.post(_url(brand_id or stage.brand_id, order_id), json={"reason": reason}, headers=headers)


async def _money(ctx) -> tuple:
    """Everything a refund writes besides fulfillment's snapshot: refunds, staff refunds, commission lines."""
    async with ctx.db.read() as s:
        refunds = [(r.id, r.order_id, r.amount_fen, r.status) for r in await s.scalars(select(Refund).order_by(Refund.id))]
        staff = [(r.id, r.order_id) for r in await s.scalars(select(StaffRefund).order_by(StaffRefund.id))]
    return refunds, staff


async def _state(ctx, world, stage) -> tuple:
    return await snapshot(ctx), await _money(ctx), await counters(world, stage)


async def _refunds_of(ctx, order_id: int) -> list[Refund]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(Refund).where(Refund.order_id == order_id)))


@pytest.mark.parametrize("stage_of_parcel", ["waiting", "packed"])
async def test_a_parcel_still_in_the_warehouse_is_refunded_in_full(ctx, client, world, stage_of_parcel):
    stage = await build_stage(world, stock=STOCK)
    buyer = await bound_member(world, stage.leader)
    neighbour = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, quantity=2)
    kept_id = await buy(ctx, stage, neighbour)
    wave_id = None
    if stage_of_parcel == "packed":
        wave_id = (await cut_wave(client, ctx, stage)).json()["id"]
        assert (await move(client, stage, wave_id, "packed")).status_code == 200
    assert (await parcel_of(ctx, order_id)).status == stage_of_parcel
    line = await line_of(ctx, order_id)
    assert line.commission_fen > 0
    before = await counters(world, stage)

    response = await _refund(client, stage, order_id, reason="仓库缺货，无法发货")
    assert response.status_code == 201, response.text
    body = response.json()
    async with ctx.db.read() as s:
        order = await s.get(Order, order_id)
        payment = await payments.order_payment(session=s, order_id=order_id)
    assert payment is not None
    assert body["order_status"] == "refunded" and body["parcel_status"] == "cancelled"
    assert body["stopped_at"] == stage_of_parcel and body["amount_fen"] == order.total_fen == 2 * 6800
    assert body["reason"] == "仓库缺货，无法发货" and body["refunded_by_user_id"] == stage.owner.user_id
    await run_until_idle(ctx)

    refunds = await _refunds_of(ctx, order_id)
    assert [(r.id, r.amount_fen, r.payment_id) for r in refunds] == [(body["refund_id"], order.total_fen, payment.id)]
    assert refunds[0].out_refund_no == payments.out_refund_no_for(f"order-refund:{order_id}:payment:{payment.id}")
    assert refunds[0].status == "succeeded"  # the simulator refunds at once, through the worker
    assert order.status == "refunded"
    after = await counters(world, stage)
    assert (after.offer_sold, after.listing_sold, after.stock) == (
        before.offer_sold - 2, before.listing_sold - 2, before.stock + 2
    )
    await assert_invariants(world, stage, initial_stock=STOCK, quota=100, allocation=500)
    parcel = await parcel_of(ctx, order_id)
    assert parcel.status == "cancelled" and parcel.open_code is None and parcel.cancelled_at == ctx.clock.now()
    assert (await line_of(ctx, order_id)).status == LINE_REVERSED
    assert (await line_of(ctx, kept_id)).status != LINE_REVERSED
    await assert_audit_ok(ctx)

    if wave_id is None:  # cut after the refund: the cancelled parcel never joins a wave
        wave_id = (await cut_wave(client, ctx, stage)).json()["id"]
        expected_cancelled = 0
    else:
        expected_cancelled = 1
    pick = (await client.get(f"/api/v1/brands/{stage.brand_id}/delivery-waves/{wave_id}/pick-list",
                             headers=stage.owner.headers)).json()
    packed = [item["order_id"] for bag in pick["bags"] for item in bag["items"]]
    assert packed == [kept_id] and pick["cancelled"] == expected_cancelled
    assert [(p["quantity"], p["orders"]) for p in pick["products"]] == [(1, 1)]

    async with ctx.db.read() as s:
        told = await notifications.messages_for(session=s, user_id=buyer.user_id, kind="parcel_cancelled")
    assert len(told) == 1 and "仓库缺货，无法发货" in told[0].body
    code = (await client.get(f"/api/v1/orders/{order_id}/pickup-code", headers=buyer.headers)).json()
    assert code["code"] is None and code["status"] == "cancelled"
    # The rest of the wave goes on; the cancelled parcel stays behind.
    if stage_of_parcel == "waiting":
        assert (await move(client, stage, wave_id, "packed")).status_code == 200
    assert (await move(client, stage, wave_id, "in_transit")).status_code == 200
    assert (await parcel_of(ctx, order_id)).status == "cancelled"
    assert (await parcel_of(ctx, kept_id)).status == "in_transit"


async def test_an_order_paid_before_the_worker_made_its_parcel(ctx, client, world):
    stage = await build_stage(world, stock=STOCK)
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, work=False)
    response = await _refund(client, stage, order_id, reason="用户不想要了")
    assert response.status_code == 201, response.text
    assert response.json()["stopped_at"] == "waiting"
    await run_until_idle(ctx)  # order.paid arrives late: the parcel exists and stays cancelled
    assert (await parcel_of(ctx, order_id)).status == "cancelled"
    assert len(await _refunds_of(ctx, order_id)) == 1
    await assert_invariants(world, stage, initial_stock=STOCK, quota=100, allocation=500)
    await assert_audit_ok(ctx)


@pytest.mark.parametrize("where", ["in_transit", "arrived", "picked_up"])
async def test_a_parcel_that_left_is_refused_and_nothing_changes(ctx, client, world, where):
    stage = await build_stage(world, stock=STOCK)
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer)
    wave_id = (await cut_wave(client, ctx, stage)).json()["id"]
    if where == "in_transit":
        for status in ("packed", "in_transit"):
            assert (await move(client, stage, wave_id, status)).status_code == 200
    else:
        await deliver(client, ctx, stage, wave_id)
    if where == "picked_up":
        parcel = await parcel_of(ctx, order_id)
        assert (await verify(client, stage, stage.leader.actor, parcel.pickup_code)).status_code == 200
        await run_until_idle(ctx)
    assert (await parcel_of(ctx, order_id)).status == where
    before = await _state(ctx, world, stage)

    refused = await _refund(client, stage, order_id)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "parcel_dispatched" and error["details"] == {"status": where}
    assert "售后" in error["message"]
    await run_until_idle(ctx)
    assert await _state(ctx, world, stage) == before
    await assert_audit_ok(ctx)


async def test_a_replay_returns_the_same_refund_and_a_second_key_is_refused(ctx, client, world):
    stage = await build_stage(world, stock=STOCK)
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer)
    other_id = await buy(ctx, stage, await bound_member(world, stage.leader))
    first = await _refund(client, stage, order_id, key="refund-key-0001", reason="缺货")
    assert first.status_code == 201, first.text
    await run_until_idle(ctx)
    before = await _state(ctx, world, stage)

    again = await _refund(client, stage, order_id, key="refund-key-0001", reason="缺货")
    assert again.status_code == 200, again.text
    replayed = again.json()
    for field in ("id", "order_id", "refund_id", "amount_fen", "reason", "stopped_at", "created_at"):
        assert replayed[field] == first.json()[field], field
    assert replayed["refund_status"] == "succeeded"  # the same refund, as it is now

    for key, reason, target, code in (
        ("refund-key-0001", "用户不想要了", order_id, "idempotency_key_reused"),  # same key, another body
        ("refund-key-0001", "缺货", other_id, "idempotency_key_reused"),
        ("refund-key-0002", "缺货", order_id, "order_already_refunded"),
    ):
        refused = await _refund(client, stage, target, key=key, reason=reason)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == code
    await run_until_idle(ctx)
    assert await _state(ctx, world, stage) == before
    assert len(await _refunds_of(ctx, order_id)) == 1 and await _refunds_of(ctx, other_id) == []


async def test_concurrent_refunds_of_one_order_refund_it_once(ctx, client, world):
    stage = await build_stage(world, stock=STOCK)
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer, quantity=2)
    keys = ["same-key-00001", "same-key-00001", *(uuid.uuid4().hex for _ in range(4))]
    responses = await asyncio.gather(*(_refund(client, stage, order_id, key=k) for k in keys))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1, [r.text for r in responses]
    assert set(codes) <= {200, 201, 409}
    refused = [r.json()["error"]["code"] for r in responses if r.status_code == 409]
    assert set(refused) <= {"order_already_refunded"}
    # The same key twice: either it won (then its twin replays, 200) or it lost (both 409).
    twins = [r.status_code for r in responses[:2]]
    assert sorted(twins) in ([200, 201], [409, 409])
    await run_until_idle(ctx)
    assert len(await _refunds_of(ctx, order_id)) == 1
    money = await _money(ctx)
    assert len(money[1]) == 1
    await assert_invariants(world, stage, initial_stock=STOCK, quota=100, allocation=500)
    assert (await line_of(ctx, order_id)).status == LINE_REVERSED
    await assert_audit_ok(ctx)


async def test_only_staff_of_the_orders_brand_may_refund(ctx, client, world):
    stage = await build_stage(world, stock=STOCK)
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer)
    other_brand = await world.brand("别家优选", slug="bie-jia")
    other_staff = await world.staff(other_brand)
    before = await _state(ctx, world, stage)
    cases = [
        (other_staff, stage.brand_id, 403, "staff_only"),
        (other_staff, other_brand, 404, "order_not_found"),  # their own brand's path, our order
        (stage.leader.actor, stage.brand_id, 403, "staff_only"),
        (stage.other_leader.actor, stage.brand_id, 403, "staff_only"),
        (buyer, stage.brand_id, 403, "staff_only"),
    ]
    for actor, brand_id, status, code in cases:
        refused = await _refund(client, stage, order_id, actor=actor, brand_id=brand_id)
        assert refused.status_code == status, (code, refused.text)
        assert refused.json()["error"]["code"] == code
    anonymous = await client.post(_url(stage.brand_id, order_id), json={"reason": "缺货"},
                                  headers={"Idempotency-Key": uuid.uuid4().hex})
    assert anonymous.status_code == 401
    await run_until_idle(ctx)
    assert await _state(ctx, world, stage) == before
    # Any staff role of the brand may refund (not only the owner).
    clerk = await world.staff(stage.brand_id, role="operator")
    assert (await _refund(client, stage, order_id, actor=clerk)).status_code == 201


async def test_bad_requests_are_refused_and_change_nothing(ctx, client, world):
    stage = await build_stage(world, stock=STOCK)
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer)
    placer = await bound_member(world, stage.leader)
    async with ctx.db.transaction() as s:  # placed, never paid
        unpaid = (await orders.place_order(
            session=s, user_id=placer.user_id, listing_id=None, offer_id=stage.offer_id, quantity=1,
            idempotency_key=uuid.uuid4().hex, pickup_community_id=None, payment_ttl=timedelta(minutes=10),
            now=ctx.clock.now(),
        )).order.id
    before = await _state(ctx, world, stage)
    for reason in ("", "   ", "太" * 201):
        assert (await _refund(client, stage, order_id, reason=reason)).status_code == 422, reason
    no_key = await client.post(_url(stage.brand_id, order_id), json={"reason": "缺货"}, headers=stage.owner.headers)
    assert no_key.status_code == 422
    assert (await _refund(client, stage, order_id, key="short")).status_code == 422
    missing = await _refund(client, stage, 999_999)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "order_not_found"
    not_paid = await _refund(client, stage, unpaid)
    assert not_paid.status_code == 409 and not_paid.json()["error"]["code"] == "order_not_refundable"
    await run_until_idle(ctx)
    assert await _state(ctx, world, stage) == before
