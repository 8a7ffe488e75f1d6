"""Paying through the simulator over HTTP: success, failure, duplicates, delays, forgeries, replays."""

from __future__ import annotations

import json
from datetime import timedelta

from linli.orders.models import OrderStatusChange
from linli.payments.models import Payment, PaymentCallback
from linli.payments.providers import PAYMENT_SUCCEEDED
from linli.payments.simulator import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, SimulatorProvider
from linli.worker import run_until_idle
from tests.payments.conftest import PRICE_FEN, error_code, member, order_of, pay, place, rows, snapshot, start, topics


async def test_pay_with_the_simulator(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer, quantity=2)

    started = await start(client, buyer, order.id)
    assert started.status_code == 201, started.text
    payment = started.json()
    assert payment["provider"] == "simulator" and payment["status"] == "pending"
    assert payment["amount_fen"] == 2 * PRICE_FEN
    assert payment["prepay"]["pay_url"].endswith(f"/pay/sim/{payment['out_trade_no']}")

    page = await client.get(f"/pay/sim/{payment['out_trade_no']}")
    assert page.status_code == 200
    assert "支付" in page.text and "模拟失败" in page.text and "¥136.00" in page.text and "黄金奶油草莓" in page.text

    done = await client.post(f"/api/v1/payments/simulator/{payment['out_trade_no']}/complete", json={"outcome": "success"})
    assert done.status_code == 200, done.text
    assert done.json()["outcomes"] == ["paid"] and done.json()["scheduled"] is False

    paid = await order_of(ctx, order.id)
    assert paid.status == "paid" and paid.paid_at == ctx.clock.now()
    listed = await client.get(f"/api/v1/orders/{order.id}/payments", headers=buyer.headers)
    assert listed.status_code == 200
    [only] = listed.json()["items"]
    assert only["status"] == "succeeded" and only["succeeded_at"] is not None and only["refunds"] == []
    assert len(await topics(ctx, "order.paid")) == 1
    assert "已支付" in (await client.get(f"/pay/sim/{payment['out_trade_no']}")).text


async def test_asking_twice_reuses_the_pending_payment(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    first = await start(client, buyer, order.id)
    again = await start(client, buyer, order.id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["out_trade_no"] == again.json()["out_trade_no"]
    assert len(await rows(ctx, Payment)) == 1


async def test_a_failed_payment_can_be_retried(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    first = (await start(client, buyer, order.id)).json()
    failed = await client.post(f"/api/v1/payments/simulator/{first['out_trade_no']}/complete", json={"outcome": "fail"})
    assert failed.json()["outcomes"] == ["failed"]
    assert (await order_of(ctx, order.id)).status == "pending_payment"

    second = await start(client, buyer, order.id)
    assert second.status_code == 201 and second.json()["out_trade_no"] != first["out_trade_no"]
    again = await client.post(f"/api/v1/payments/simulator/{first['out_trade_no']}/complete", json={"outcome": "success"})
    assert again.status_code == 409 and error_code(again) == "payment_not_pending"
    done = await client.post(f"/api/v1/payments/simulator/{second.json()['out_trade_no']}/complete", json={})
    assert done.json()["outcomes"] == ["paid"]
    listed = (await client.get(f"/api/v1/orders/{order.id}/payments", headers=buyer.headers)).json()
    statuses = [p["status"] for p in listed["items"]]
    assert statuses == ["succeeded", "failed"]


async def test_duplicate_notifications_pay_once(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    done = await pay(client, buyer, order.id, duplicates=3)
    assert done["outcomes"] == ["paid", "duplicate", "duplicate", "duplicate"]
    assert len(done["notifications"]) == 4
    assert len({json.loads(n["body"])["id"] for n in done["notifications"]}) == 1  # one notification, re-signed
    assert len(await rows(ctx, PaymentCallback)) == 1
    assert len(await topics(ctx, "order.paid")) == 1
    assert [c.to_status for c in await rows(ctx, OrderStatusChange, OrderStatusChange.order_id == order.id)] == [
        "pending_payment", "paid",
    ]
    # Replaying a returned notification against the real callback endpoint is also a no-op.
    first = done["notifications"][0]
    replay = await client.post("/api/v1/payments/simulator/notify", content=first["body"], headers=first["headers"])
    assert replay.status_code == 200 and replay.json() == {"outcome": "duplicate"}


async def test_a_delayed_notification_arrives_later(ctx, world, shop, client, sim):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    done = await pay(client, buyer, order.id, delay_ms=50, duplicates=1)
    assert done["scheduled"] is True and done["outcomes"] == []
    assert (await order_of(ctx, order.id)).status == "pending_payment"
    assert sim.pending_deliveries == 1
    await sim.drain()
    assert (await order_of(ctx, order.id)).status == "paid"
    assert [c.outcome for c in await rows(ctx, PaymentCallback)] == ["paid"]


async def _unsent(ctx, client, buyer, order_id, sim: SimulatorProvider, *, amount_fen: int | None = None, now=None):
    """A genuine success notification for the order's payment that has not been delivered yet."""
    payment = (await start(client, buyer, order_id)).json()
    body = sim.notification_body(
        event_type=PAYMENT_SUCCEEDED, out_trade_no=payment["out_trade_no"],
        amount_fen=payment["amount_fen"] if amount_fen is None else amount_fen, transaction_id="SIMT-test-1",
        now=now or ctx.clock.now(),
    )
    return sim.signed(body, now=now or ctx.clock.now())


async def test_forged_tampered_and_stale_notifications_are_refused(ctx, world, shop, client, sim):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    genuine = await _unsent(ctx, client, buyer, order.id, sim)
    before = await snapshot(ctx)

    forger = SimulatorProvider(secret_key="not-the-secret", public_base_url="http://x")
    forged = forger.signed(genuine.body, now=ctx.clock.now())
    tampered_body = genuine.body.replace(b'"amount_fen":6800', b'"amount_fen":1')
    assert tampered_body != genuine.body
    stale = await _unsent(ctx, client, buyer, order.id, sim, now=ctx.clock.now() - timedelta(minutes=6))
    future = await _unsent(ctx, client, buyer, order.id, sim, now=ctx.clock.now() + timedelta(minutes=6))
    no_headers = {"Content-Type": "application/json"}
    bad_hex = {**genuine.headers, SIGNATURE_HEADER: "zz" * 32}
    shifted_timestamp = {**genuine.headers, TIMESTAMP_HEADER: str(int(genuine.headers[TIMESTAMP_HEADER]) + 1)}
    other_nonce = {**genuine.headers, NONCE_HEADER: "0" * 32}

    attempts = [
        (forged.headers, forged.body, "signature_mismatch"),
        (genuine.headers, tampered_body, "signature_mismatch"),
        (stale.headers, stale.body, "timestamp_stale"),
        (future.headers, future.body, "timestamp_stale"),
        (no_headers, genuine.body, "headers_missing"),
        (bad_hex, genuine.body, "signature_mismatch"),
        (shifted_timestamp, genuine.body, "signature_mismatch"),
        (other_nonce, genuine.body, "signature_mismatch"),
    ]
    for headers, body, reason in attempts:
        refused = await client.post("/api/v1/payments/simulator/notify", content=body, headers=headers)
        assert refused.status_code == 401, (reason, refused.text)
        assert error_code(refused) == "callback_signature_invalid"
        assert refused.json()["error"]["details"]["reason"] == reason
    assert await snapshot(ctx) == before

    accepted = await client.post("/api/v1/payments/simulator/notify", content=genuine.body, headers=genuine.headers)
    assert accepted.status_code == 200 and accepted.json() == {"outcome": "paid"}


async def test_a_notification_for_an_unknown_payment_is_404_and_writes_nothing(ctx, world, shop, client, sim):
    before = await snapshot(ctx)
    body = sim.notification_body(
        event_type=PAYMENT_SUCCEEDED, out_trade_no="LLdoesnotexist", amount_fen=100, transaction_id="T", now=ctx.clock.now()
    )
    signed = sim.signed(body, now=ctx.clock.now())
    refused = await client.post("/api/v1/payments/simulator/notify", content=signed.body, headers=signed.headers)
    assert refused.status_code == 404 and error_code(refused) == "payment_not_found"
    assert await snapshot(ctx) == before


async def test_a_wrong_amount_is_refunded_and_the_order_stays_unpaid(ctx, world, shop, client, sim):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    notification = await _unsent(ctx, client, buyer, order.id, sim, amount_fen=PRICE_FEN - 1)
    result = await client.post("/api/v1/payments/simulator/notify", content=notification.body, headers=notification.headers)
    assert result.json() == {"outcome": "amount_mismatch"}
    assert (await order_of(ctx, order.id)).status == "pending_payment"
    [payment] = (await client.get(f"/api/v1/orders/{order.id}/payments", headers=buyer.headers)).json()["items"]
    assert payment["status"] == "succeeded" and payment["amount_fen"] == PRICE_FEN - 1
    assert payment["prepay"]["expected_amount_fen"] == PRICE_FEN
    [refund] = payment["refunds"]
    assert refund["status"] == "pending" and refund["amount_fen"] == PRICE_FEN - 1

    await run_until_idle(ctx)
    [payment] = (await client.get(f"/api/v1/orders/{order.id}/payments", headers=buyer.headers)).json()["items"]
    assert payment["refunds"][0]["status"] == "succeeded"
    [refunded] = await topics(ctx, "payment.refunded")
    assert refunded.payload["amount_fen"] == PRICE_FEN - 1 and refunded.payload["order_id"] == order.id


async def test_a_second_payment_for_a_paid_order_is_refunded(ctx, world, shop, client, sim):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    first = (await start(client, buyer, order.id)).json()
    late_copy = sim.signed(
        sim.notification_body(
            event_type=PAYMENT_SUCCEEDED, out_trade_no=first["out_trade_no"], amount_fen=PRICE_FEN,
            transaction_id="SIMT-first", now=ctx.clock.now(),
        ),
        now=ctx.clock.now(),
    )
    await client.post(f"/api/v1/payments/simulator/{first['out_trade_no']}/complete", json={"outcome": "fail"})
    assert (await pay(client, buyer, order.id))["outcomes"] == ["paid"]

    # The first attempt's money turns up after all: the order is already paid, so it goes back.
    result = await client.post("/api/v1/payments/simulator/notify", content=late_copy.body, headers=late_copy.headers)
    assert result.json() == {"outcome": "refunding_double_payment"}
    await run_until_idle(ctx)
    assert (await order_of(ctx, order.id)).status == "paid"
    payments = (await client.get(f"/api/v1/orders/{order.id}/payments", headers=buyer.headers)).json()["items"]
    assert [p["status"] for p in payments] == ["succeeded", "refunded"]  # the first attempt's money went back in full
    assert payments[1]["refunds"][0]["status"] == "succeeded" and payments[0]["refunds"] == []


async def test_simulator_endpoint_input_is_checked(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    trade_no = (await start(client, buyer, order.id)).json()["out_trade_no"]
    for body in ({"outcome": "maybe"}, {"duplicates": 6}, {"delay_ms": -1}, {"delay_ms": 60_001}):
        response = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json=body)
        assert response.status_code == 422, body
    missing = await client.post("/api/v1/payments/simulator/LLnope/complete", json={})
    assert missing.status_code == 404 and error_code(missing) == "payment_not_found"
    assert (await client.get("/pay/sim/LLnope")).status_code == 404
    garbage = await client.post("/api/v1/payments/simulator/notify", content=b"{not json")
    assert garbage.status_code == 401
    assert (await order_of(ctx, order.id)).status == "pending_payment"
