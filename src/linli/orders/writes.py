"""Writing a placed order: the order row, its first status change and its events, together.

On PostgreSQL one statement writes all of them (data-modifying CTEs) with the id the reservation drew from
the orders sequence (`orders.reservation`), so the writes cost one round trip and no ORM flush; the Order
returned is attached to the session as the persistent row it is, so the caller (and anything later in the
same transaction) uses it like a loaded one. SQLite has no data-modifying CTEs: the ORM writes the rows there.
Either way the rows, the outbox events and the commit hook's marks are the same (`outbox.emitted_row` marks
a streamed event as `outbox.emit` does).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from linli.orders.models import Order, OrderStatusChange
from linli.outbox.models import OutboxEvent
from linli.outbox.service import emit, emitted_row

ORDERS = Order.__table__
CHANGES = OrderStatusChange.__table__
OUTBOX = OutboxEvent.__table__
EVENT_COLUMNS = ("topic", "stream", "payload", "created_at", "available_at", "attempts")
# One event: (topic, stream or None, payload).
Event = tuple[str, str | None, dict[str, Any]]


def _statement(events: int):  # noqa: ANN202 - an INSERT with two data-modifying CTEs, built once per event count
    # Parameter names never equal a column's: an INSERT's parameters named like a column would become VALUES.
    placed = insert(ORDERS).values({c.key: bindparam(f"o_{c.key}", type_=c.type) for c in ORDERS.c}).cte("placed")
    changed = (
        insert(CHANGES)
        .values(order_id=bindparam("o_id"), from_status=None, to_status="pending_payment", reason=None,
                changed_at=bindparam("c_changed_at"))
        .cte("changed")
    )
    rows = [{k: bindparam(f"e{i}_{k}", type_=OUTBOX.c[k].type) for k in EVENT_COLUMNS} for i in range(events)]
    return insert(OUTBOX).values(rows).add_cte(placed, changed)


_STATEMENTS: dict[int, Any] = {}


def _order_columns(order: Order) -> dict[str, Any]:
    return {c.key: getattr(order, c.key) for c in ORDERS.c}


async def write_placed_order(
    session: AsyncSession, *, order: Order, events_of: Callable[[Order], list[Event]], now: datetime
) -> Order:
    """Writes `order` (pending payment; its id already drawn on PostgreSQL, None on SQLite), its status change
    and the events `events_of(order)` lists once the order has its id; returns the order, persistent."""
    if order.id is None:  # SQLite: the ORM's inserts, the order flushed first for the id its events carry
        session.add(order)
        await session.flush()
        session.add(OrderStatusChange(order_id=order.id, from_status=None, to_status="pending_payment", reason=None, changed_at=now))
        for topic, stream, payload in events_of(order):
            emit(session, topic=topic, payload=payload, now=now, stream=stream)
        return order
    params = {f"o_{key}": value for key, value in _order_columns(order).items()}
    params["c_changed_at"] = now
    events = events_of(order)
    for index, (topic, stream, payload) in enumerate(events):
        row = emitted_row(session, topic=topic, payload=payload, now=now, stream=stream)
        params.update({f"e{index}_{key}": value for key, value in row.items()})
    statement = _STATEMENTS.get(len(events))
    if statement is None:
        statement = _STATEMENTS[len(events)] = _statement(len(events))
    await session.execute(statement, params)
    make_transient_to_detached(order)  # every column is set: nothing is left to load later
    session.add(order)
    return order
