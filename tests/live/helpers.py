"""Helpers for the live-room tests: error codes, outbox reads, orders, SSE parsing."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from linli.context import AppContext
from linli.live.service import room_stream
from linli.orders import service as orders
from linli.outbox.models import OutboxEvent
from tests.factories import Actor


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"], body
    return body["error"]["code"]


async def room_events(ctx: AppContext, session_id: int) -> list[OutboxEvent]:
    async with ctx.db.read() as s:
        rows = await s.scalars(
            select(OutboxEvent).where(OutboxEvent.stream == room_stream(session_id)).order_by(OutboxEvent.id)
        )
        return list(rows)


async def room_topics(ctx: AppContext, session_id: int) -> list[str]:
    return [e.topic for e in await room_events(ctx, session_id)]


async def place(
    ctx: AppContext, user: Actor, *, listing_id: int | None = None, offer_id: int | None = None, quantity: int = 1,
    key: str | None = None, pickup_community_id: int | None = None,
) -> orders.PlacedOrder:
    """An order placed through the orders service (the lead's), committed."""
    async with ctx.db.transaction() as s:
        return await orders.place_order(
            session=s, user_id=user.user_id, listing_id=listing_id, offer_id=offer_id, quantity=quantity,
            idempotency_key=key or f"key-{user.user_id}-{listing_id}-{offer_id}-{ctx.clock.now().timestamp()}",
            pickup_community_id=pickup_community_id, payment_ttl=timedelta(minutes=10), now=ctx.clock.now(),
        )


async def pay(ctx: AppContext, order_id: int) -> None:
    async with ctx.db.transaction() as s:
        order = await orders.get_order(session=s, order_id=order_id)
        await orders.apply_payment(session=s, order_id=order_id, amount_fen=order.total_fen, now=ctx.clock.now())


def parse_sse(text: str) -> list[dict]:
    """Events of an SSE body: {"id": int | None, "event": str, "data": object}; comments and retry are skipped."""
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if "event" in fields:
            events.append(
                {
                    "id": int(fields["id"]) if "id" in fields else None,
                    "event": fields["event"],
                    "data": json.loads(fields["data"]),
                }
            )
    return events
