"""A payment that arrives after its order expired: re-reserved when the units are free, else refunded once."""

from __future__ import annotations

from datetime import timedelta

from linli.live.models import CommunityOffer, Listing
from linli.orders import service as orders
from linli.payments.models import Refund
from linli.worker import run_until_idle
from tests.payments.conftest import build_shop, member, order_of, pay, place, rows, start, topics


async def _expire(ctx) -> None:
    ctx.clock.advance(timedelta(minutes=ctx.settings.order_payment_minutes, seconds=1))
    await run_until_idle(ctx)


async def test_late_payment_with_quota_still_free_is_paid_late(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer, offer=True)
    trade_no = (await start(client, buyer, order.id)).json()["out_trade_no"]
    await _expire(ctx)
    assert (await order_of(ctx, order.id)).status == "expired"
    [offer] = await rows(ctx, CommunityOffer)
    assert offer.sold == 0

    done = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json={})
    assert done.json()["outcomes"] == ["paid_late"]
    assert (await order_of(ctx, order.id)).status == "paid"
    [offer] = await rows(ctx, CommunityOffer)
    [listing] = await rows(ctx, Listing)
    assert offer.sold == 1 and listing.sold == 1
    await run_until_idle(ctx)
    assert await rows(ctx, Refund) == []


async def test_late_payment_not_yet_swept_is_expired_and_rereserved(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    trade_no = (await start(client, buyer, order.id)).json()["out_trade_no"]
    ctx.clock.advance(timedelta(minutes=30))  # no worker pass: the payment itself finds the order overdue
    done = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json={})
    assert done.json()["outcomes"] == ["paid_late"]
    assert (await order_of(ctx, order.id)).status == "paid"
    assert [e.payload["order_id"] for e in await topics(ctx, "order.expired")] == [order.id]


async def test_late_payment_with_quota_gone_is_refunded_exactly_once(ctx, world, client):
    shop = await build_shop(ctx, world, quota=1)
    late, quick = await member(ctx, world, shop, name="晚到"), await member(ctx, world, shop, name="手快")
    order = await place(ctx, shop, late, offer=True)
    trade_no = (await start(client, late, order.id)).json()["out_trade_no"]
    await _expire(ctx)
    other = await place(ctx, shop, quick, offer=True)  # takes the freed place
    assert (await pay(client, quick, other.id))["outcomes"] == ["paid"]

    done = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json={"duplicates": 2})
    assert done.json()["outcomes"] == ["refunding_late_payment", "duplicate", "duplicate"]
    assert (await order_of(ctx, order.id)).status == "expired"
    [offer] = await rows(ctx, CommunityOffer)
    assert offer.sold == 1  # never oversold
    async with ctx.db.read() as s:
        assert await orders.offer_sold_units(session=s, offer_id=shop.offer_id) == 1

    [refund] = await rows(ctx, Refund)
    assert refund.status == "pending" and refund.amount_fen == order.total_fen and refund.order_id == order.id
    await run_until_idle(ctx)
    await run_until_idle(ctx)
    [refund] = await rows(ctx, Refund)
    assert refund.status == "succeeded" and refund.completed_at is not None
    assert len(await topics(ctx, "refund.requested")) == 1
    [refunded] = await topics(ctx, "payment.refunded")
    assert refunded.payload["refund_id"] == refund.id and refunded.processed_at is not None

    # Replayed afterwards: still the one refund.
    first = done.json()["notifications"][0]
    replay = await client.post("/api/v1/payments/simulator/notify", content=first["body"], headers=first["headers"])
    assert replay.json() == {"outcome": "duplicate"}
    assert len(await rows(ctx, Refund)) == 1


async def test_late_payment_for_a_cancelled_order_with_stock_gone_is_refunded(ctx, world, client):
    shop = await build_shop(ctx, world, allocation=1)
    buyer, other = await member(ctx, world, shop, bound=False), await member(ctx, world, shop, bound=False)
    order = await place(ctx, shop, buyer)
    trade_no = (await start(client, buyer, order.id)).json()["out_trade_no"]
    cancelled = await client.post(f"/api/v1/orders/{order.id}/cancel", headers=buyer.headers)
    assert cancelled.status_code == 200, cancelled.text
    second = await place(ctx, shop, other)
    # Paid on the pay page after cancelling, while the unit went to someone else.
    done = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json={})
    assert done.json()["outcomes"] == ["refunding_late_payment"]
    assert (await order_of(ctx, order.id)).status == "cancelled"
    assert (await order_of(ctx, second.id)).status == "pending_payment"
    [listing] = await rows(ctx, Listing)
    assert listing.sold == 1
    await run_until_idle(ctx)
    assert [r.status for r in await rows(ctx, Refund)] == ["succeeded"]
