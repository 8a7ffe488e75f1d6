"""Refunds: exactly once per idempotency key, never more than paid, the provider asked by the worker."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from linli.errors import Conflict, InvalidInput
from linli.outbox.models import OutboxEvent
from linli.payments import service
from linli.payments.models import Payment, Refund
from linli.payments.providers import PaymentProviderUnavailable
from linli.worker import run_until_idle
from tests.payments.conftest import PRICE_FEN, member, pay, place, rows, topics


async def _paid_payment(ctx, world, shop, client, quantity: int = 1) -> Payment:
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer, quantity=quantity)
    await pay(client, buyer, order.id)
    [payment] = await rows(ctx, Payment, Payment.order_id == order.id)
    return payment


async def _refund(ctx, payment: Payment, amount_fen: int, key: str) -> Refund:
    async with ctx.db.transaction() as s:
        return await service.request_refund(
            session=s, payment=payment, amount_fen=amount_fen, reason="坏果包赔", idempotency_key=key, now=ctx.clock.now()
        )


async def test_the_same_key_returns_the_same_refund(ctx, world, shop, client):
    payment = await _paid_payment(ctx, world, shop, client, quantity=2)
    first = await _refund(ctx, payment, 1000, "claim:7")
    again = await _refund(ctx, payment, 1000, "claim:7")
    assert first.id == again.id and first.out_refund_no == again.out_refund_no == service.out_refund_no_for("claim:7")
    assert len(await rows(ctx, Refund)) == 1
    assert len(await topics(ctx, "refund.requested")) == 1
    with pytest.raises(Conflict) as reused:
        await _refund(ctx, payment, 2000, "claim:7")
    assert reused.value.code == "refund_key_reused"


async def test_never_more_than_paid_minus_refunded(ctx, world, shop, client):
    payment = await _paid_payment(ctx, world, shop, client)
    await _refund(ctx, payment, PRICE_FEN - 800, "claim:1")
    with pytest.raises(Conflict) as exceeded:
        await _refund(ctx, payment, 801, "claim:2")
    assert exceeded.value.code == "refund_exceeds_paid"
    assert exceeded.value.details == {"paid_fen": PRICE_FEN, "refunded_fen": PRICE_FEN - 800, "requested_fen": 801}
    await _refund(ctx, payment, 800, "claim:3")  # exactly the rest is fine
    with pytest.raises(Conflict):
        await _refund(ctx, payment, 1, "claim:4")
    for bad in (0, -5):
        with pytest.raises(InvalidInput):
            await _refund(ctx, payment, bad, "claim:5")
    with pytest.raises(InvalidInput):
        await _refund(ctx, payment, 1, "   ")
    assert sorted(r.amount_fen for r in await rows(ctx, Refund)) == [800, PRICE_FEN - 800]


async def test_an_unpaid_payment_cannot_be_refunded(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    started = (await client.post(f"/api/v1/orders/{order.id}/payments", json={}, headers=buyer.headers)).json()
    async with ctx.db.read() as s:
        payment = await service.get_payment(session=s, payment_id=started["id"])
    with pytest.raises(Conflict) as refused:
        await _refund(ctx, payment, 100, "claim:9")
    assert refused.value.code == "payment_not_refundable"
    assert await rows(ctx, Refund) == []


class CountingProvider:
    """Wraps the simulator; counts refund calls and answers what it is told."""

    def __init__(self, inner, answers: list) -> None:
        self.inner = inner
        self.name = inner.name
        self.answers = answers
        self.calls: list[str] = []

    def __getattr__(self, attr):
        return getattr(self.inner, attr)

    async def refund(self, *, refund, payment) -> str:
        self.calls.append(refund.out_refund_no)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_the_worker_asks_the_provider_once_and_retries_transient_failures(ctx, world, shop, client):
    payment = await _paid_payment(ctx, world, shop, client)
    provider = CountingProvider(ctx.payments["simulator"], [PaymentProviderUnavailable(), "succeeded"])
    worker_ctx = dataclasses.replace(ctx, payments={"simulator": provider})
    refund = await _refund(ctx, payment, 500, "claim:retry")

    await run_until_idle(worker_ctx)
    [event] = await topics(ctx, "refund.requested")
    assert event.processed_at is None and event.attempts == 1 and "PaymentProviderUnavailable" in event.last_error
    assert [r.status for r in await rows(ctx, Refund)] == ["pending"]

    ctx.clock.advance(timedelta(seconds=5))
    await run_until_idle(worker_ctx)
    await run_until_idle(worker_ctx)
    assert provider.calls == [refund.out_refund_no, refund.out_refund_no]  # the same number both times
    [done] = await rows(ctx, Refund)
    assert done.status == "succeeded" and done.completed_at == ctx.clock.now()
    [event] = await topics(ctx, "payment.refunded")
    assert event.payload["amount_fen"] == 500 and event.payload["payment_id"] == payment.id


async def test_a_refused_refund_is_failed_and_no_longer_counts(ctx, world, shop, client):
    payment = await _paid_payment(ctx, world, shop, client)
    provider = CountingProvider(ctx.payments["simulator"], ["failed", "pending"])
    worker_ctx = dataclasses.replace(ctx, payments={"simulator": provider})
    await _refund(ctx, payment, PRICE_FEN, "claim:a")
    await run_until_idle(worker_ctx)
    assert [r.status for r in await rows(ctx, Refund)] == ["failed"]
    assert len(await topics(ctx, "payment.refund_failed")) == 1
    # The failed one no longer holds the money: a new refund for the full amount is allowed.
    await _refund(ctx, payment, PRICE_FEN, "claim:b")
    await run_until_idle(worker_ctx)
    assert [r.status for r in await rows(ctx, Refund)] == ["failed", "pending"]  # provider said "pending"
    assert await topics(ctx, "payment.refunded") == []


async def test_an_unconfigured_provider_keeps_the_refund_waiting(ctx, world, shop, client):
    payment = await _paid_payment(ctx, world, shop, client)
    await _refund(ctx, payment, 100, "claim:wait")
    await run_until_idle(dataclasses.replace(ctx, payments={}))
    [event] = await rows(ctx, OutboxEvent, OutboxEvent.topic == "refund.requested")
    assert event.processed_at is None and "not configured" in event.last_error
    assert [r.status for r in await rows(ctx, Refund)] == ["pending"]


async def test_a_payments_status_says_how_much_of_it_was_refunded(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer, quantity=2)
    await pay(client, buyer, order.id)
    [payment] = await rows(ctx, Payment, Payment.order_id == order.id)

    async def shown() -> tuple[str, int]:
        [listed] = (await client.get(f"/api/v1/orders/{order.id}/payments", headers=buyer.headers)).json()["items"]
        return listed["status"], listed["refunded_fen"]

    assert await shown() == ("succeeded", 0)
    await _refund(ctx, payment, 1000, "claim:1")
    assert await shown() == ("succeeded", 0)  # asked for, not yet back on the member's account
    await run_until_idle(ctx)
    assert await shown() == ("partially_refunded", 1000)
    await _refund(ctx, payment, 2 * PRICE_FEN - 1000, "claim:2")
    await run_until_idle(ctx)
    assert await shown() == ("refunded", 2 * PRICE_FEN)
    async with ctx.db.read() as s:
        assert (await s.get(Payment, payment.id)).status == "succeeded"  # the stored state is the provider's
