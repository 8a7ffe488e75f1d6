"""Races: the same notification delivered at once, taps on "pay" at once, the same refund asked at once."""

from __future__ import annotations

import asyncio

from linli.errors import Conflict
from linli.payments import service
from linli.payments.models import Payment, PaymentCallback, Refund
from linli.payments.providers import PAYMENT_SUCCEEDED
from linli.simulation import deliver
from linli.worker import run_until_idle
from tests.payments.conftest import member, order_of, pay, place, rows, start, topics


async def test_concurrent_deliveries_of_one_notification_pay_once(ctx, world, shop, client, sim):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    trade_no = (await start(client, buyer, order.id)).json()["out_trade_no"]
    body = sim.notification_body(
        event_type=PAYMENT_SUCCEEDED, out_trade_no=trade_no, amount_fen=order.total_fen, transaction_id="SIMT-race",
        now=ctx.clock.now(),
    )
    copies = [sim.signed(body, now=ctx.clock.now()) for _ in range(6)]
    outcomes = await asyncio.gather(*(deliver(ctx, sim, c) for c in copies))
    assert sorted(outcomes) == ["duplicate"] * 5 + ["paid"]
    assert (await order_of(ctx, order.id)).status == "paid"
    assert len(await rows(ctx, PaymentCallback)) == 1 and len(await topics(ctx, "order.paid")) == 1


async def test_distinct_notifications_of_one_payment_apply_once(ctx, world, shop, client, sim):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    trade_no = (await start(client, buyer, order.id)).json()["out_trade_no"]
    copies = [
        sim.signed(
            sim.notification_body(
                event_type=PAYMENT_SUCCEEDED, out_trade_no=trade_no, amount_fen=order.total_fen,
                transaction_id="SIMT-race", now=ctx.clock.now(),
            ),
            now=ctx.clock.now(),
        )
        for _ in range(4)
    ]
    outcomes = await asyncio.gather(*(deliver(ctx, sim, c) for c in copies))
    assert sorted(outcomes) == ["already_succeeded"] * 3 + ["paid"]
    assert len(await topics(ctx, "order.paid")) == 1 and await rows(ctx, Refund) == []


async def test_concurrent_taps_on_pay_make_one_payment(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    responses = await asyncio.gather(*(start(client, buyer, order.id) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert len({r.json()["out_trade_no"] for r in responses}) == 1
    assert len(await rows(ctx, Payment)) == 1


async def test_concurrent_refunds_with_one_key_refund_once(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    await pay(client, buyer, order.id)
    [payment] = await rows(ctx, Payment)

    async def ask(key: str) -> int | str:
        try:
            async with ctx.db.transaction() as s:
                refund = await service.request_refund(
                    session=s, payment=payment, amount_fen=order.total_fen, reason="坏果包赔", idempotency_key=key,
                    now=ctx.clock.now(),
                )
                return refund.id
        except Conflict as exc:
            return exc.code

    same = await asyncio.gather(*(ask("claim:race") for _ in range(5)))
    assert len(set(same)) == 1 and isinstance(same[0], int)
    others = await asyncio.gather(*(ask(f"claim:other-{i}") for i in range(3)))
    assert others == ["refund_exceeds_paid"] * 3
    await run_until_idle(ctx)
    assert [r.status for r in await rows(ctx, Refund)] == ["succeeded"]
    assert len(await topics(ctx, "refund.requested")) == 1
