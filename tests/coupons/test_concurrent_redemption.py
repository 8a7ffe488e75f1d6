"""Two orders, one coupon, at the same moment: it is redeemed once (the guarded UPDATE), the loser is a clear
409 and takes no units; and the guard alone decides, without the member lock in front of it."""

from __future__ import annotations

import asyncio
import uuid

from linli.coupons import service as coupons
from linli.errors import DomainError
from tests.coupons.setup import build_coupon_stage, coupon_row, member_id_of, neighbour_with_coupon
from tests.orders.setup import assert_invariants


async def test_concurrent_orders_with_one_coupon_redeem_it_once(client, world, ctx):
    cs = await build_coupon_stage(world, per_member_limit=10)
    buyer, coupon_id = await neighbour_with_coupon(world, cs)

    async def buy(body):
        return await client.post("/api/v1/orders", json={**body, "quantity": 1, "coupon_id": coupon_id},
                                 headers={**buyer.headers, "Idempotency-Key": uuid.uuid4().hex})

    targets = [{"offer_id": cs.stage.offer_id}, {"listing_id": cs.stage.listing_id}] * 4
    answers = await asyncio.gather(*(buy(t) for t in targets))
    won = [a for a in answers if a.status_code == 201]
    assert len(won) == 1, [a.text for a in answers]
    assert {(a.status_code, a.json()["error"]["code"]) for a in answers if a.status_code != 201} == {
        (409, "coupon_already_used")
    }
    assert won[0].json()["discount_fen"] == 1000
    assert (await coupon_row(ctx, coupon_id)).status == "used"
    c = await assert_invariants(world, cs.stage, initial_stock=1000, quota=100, allocation=500)
    assert c.listing_held == 1  # the losers took nothing


async def test_the_guarded_update_alone_lets_one_of_two_transactions_redeem(world, ctx):
    cs = await build_coupon_stage(world)
    buyer, coupon_id = await neighbour_with_coupon(world, cs)
    member_id = await member_id_of(ctx, cs.brand_id, buyer)
    started = asyncio.Event()

    async def redeem(delay: bool) -> str:
        try:
            async with ctx.db.transaction() as s:
                await coupons.redeem(session=s, coupon_id=coupon_id, member_id=member_id, now=ctx.clock.now())
                if delay:  # hold the row until the other has asked for it too
                    started.set()
                    await asyncio.sleep(0.2)
        except DomainError as exc:
            return exc.code
        return "redeemed"

    async def second() -> str:
        await started.wait()
        return await redeem(False)

    outcomes = await asyncio.gather(redeem(True), second())
    assert sorted(outcomes) == ["coupon_already_used", "redeemed"]
