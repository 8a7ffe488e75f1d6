"""Helpers for the session and claim figures: orders outside any session, late payments, a fresh live session,
room visits, and claims written as after-sales writes them (for the property test, which has no pickups)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from linli.aftersales.models import Claim
from linli.aftersales.service import _payload as claim_payload
from linli.context import AppContext
from linli.live import sessions as live_sessions
from linli.live import visits
from linli.live.models import Listing, LiveSession
from linli.orders import service as orders
from linli.orders.models import Order
from linli.outbox.service import emit
from linli.payments import service as payments
from linli.payments.models import Payment
from linli.worker import run_until_idle
from tests.factories import Actor
from tests.orders.setup import Stage


async def _pay(s, order: Order, now) -> None:  # noqa: ANN001
    s.add(Payment(order_id=order.id, brand_id=order.brand_id, provider="simulator", out_trade_no=payments.new_out_trade_no(),
                  amount_fen=order.total_fen, status="succeeded", provider_transaction_id=None, prepay={},
                  created_at=now, succeeded_at=now))
    await orders.apply_payment(session=s, order_id=order.id, amount_fen=order.total_fen, now=now)


async def place(ctx: AppContext, stage: Stage, buyer: Actor, *, quantity: int = 1, community_id: int | None = None) -> int:
    """Placed in the stage's session, not paid (it expires after 10 minutes)."""
    async with ctx.db.transaction() as s:
        placed = await orders.place_order(
            session=s, user_id=buyer.user_id, listing_id=stage.listing_id, offer_id=None, quantity=quantity,
            idempotency_key=uuid.uuid4().hex, pickup_community_id=community_id or stage.community_id,
            payment_ttl=timedelta(minutes=10), now=ctx.clock.now(),
        )
        return placed.order.id


async def pay_late(ctx: AppContext, order_id: int) -> None:
    """The payment of an order that has expired comes after all: it counts when it comes."""
    async with ctx.db.transaction() as s:
        await orders.expire_due_orders(session=s, now=ctx.clock.now())
    async with ctx.db.transaction() as s:
        await _pay(s, await s.get(Order, order_id), ctx.clock.now())
    await run_until_idle(ctx)


async def buy_off_session(ctx: AppContext, stage: Stage, buyer: Actor, *, quantity: int = 1,
                          community_id: int | None = None) -> int:
    """A paid order outside any live session. No path places one today (every listing is a session's), but the
    order model allows it and the figures define it, so the test takes a session's order out of its session."""
    order_id = await place(ctx, stage, buyer, quantity=quantity, community_id=community_id)
    async with ctx.db.transaction() as s:
        order = await s.get(Order, order_id)
        order.session_id = None
        await s.flush()
        await _pay(s, order, ctx.clock.now())
    await run_until_idle(ctx)
    return order_id


async def new_session(ctx: AppContext, stage: Stage, *, title: str = "夏季水果专场") -> Stage:
    """Another live session of the brand with the stage's SKU listed, started now."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        live = LiveSession(brand_id=stage.brand_id, title=title, scheduled_start_at=now, status="live",
                           phases=[{"code": "group_buy", "title": "社区专享团购", "minutes": 25}], current_phase=0,
                           started_at=now, created_at=now)
        s.add(live)
        await s.flush()
        listing = Listing(brand_id=stage.brand_id, session_id=live.id, sku_id=stage.sku_id, live_price_fen=8800,
                          allocation=5000, created_at=now)
        s.add(listing)
        await s.flush()
    return replace(stage, session_id=live.id, listing_id=listing.id)


async def end(ctx: AppContext, stage: Stage) -> None:
    async with ctx.db.transaction() as s:
        await live_sessions.end_session(session=s, brand_id=stage.brand_id, session_id=stage.session_id, now=ctx.clock.now())
    await run_until_idle(ctx)


async def visit(ctx: AppContext, session_id: int, *, user: Actor | None = None, code: str | None = None) -> None:
    async with ctx.db.transaction() as s:
        await visits.record_visit(session=s, session_id=session_id, user_id=user.user_id if user else None,
                                  invite_code=code, now=ctx.clock.now())


async def write_claim(ctx: AppContext, order_id: int, *, work: bool = True) -> int:
    """A claim row and its `claim.filed`, as aftersales.file_claim writes them (already rejected, so that an
    order may carry several), for tests that do not go through pickups."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        order = await s.get(Order, order_id)
        claim = Claim(
            brand_id=order.brand_id, order_id=order.id, member_id=order.member_id, user_id=order.user_id,
            leader_id=order.leader_id, community_id=order.community_id, pickup_point_id=order.pickup_point_id,
            product_id=order.product_id, product_name=order.product_name, sku_name=order.sku_name, wave_id=None,
            ordered_quantity=order.quantity, paid_fen=order.total_fen, received_at=now, reason="other", quantity=1,
            amount_asked_fen=100, description="", filed_by_user_id=order.user_id, filed_by_role="member",
            idempotency_key=uuid.uuid4().hex, request_fingerprint="-", filed_at=now, status="rejected",
            decision="rejected", decision_reason="测试", decided_at=now, decided_by_user_id=None, approved_fen=0,
            refund_id=None, refund_attempts=0, refunded_fen=0, refunded_at=None,
        )
        s.add(claim)
        await s.flush()
        emit(s, topic="claim.filed", payload=claim_payload(claim), now=now)
        claim_id = claim.id
    if work:
        await run_until_idle(ctx)
    return claim_id

