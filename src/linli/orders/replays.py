"""An order request's idempotency key: the fingerprint of its body, and what an order already made with the key
answers — that order for the same body (a replay), a 409 for another body (a reused key)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from linli.errors import Conflict
from linli.orders.models import Order
from linli.orders.targets import ReplayFacts


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    created: bool


def fingerprint(
    *, listing_id: int | None, offer_id: int | None, quantity: int, pickup_community_id: int | None,
    coupon_id: int | None = None,
) -> str:
    raw = f"listing={listing_id}|offer={offer_id}|quantity={quantity}|pickup={pickup_community_id}"
    if coupon_id is not None:  # only then: a key made before coupons existed keeps its fingerprint
        raw += f"|coupon={coupon_id}"
    return hashlib.sha256(raw.encode()).hexdigest()


def replayed(existing: Order | None, fingerprint: str) -> PlacedOrder | None:
    """The order this key already made (same body), a 409 (different body), or None (a new key)."""
    if existing is None:
        return None
    refuse_reused_key(existing.request_fingerprint, fingerprint)
    return PlacedOrder(order=existing, created=False)


def refuse_reused_key(recorded: str, fingerprint: str) -> None:
    if recorded != fingerprint:
        raise Conflict("该幂等键已用于另一笔不同的下单请求", code="idempotency_key_reused")


async def replay_of(session: AsyncSession, replay: ReplayFacts, fingerprint: str) -> PlacedOrder:
    """The fresh read found an order made with this key: the same body gets that order back, another a 409."""
    refuse_reused_key(replay.request_fingerprint, fingerprint)
    order = await session.get(Order, replay.order_id)
    assert order is not None  # orders are never deleted
    return PlacedOrder(order=order, created=False)
