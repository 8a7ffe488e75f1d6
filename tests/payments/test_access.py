"""Who may start and see payments, and the 4xx for orders that cannot be paid (nothing changes)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx

from linli.app import create_app
from linli.payments.models import Payment
from linli.worker import run_until_idle
from tests.payments.conftest import error_code, member, pay, place, rows, snapshot, start


async def test_only_the_owner_may_pay_or_see_payments(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    before = await snapshot(ctx)

    anonymous = await client.post(f"/api/v1/orders/{order.id}/payments", json={})
    assert anonymous.status_code == 401
    foreign = await start(client, shop.stranger, order.id)
    assert foreign.status_code == 404 and error_code(foreign) == "order_not_found"
    leader = await start(client, shop.leader.actor, order.id)
    assert leader.status_code == 404
    staff = await start(client, shop.owner, order.id)
    assert staff.status_code == 404
    missing = await start(client, buyer, 999_999)
    assert missing.status_code == 404 and error_code(missing) == "order_not_found"
    assert await snapshot(ctx) == before

    assert (await client.get(f"/api/v1/orders/{order.id}/payments")).status_code == 401
    assert (await client.get(f"/api/v1/orders/{order.id}/payments", headers=shop.stranger.headers)).status_code == 404
    assert (await client.get(f"/api/v1/orders/{order.id}/payments", headers=buyer.headers)).json() == {
        "items": [], "total": 0, "page": 1, "page_size": 20,
    }


async def test_orders_that_cannot_be_paid_get_a_clear_409(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    expired = await place(ctx, shop, buyer)
    ctx.clock.advance(timedelta(minutes=ctx.settings.order_payment_minutes))
    overdue = await start(client, buyer, expired.id)  # due but not yet swept by the worker
    assert overdue.status_code == 409 and error_code(overdue) == "order_not_payable"
    await run_until_idle(ctx)
    swept = await start(client, buyer, expired.id)
    assert swept.status_code == 409 and error_code(swept) == "order_not_payable"

    cancelled = await place(ctx, shop, buyer)
    await client.post(f"/api/v1/orders/{cancelled.id}/cancel", headers=buyer.headers)
    response = await start(client, buyer, cancelled.id)
    assert response.status_code == 409 and error_code(response) == "order_not_payable"

    paid = await place(ctx, shop, buyer)
    await pay(client, buyer, paid.id)
    response = await start(client, buyer, paid.id)
    assert response.status_code == 409 and error_code(response) == "order_already_paid"
    assert [p.order_id for p in await rows(ctx, Payment)] == [paid.id]


async def test_unknown_or_unconfigured_providers_are_refused(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    for provider in ("alipay", "wechatpay"):  # WeChat Pay is not configured in this deployment
        response = await start(client, buyer, order.id, provider=provider)
        assert response.status_code == 422 and error_code(response) == "payment_provider_unknown"
    refused = await client.post("/api/v1/payments/wechatpay/notify", content=b"{}")
    assert refused.status_code == 404 and refused.json()["code"] == "FAIL"
    assert await rows(ctx, Payment) == []


async def test_with_the_simulator_disabled_its_endpoints_do_not_exist(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    trade_no = (await start(client, buyer, order.id)).json()["out_trade_no"]
    sim = ctx.payments["simulator"]
    done = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json={"delay_ms": 1})
    notification = done.json()["notifications"][0]
    await sim.drain()  # type: ignore[attr-defined]

    production = dataclasses.replace(ctx, payments={})
    app = create_app(production, dispose_on_shutdown=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        assert (await http.get(f"/pay/sim/{trade_no}")).status_code == 404
        complete = await http.post(f"/api/v1/payments/simulator/{trade_no}/complete", json={})
        assert complete.status_code == 404 and error_code(complete) == "simulator_disabled"
        notify = await http.post(
            "/api/v1/payments/simulator/notify", content=notification["body"], headers=notification["headers"]
        )
        assert notify.status_code == 404
        assert (await start(http, buyer, order.id)).status_code == 422
