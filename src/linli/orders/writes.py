"""Writing a placed order: the order row, its first status change and its three events, together.

On PostgreSQL they are written by the reservation's own statement (`orders.reservation`, `write=`): data-
modifying CTEs insert the order from the rows the guarded updates took (its unit price from the locked row),
its status change and its outbox events, whose payloads take the order's id and the units left from the same
rows. The hot offer and listing rows are then held for that one statement and the COMMIT, never for a round
trip more per write. The Order handed back is attached to the session as the persistent row it is.
SQLite has no data-modifying CTEs: the ORM writes the rows there, after the reservation.
Either way the rows and the outbox events are the same, and the room's stream is marked for the commit hook
as `outbox.emit` marks it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CTE, JSON, ColumnElement, Integer, String, bindparam, cast, func, insert, literal, null, select, true
from sqlalchemy import union_all
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from linli.orders.models import Order, OrderStatusChange
from linli.orders.reservation import TakenRows
from linli.outbox.models import OutboxEvent
from linli.outbox.service import announce, emit

ORDERS = Order.__table__
CHANGES = OrderStatusChange.__table__
OUTBOX = OutboxEvent.__table__
EVENT_COLUMNS = ["topic", "stream", "payload", "created_at", "available_at", "attempts"]
# Columns of the order row a placement sets from its parameters (`o_<column>`); the id comes from the sequence
# and the price, total and payable from the row the reservation locked (an order with a coupon is not written
# here: its discount waits for that price, so `orders.place_order` writes it with the ORM).
_FROM_ROW = {"id", "unit_price_fen", "total_fen", "payable_fen"}
ORDER_PARAMS = [c for c in ORDERS.c if c.key not in _FROM_ROW]


def _json(name: str) -> ColumnElement[Any]:
    return cast(bindparam(name, type_=JSON), JSONB)


def _event(topic: str, stream: ColumnElement[Any], payload: ColumnElement[Any], source: Any) -> Any:  # noqa: ANN401
    now = bindparam("o_placed_at", type_=OUTBOX.c.created_at.type)
    return select(
        literal(topic, String), stream, cast(payload, JSON), now, now, literal(0, Integer)
    ).select_from(source)


def placed_order_ctes(taken: TakenRows) -> tuple[list[CTE], ColumnElement[Any]]:
    """The reservation's `write` on PostgreSQL: the order, its status change and its events, from the taken rows.

    Parameters: `o_<column>` for the order's own columns, `e_placed` and `e_stock` (the events' payloads
    without what the rows decide) and `e_ticker`, `e_room` (the room's stream)."""
    price = taken.offer.c.price_fen if taken.offer is not None else taken.listing.c.live_price_fen
    quantity = bindparam("o_quantity", type_=ORDERS.c.quantity.type)
    rows = taken.stock.join(taken.listing, true())
    if taken.offer is not None:
        rows = rows.join(taken.offer, true())
    values = [bindparam(f"o_{c.key}", type_=c.type) for c in ORDER_PARAMS]
    placed = (
        insert(ORDERS)
        .from_select([c.key for c in ORDER_PARAMS] + ["unit_price_fen", "total_fen", "payable_fen"],
                     select(*values, price, price * quantity, price * quantity).select_from(rows))
        .returning(ORDERS.c.id, ORDERS.c.total_fen, ORDERS.c.payable_fen)
        .cte("placed")
    )
    changed = (
        insert(CHANGES)
        .from_select(
            ["order_id", "from_status", "to_status", "reason", "changed_at"],
            select(placed.c.id, cast(null(), String), literal("pending_payment", String), cast(null(), String),
                   bindparam("o_placed_at", type_=CHANGES.c.changed_at.type)),
        )
        .cte("changed")
    )
    left = {"listing_remaining": taken.listing.c.allocation - taken.listing.c.sold}
    if taken.offer is not None:
        left["offer_remaining"] = taken.offer.c.quota - taken.offer.c.sold
    room = bindparam("e_room", type_=String)
    after_placed = placed.join(taken.listing, true())
    if taken.offer is not None:
        after_placed = after_placed.join(taken.offer, true())
    stock_left = func.jsonb_build_object(*[part for key, column in left.items() for part in (literal(key, String), column)])
    placed_fields = func.jsonb_build_object(
        literal("order_id", String), placed.c.id, literal("total_fen", String), placed.c.total_fen,
        literal("payable_fen", String), placed.c.payable_fen,
    )
    events = (
        insert(OUTBOX)
        .from_select(
            EVENT_COLUMNS,
            union_all(
                _event("order.placed", cast(null(), String), _json("e_placed").op("||")(placed_fields), placed),
                _event("live.stock", room, _json("e_stock").op("||")(stock_left), after_placed),
                _event("live.order_ticker", room, _json("e_ticker"), placed),
            ),
        )
        .cte("events")
    )
    return [placed, changed, events], select(placed.c.id).scalar_subquery()


def write_params(*, order: Order, placed_payload: dict, stock_payload: dict, ticker: dict, room: str) -> dict[str, Any]:
    """The parameters of `placed_order_ctes` for `order` (its price, total, payable and id not yet known)."""
    params = {f"o_{c.key}": getattr(order, c.key) for c in ORDER_PARAMS}
    params.update({"e_placed": placed_payload, "e_stock": stock_payload, "e_ticker": ticker, "e_room": room})
    return params


def attach_written(session: AsyncSession, *, order: Order, order_id: int, unit_price_fen: int, room: str) -> Order:
    """The order the reservation's statement wrote, as the session's persistent row (every column is set)."""
    order.id, order.unit_price_fen = order_id, unit_price_fen
    order.total_fen = order.payable_fen = unit_price_fen * order.quantity
    make_transient_to_detached(order)
    session.add(order)
    for topic in ("live.stock", "live.order_ticker"):
        announce(session, stream=room, topic=topic)
    return order


async def write_with_the_orm(session: AsyncSession, *, order: Order, events_of: Any, now: datetime) -> Order:  # noqa: ANN401
    """SQLite: the order (flushed for the id its events carry), its status change and `events_of(order)`,
    each (topic, stream or None, payload)."""
    session.add(order)
    await session.flush()
    session.add(OrderStatusChange(order_id=order.id, from_status=None, to_status="pending_payment", reason=None, changed_at=now))
    for topic, stream, payload in events_of(order):
        emit(session, topic=topic, payload=payload, now=now, stream=stream)
    return order
