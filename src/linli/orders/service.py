"""Orders: placement with an atomic reservation, expiry, cancellation and payment application.

Placement locks in a stable order (the member row, then the offer, the listing and the SKU through
guarded updates), checks everything, then writes. Any refusal raises before commit, so a refused
order changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.attribution import service as attribution
from linli.catalog import stock
from linli.coupons import service as coupons
from linli.coupons.terms import discount_fen, require_threshold
from linli.db import Database
from linli.errors import Conflict, InvalidInput, NotFound
from linli.live import reservations
from linli.live.service import room_stream
from linli.members import service as members
from linli.orders import replays, reservation, targets, writes
from linli.orders.models import Order, OrderStatusChange
from linli.orders.replays import PlacedOrder
from linli.orders.targets import HOLDING_STATUSES, after_lock, check_limit, refuse_before_any_lock
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page
from linli.security import mask_name

MAX_QUANTITY = 99
TRANSITIONS: dict[str, set[str]] = {
    "pending_payment": {"paid", "expired", "cancelled"},
    "expired": {"paid"},  # a late payment that could still be re-reserved
    "cancelled": {"paid"},  # paid on the pay page while being cancelled: same as late
    "paid": {"refunded"},
    "refunded": set(),
}


def _move(session: AsyncSession, order: Order, to: str, *, reason: str | None, now: datetime) -> None:
    if to not in TRANSITIONS[order.status]:
        raise Conflict(f"订单状态为 {order.status}，不能变为 {to}", code="order_status_invalid")
    session.add(OrderStatusChange(order_id=order.id, from_status=order.status, to_status=to, reason=reason, changed_at=now))
    order.status = to
    if to in ("expired", "cancelled", "refunded"):
        order.closed_at = now


def _checked_key(*, listing_id: int | None, offer_id: int | None, quantity: int, idempotency_key: str) -> str:
    if (listing_id is None) == (offer_id is None):
        raise InvalidInput("请指定直播商品或社区专享价之一", code="order_target_invalid")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"购买数量须在 1 到 {MAX_QUANTITY} 之间", code="quantity_invalid")
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 64:
        raise InvalidInput("幂等键长度须为 8 到 64 个字符", code="idempotency_key_invalid")
    return key


async def place_order_in(
    *,
    db: Database,
    user_id: int,
    listing_id: int | None,
    offer_id: int | None,
    quantity: int,
    idempotency_key: str,
    pickup_community_id: int | None,
    payment_ttl: timedelta,
    now: datetime,
    coupon_id: int | None = None,
) -> PlacedOrder:
    """`place_order` in a transaction of its own, which is opened only when the read deciding who may buy, what
    is left and whether the key was used lets the order go ahead: a replay, an ineligible member or a sold-out
    offer costs that one read (without BEGIN/COMMIT) and never waits for a writer.

    SQLite reads inside the write transaction instead: there a separate read would be a transaction of its
    own on the read engine, and the placement's statements stay on one engine (the tests count them there).
    """
    key = _checked_key(listing_id=listing_id, offer_id=offer_id, quantity=quantity, idempotency_key=idempotency_key)
    if db.dialect == "sqlite":
        async with db.transaction() as session:
            return await place_order(
                session=session, user_id=user_id, listing_id=listing_id, offer_id=offer_id, quantity=quantity,
                idempotency_key=key, pickup_community_id=pickup_community_id, payment_ttl=payment_ttl, now=now,
                coupon_id=coupon_id,
            )
    target = await targets.read_target_on_driver(
        db=db, offer_id=offer_id, listing_id=listing_id, user_id=user_id, idempotency_key=key
    )
    if target.member_id is not None:
        fingerprint = replays.fingerprint(
            listing_id=listing_id, offer_id=offer_id, quantity=quantity, pickup_community_id=pickup_community_id,
            coupon_id=coupon_id,
        )
        if target.replay is not None:
            async with db.lookup() as session:
                return await replays.replay_of(session, target.replay, fingerprint)
        refuse_before_any_lock(target, leader_id=targets.binding_leader(target, now), quantity=quantity, now=now)
    async with db.transaction() as session:
        return await place_order(
            session=session, user_id=user_id, listing_id=listing_id, offer_id=offer_id, quantity=quantity,
            idempotency_key=key, pickup_community_id=pickup_community_id, payment_ttl=payment_ttl, now=now,
            read_already=target if target.member_id is not None else None, coupon_id=coupon_id,
        )


async def place_order(
    *,
    session: AsyncSession,
    user_id: int,
    listing_id: int | None,
    offer_id: int | None,
    quantity: int,
    idempotency_key: str,
    pickup_community_id: int | None,
    payment_ttl: timedelta,
    now: datetime,
    read_already: targets.Target | None = None,
    coupon_id: int | None = None,
) -> PlacedOrder:
    """Places an order in as few statements as correctness allows (docs/orders.md, "the hot path").

    A sold-out refusal is one read; an order is that read, the member lock, one read under it, one
    reservation (one statement on PostgreSQL) and the inserts of the order, its status change and events.
    `read_already` is that first read when the caller made it just before (`place_order_in`): it only
    decides the refusals before the lock, and everything after the lock is read again or guarded.

    With a `coupon_id` (docs/coupons.md) the coupon is checked before the units, the threshold and discount follow
    from the price the reservation locked, the coupon is taken (a guarded UPDATE) after the units, and the order is
    written with the ORM (its discount is not known when the reservation's own statement would write it): only
    such orders pay for the coupon's read, update and redemption row. Any coupon refusal raises, so nothing is kept.
    """
    key = _checked_key(listing_id=listing_id, offer_id=offer_id, quantity=quantity, idempotency_key=idempotency_key)
    fingerprint = replays.fingerprint(
        listing_id=listing_id, offer_id=offer_id, quantity=quantity, pickup_community_id=pickup_community_id,
        coupon_id=coupon_id,
    )

    def read() -> Awaitable[targets.Target]:
        return targets.read_target(
            session=session, offer_id=offer_id, listing_id=listing_id, user_id=user_id, idempotency_key=key
        )

    target = read_already or await read()
    if target.member_id is None:
        # The first order in this brand: make the member, then read again (a concurrent request may have made
        # it, and bound it, in the meantime).
        await members.get_or_create_member(session=session, brand_id=target.listing.brand_id, user_id=user_id, now=now)
        target = await read()
    member_id, listing, offer = target.member_id, target.listing, target.offer
    assert member_id is not None
    if target.replay is not None:
        return await replays.replay_of(session, target.replay, fingerprint)
    leader_id = targets.binding_leader(target, now)
    refuse_before_any_lock(target, leader_id=leader_id, quantity=quantity, now=now)

    # The write path: one member's concurrent requests queue on the member row, then the key and the units the
    # member holds are read again under it. SQLite needs no row lock: the write transaction (BEGIN IMMEDIATE)
    # already excludes every other writer.
    if session.get_bind().dialect.name != "sqlite":
        await reservation.lock_member_and_session(session, member_id=member_id, session_id=listing.session_id)
    replay_id, offer_held, listing_held = await after_lock(
        session, member_id=member_id, key=key, offer_id=offer.id if offer else None, listing_id=listing.id
    )
    if replay_id is not None:
        replay = replays.replayed(await session.get(Order, replay_id), fingerprint)
        assert replay is not None
        return replay
    if offer is not None:
        check_limit(limit=offer.per_member_limit, held=offer_held, quantity=quantity)
    check_limit(limit=listing.per_member_limit, held=listing_held, quantity=quantity)
    pickup = await targets.pickup_facts(
        session=session, listing=listing, leader_id=leader_id, pickup_community_id=pickup_community_id
    )
    if pickup is None:
        raise InvalidInput("请选择自提点所在小区", code="pickup_point_required")
    sku = await targets.sku_facts(session=session, listing=listing)
    terms = None
    if coupon_id is not None:
        terms = await coupons.check_for_order(
            session=session, coupon_id=coupon_id, brand_id=listing.brand_id, member_id=member_id,
            product_id=sku.product_id, session_id=listing.session_id, community_id=pickup.community_id, now=now,
        )

    # The reservation comes last: the hot offer and listing rows stay locked only for the writes and the commit.
    order = Order(
        brand_id=listing.brand_id, member_id=member_id, user_id=user_id, session_id=listing.session_id,
        listing_id=listing.id, offer_id=offer.id if offer else None, sku_id=listing.sku_id, product_id=sku.product_id,
        product_name=sku.product_name, sku_name=sku.sku_name, quantity=quantity, discount_fen=0, coupon_id=coupon_id,
        leader_id=leader_id, community_id=pickup.community_id, pickup_point_id=pickup.pickup_point_id,
        status="pending_payment",
        idempotency_key=key, request_fingerprint=fingerprint, placed_at=now, expires_at=now + payment_ttl, paid_at=None,
        closed_at=None,
    )
    room = room_stream(listing.session_id)
    ticker = {
        "name": mask_name(target.display_name), "community": pickup.community_name, "product": sku.product_name,
        "quantity": quantity,
    }
    in_one_statement = session.get_bind().dialect.name == "postgresql" and terms is None
    reserved = await reservation.reserve(
        session=session, offer_id=offer.id if offer else None, listing_id=listing.id, session_id=listing.session_id,
        sku_id=listing.sku_id, quantity=quantity, now=now,
        # PostgreSQL writes the order, its status change and its events in the reservation's own statement.
        write=writes.placed_order_ctes if in_one_statement else None,
        write_params=writes.write_params(
            order=order, placed_payload=_order_payload(order, without=("order_id", "total_fen", "payable_fen")),
            stock_payload=_room_stock_payload(order=order), ticker=ticker, room=room,
        ) if in_one_statement else None,
    )
    if reserved.order_id is not None:
        order = writes.attach_written(
            session, order=order, order_id=reserved.order_id, unit_price_fen=reserved.unit_price_fen, room=room
        )
        return PlacedOrder(order=order, created=True)
    order.unit_price_fen, order.total_fen = reserved.unit_price_fen, reserved.unit_price_fen * quantity
    if terms is not None:
        require_threshold(terms, order.total_fen)  # raises: the units just taken are rolled back
        # Taken after the units, in the lock order every path keeps (offer → listing → SKU → coupon).
        await coupons.redeem(session=session, coupon_id=coupon_id, member_id=member_id, now=now)
        order.discount_fen = discount_fen(terms, order.total_fen)
    order.payable_fen = order.total_fen - order.discount_fen

    def events_of(placed: Order) -> list[tuple[str, str | None, dict]]:
        stock = _room_stock_payload(order=placed, listing_left=reserved.listing_left, offer_left=reserved.offer_left)
        return [("order.placed", None, _order_payload(placed)), ("live.stock", room, stock), ("live.order_ticker", room, ticker)]

    order = await writes.write_with_the_orm(session, order=order, events_of=events_of, now=now)
    if coupon_id is not None:
        coupons.record_redemption(
            session, coupon_id=coupon_id, order_id=order.id, brand_id=order.brand_id, discount_fen=order.discount_fen,
            now=now,
        )
    return PlacedOrder(order=order, created=True)


def _order_payload(order: Order, *, without: tuple[str, ...] = ()) -> dict:
    """The order's events' payload; `without` leaves out what the statement writing it fills in itself."""
    payload = {
        "order_id": order.id,
        "brand_id": order.brand_id,
        "member_id": order.member_id,
        "leader_id": order.leader_id,
        "session_id": order.session_id,
        "listing_id": order.listing_id,
        "offer_id": order.offer_id,
        "quantity": order.quantity,
        "total_fen": order.total_fen,
        "payable_fen": order.payable_fen,
        "status": order.status,
    }
    for key in without:
        del payload[key]
    return payload


def _room_stock_payload(*, order: Order, listing_left: int | None = None, offer_left: int | None = None) -> dict:
    """`live.stock` for the order's listing (and offer); without the units left when the statement writing it
    fills them in itself (PostgreSQL's placement)."""
    payload: dict = {"listing_id": order.listing_id}
    if listing_left is not None:
        payload["listing_remaining"] = listing_left
    if order.offer_id is not None:
        payload["offer_id"] = order.offer_id
        if offer_left is not None:
            payload["offer_remaining"] = offer_left
    return payload


def _emit_room_stock(session: AsyncSession, *, order: Order, listing_left: int, offer_left: int | None, now: datetime) -> None:
    assert order.session_id is not None
    payload = _room_stock_payload(order=order, listing_left=listing_left, offer_left=offer_left)
    emit(session, topic="live.stock", stream=room_stream(order.session_id), payload=payload, now=now)


async def _release(session: AsyncSession, order: Order, now: datetime) -> None:
    """Gives the order's units back to the offer, the listing and the SKU (reverse of placement), and its coupon
    to the member (`order.status` is the move just made: cancelled, expired or refunded)."""
    offer_left = None
    if order.offer_id is not None:
        offer_left = (await reservations.release_offer(session=session, offer_id=order.offer_id, quantity=order.quantity)).left
    listing_left = (await reservations.release_listing(session=session, listing_id=order.listing_id, quantity=order.quantity)).left
    await stock.return_stock(session=session, sku_id=order.sku_id, quantity=order.quantity)
    if order.coupon_id is not None:
        await coupons.release_for_order(session=session, order_id=order.id, reason=order.status, now=now)
    _emit_room_stock(session, order=order, listing_left=listing_left, offer_left=offer_left, now=now)


async def _rereserve(session: AsyncSession, order: Order, now: datetime) -> bool:
    """Takes the units (and the coupon) again for a late payment; False (and nothing taken) when they are gone."""
    async with session.begin_nested() as savepoint:
        offer_left = None
        if order.offer_id is not None:
            got = await reservations.reserve_offer(session=session, offer_id=order.offer_id, quantity=order.quantity, now=now)
            if got is None:
                await savepoint.rollback()
                return False
            offer_left = got.left
        listing_left = await reservations.reserve_listing(session=session, listing_id=order.listing_id, quantity=order.quantity)
        if listing_left is None or await stock.take_stock(session=session, sku_id=order.sku_id, quantity=order.quantity) is None:
            await savepoint.rollback()
            return False
        if order.coupon_id is not None and not await coupons.retake_for_order(session=session, order_id=order.id, now=now):
            await savepoint.rollback()
            return False
    _emit_room_stock(session, order=order, listing_left=listing_left.left, offer_left=offer_left, now=now)
    return True


async def get_order(*, session: AsyncSession, order_id: int, for_update: bool = False) -> Order:
    order = await session.get(Order, order_id, with_for_update=for_update)
    if order is None:
        raise NotFound("订单不存在", code="order_not_found")
    return order


async def get_own_order(*, session: AsyncSession, user_id: int, order_id: int, for_update: bool = False) -> Order:
    order = await session.get(Order, order_id, with_for_update=for_update)
    if order is None or order.user_id != user_id:
        raise NotFound("订单不存在", code="order_not_found")
    return order


async def _expire(session: AsyncSession, order: Order, now: datetime) -> None:
    _move(session, order, "expired", reason="payment_timeout", now=now)
    await _release(session, order, now)
    emit(session, topic="order.expired", payload=_order_payload(order), now=now)


async def expire_due_orders(*, session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """Expires unpaid orders past their time and gives their reservations back (idempotent)."""
    due = (
        await session.scalars(
            select(Order)
            .where(Order.status == "pending_payment", Order.expires_at <= now)
            .order_by(Order.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for order in due:
        await _expire(session, order, now)
    return len(due)


async def cancel_order(*, session: AsyncSession, user_id: int, order_id: int, now: datetime) -> Order:
    order = await get_own_order(session=session, user_id=user_id, order_id=order_id, for_update=True)
    if order.status != "pending_payment":
        raise Conflict("只有待支付的订单可以取消", code="order_not_cancellable")
    _move(session, order, "cancelled", reason="member_cancelled", now=now)
    await _release(session, order, now)
    emit(session, topic="order.cancelled", payload=_order_payload(order), now=now)
    return order


async def require_payable(*, session: AsyncSession, user_id: int, order_id: int, now: datetime) -> Order:
    """The caller's order if it can still be paid now (a pay request for anything else is a 4xx)."""
    order = await get_own_order(session=session, user_id=user_id, order_id=order_id)
    if order.status == "paid":
        raise Conflict("订单已支付", code="order_already_paid")
    if order.status != "pending_payment" or order.expires_at <= now:
        raise Conflict("订单已关闭或已超时，请重新下单", code="order_not_payable")
    return order


@dataclass(frozen=True)
class PaymentApplied:
    order: Order
    outcome: str  # paid, already_paid, paid_late, refund_required


async def apply_payment(*, session: AsyncSession, order_id: int, amount_fen: int, now: datetime) -> PaymentApplied:
    """Applies a verified payment. Never oversells: a late payment is re-reserved or must be refunded."""
    order = await get_order(session=session, order_id=order_id, for_update=True)
    if order.status == "paid":
        return PaymentApplied(order=order, outcome="already_paid")
    if amount_fen != order.payable_fen or order.status == "refunded":
        return PaymentApplied(order=order, outcome="refund_required")
    if order.status == "pending_payment" and order.expires_at <= now:
        await _expire(session, order, now)
    outcome = "paid"
    if order.status in ("expired", "cancelled"):
        if not await _rereserve(session, order, now):
            return PaymentApplied(order=order, outcome="refund_required")
        outcome = "paid_late"
    _move(session, order, "paid", reason=None if outcome == "paid" else "late_payment_rereserved", now=now)
    order.paid_at = now
    order.closed_at = None
    await attribution.renew_on_purchase(session=session, member_id=order.member_id, now=now)
    emit(session, topic="order.paid", payload=_order_payload(order), now=now)
    return PaymentApplied(order=order, outcome=outcome)


async def mark_refunded(*, session: AsyncSession, order_id: int, now: datetime, reason: str) -> Order:
    """A paid order refunded in full before fulfilment: the units go back on sale."""
    order = await get_order(session=session, order_id=order_id, for_update=True)
    _move(session, order, "refunded", reason=reason, now=now)
    await _release(session, order, now)
    emit(session, topic="order.refunded", payload={**_order_payload(order), "refund_fen": order.payable_fen}, now=now)
    return order


async def status_history(*, session: AsyncSession, order_id: int) -> list[OrderStatusChange]:
    rows = await session.scalars(
        select(OrderStatusChange).where(OrderStatusChange.order_id == order_id).order_by(OrderStatusChange.id)
    )
    return list(rows)


async def offer_sold_units(*, session: AsyncSession, offer_id: int) -> int:
    """Units held by live orders on an offer (the invariant: equals the offer's `sold`)."""
    held = await session.scalar(
        select(func.coalesce(func.sum(Order.quantity), 0)).where(Order.offer_id == offer_id, Order.status.in_(HOLDING_STATUSES))
    )
    return int(held or 0)


async def listing_sold_units(*, session: AsyncSession, listing_id: int) -> int:
    held = await session.scalar(
        select(func.coalesce(func.sum(Order.quantity), 0)).where(
            Order.listing_id == listing_id, Order.status.in_(HOLDING_STATUSES)
        )
    )
    return int(held or 0)



ORDER_STATUSES = tuple(TRANSITIONS)


def _status_filter(status: str | None) -> str | None:
    if status is not None and status not in ORDER_STATUSES:
        raise InvalidInput("订单状态无效", code="order_status_filter_invalid")
    return status


async def list_brand_orders(
    *,
    session: AsyncSession,
    brand_id: int,
    status: str | None,
    session_id: int | None,
    params: PageParams,
    offer_id: int | None = None,
    listing_id: int | None = None,
) -> tuple[list[Order], int]:
    """The brand's orders, newest first; every filter is within the brand (another brand's ids find nothing)."""
    query = select(Order).where(Order.brand_id == brand_id).order_by(Order.id.desc())
    if _status_filter(status) is not None:
        query = query.where(Order.status == status)
    if session_id is not None:
        query = query.where(Order.session_id == session_id)
    if offer_id is not None:
        query = query.where(Order.offer_id == offer_id)
    if listing_id is not None:
        query = query.where(Order.listing_id == listing_id)
    return await fetch_page(session, query, params)


async def list_leader_orders(
    *, session: AsyncSession, leader_id: int, status: str | None, params: PageParams
) -> tuple[list[Order], int]:
    query = select(Order).where(Order.leader_id == leader_id).order_by(Order.id.desc())
    if _status_filter(status) is not None:
        query = query.where(Order.status == status)
    return await fetch_page(session, query, params)


async def list_member_orders(
    *, session: AsyncSession, user_id: int, brand_id: int, params: PageParams
) -> tuple[list[Order], int]:
    query = select(Order).where(Order.user_id == user_id, Order.brand_id == brand_id).order_by(Order.id.desc())
    return await fetch_page(session, query, params)


async def orders_by_ids(*, session: AsyncSession, order_ids: set[int]) -> dict[int, Order]:
    """Orders by id for other contexts (fulfillment's pick lists and parcel lists, after-sales' access checks)."""
    if not order_ids:
        return {}
    rows = await session.scalars(select(Order).where(Order.id.in_(order_ids)))
    return {order.id: order for order in rows}
