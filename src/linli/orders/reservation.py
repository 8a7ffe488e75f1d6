"""Taking an order's units: the offer's quota, the listing's allocation and the SKU's stock, each by a
guarded UPDATE whose WHERE is the whole rule (these statements, not any earlier read, judge a sale).

- offer: open, inside its window, `sold + q <= quota`;
- listing: active, `sold + q <= allocation`, and its session live — `end_session` closes the offers in its
  own transaction, but a listing order has no offer, so the session's status is part of this guard;
- SKU: `stock_quantity >= q`.

On PostgreSQL the three are one statement (data-modifying CTEs, each guarded on the one before, in the
lock order offer → listing → SKU that releases use too); on SQLite, which has no data-modifying CTEs and
runs one writer at a time, they are three statements. A refusal raises: the caller's transaction rolls back,
so units taken by an earlier guard of the same order are never kept. The unit price comes back from the
locked row (RETURNING), so a price changed a moment ago is the price charged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CTE, ColumnElement, bindparam, exists, null, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.catalog.models import Sku
from linli.errors import Conflict, NotFound
from linli.live.models import CommunityOffer, Listing, LiveSession

OFFERS = CommunityOffer.__table__
LISTINGS = Listing.__table__
SESSIONS = LiveSession.__table__
SKUS = Sku.__table__


class SoldOut(Conflict):
    default_code = "sold_out"
    default_message = "已售罄"


@dataclass(frozen=True)
class Reserved:
    unit_price_fen: int
    listing_left: int
    offer_left: int | None  # None for a listing order
    # PostgreSQL with `write`: the id of the order the same statement wrote from the rows it took.
    order_id: int | None = None


@dataclass(frozen=True)
class TakenRows:
    """The reservation's CTEs (each at most one row, RETURNING what it took), for writes in the same statement."""

    offer: CTE | None  # sold, quota, price_fen; None for a listing order
    listing: CTE  # sold, allocation, live_price_fen
    stock: CTE  # stock_quantity


# Builds, from the taken rows, the data-modifying CTEs that write the order and the column returning its id.
# Used on PostgreSQL only: the hot rows are then locked for one statement and the COMMIT, not for a round trip
# more per write (while the event loop serves other requests between them).
WriteBuilder = Callable[[TakenRows], tuple[list[CTE], ColumnElement[Any]]]


# The member's row lock, and a key-share lock on the session row the order will reference, in one statement.
# The host locks the session first (FOR UPDATE), then offers, then listings; an order that took its offer and
# listing first would meet that lock only at its INSERT (the foreign key's key-share check): a deadlock. Taking
# the session's key-share here, before any offer or listing, keeps the two in the host's order.
_LOCK_MEMBER_AND_SESSION = text(
    "SELECT m.id FROM members AS m, live_sessions AS s WHERE m.id = :member_id AND s.id = :session_id"
    " FOR UPDATE OF m FOR KEY SHARE OF s"
)


async def lock_member_and_session(session: AsyncSession, *, member_id: int, session_id: int) -> None:
    """PostgreSQL: one member's concurrent orders queue on the member row; the session row is held against a
    host's change from here to the commit (SQLite's write transaction already excludes every other writer)."""
    if (await session.execute(_LOCK_MEMBER_AND_SESSION, {"member_id": member_id, "session_id": session_id})).first() is None:
        raise NotFound("用户不存在", code="member_not_found")


# Every statement is built once with bound parameters (`take_…`: an UPDATE's parameters named like a column
# would become SET values): building a statement with CTEs costs more than running it.
QUANTITY = bindparam("take_quantity")


def _take_offer():  # noqa: ANN202 - an UPDATE … RETURNING
    quantity, now = QUANTITY, bindparam("take_now")
    return (
        update(OFFERS)
        .where(
            OFFERS.c.id == bindparam("take_offer_id"),
            OFFERS.c.status == "open",
            OFFERS.c.starts_at <= now,
            OFFERS.c.ends_at > now,
            OFFERS.c.sold + quantity <= OFFERS.c.quota,
        )
        .values(sold=OFFERS.c.sold + quantity)
        .returning(OFFERS.c.sold, OFFERS.c.quota, OFFERS.c.price_fen)
    )


def _take_listing():  # noqa: ANN202
    quantity = QUANTITY
    session_live = exists().where(SESSIONS.c.id == bindparam("take_session_id"), SESSIONS.c.status == "live")
    return (
        update(LISTINGS)
        .where(
            LISTINGS.c.id == bindparam("take_listing_id"),
            LISTINGS.c.status == "active",
            LISTINGS.c.sold + quantity <= LISTINGS.c.allocation,
            session_live,
        )
        .values(sold=LISTINGS.c.sold + quantity)
        .returning(LISTINGS.c.sold, LISTINGS.c.allocation, LISTINGS.c.live_price_fen)
    )


def _take_stock():  # noqa: ANN202
    return (
        update(SKUS)
        .where(SKUS.c.id == bindparam("take_sku_id"), SKUS.c.stock_quantity >= QUANTITY)
        .values(stock_quantity=SKUS.c.stock_quantity - QUANTITY)
        .returning(SKUS.c.stock_quantity)
    )


def _session_status():  # noqa: ANN202
    return select(SESSIONS.c.status).where(SESSIONS.c.id == bindparam("take_session_id"))


@dataclass(frozen=True)
class _Taken:
    offer: tuple[int, int, int] | None  # sold, quota, price
    listing: tuple[int, int, int] | None  # sold, allocation, live price
    stock_left: int | None
    session_status: str | None
    order_id: int | None = None


def _one_statement(*, with_offer: bool, write: WriteBuilder | None = None):  # noqa: ANN202 - a SELECT over data-modifying CTEs
    listing_update = _take_listing()
    offer_cte = None
    if with_offer:
        offer_cte = _take_offer().cte("taken_offer")
        listing_update = listing_update.where(exists(select(offer_cte.c.sold)))
    listing_cte = listing_update.cte("taken_listing")
    stock_cte = _take_stock().where(exists(select(listing_cte.c.sold))).cte("taken_stock")
    columns = [
        select(listing_cte.c.sold).scalar_subquery(),
        select(listing_cte.c.allocation).scalar_subquery(),
        select(listing_cte.c.live_price_fen).scalar_subquery(),
        select(stock_cte.c.stock_quantity).scalar_subquery(),
        _session_status().scalar_subquery(),
    ]
    ctes = [listing_cte, stock_cte]
    if write is None:
        columns.append(null())
    else:
        written, order_id = write(TakenRows(offer=offer_cte, listing=listing_cte, stock=stock_cte))
        ctes += written
        columns.append(order_id)
    if offer_cte is not None:
        ctes.insert(0, offer_cte)
        columns += [
            select(offer_cte.c.sold).scalar_subquery(),
            select(offer_cte.c.quota).scalar_subquery(),
            select(offer_cte.c.price_fen).scalar_subquery(),
        ]
    return select(*columns).add_cte(*ctes)


_ONE_STATEMENT: dict[tuple[bool, WriteBuilder | None], Any] = {}
_TAKE_OFFER, _TAKE_LISTING, _TAKE_STOCK, _SESSION_STATUS = _take_offer(), _take_listing(), _take_stock(), _session_status()


async def _take_in_one_statement(session: AsyncSession, params: dict, write: WriteBuilder | None) -> _Taken:
    kind = (params["take_offer_id"] is not None, write)
    statement = _ONE_STATEMENT.get(kind)
    if statement is None:  # built once per kind and writer
        statement = _ONE_STATEMENT[kind] = _one_statement(with_offer=kind[0], write=write)
    row = (await session.execute(statement, params)).one()
    offer = None
    if params["take_offer_id"] is not None and row[6] is not None:
        offer = (row[6], row[7], row[8])
    listing = (row[0], row[1], row[2]) if row[0] is not None else None
    return _Taken(offer=offer, listing=listing, stock_left=row[3], session_status=row[4], order_id=row[5])


async def _take_one_by_one(session: AsyncSession, params: dict) -> _Taken:
    offer = None
    if params["take_offer_id"] is not None:
        offer = (await session.execute(_TAKE_OFFER, params)).one_or_none()
        if offer is None:
            return _Taken(offer=None, listing=None, stock_left=None, session_status=None)
    listing = (await session.execute(_TAKE_LISTING, params)).one_or_none()
    if listing is None:
        status = await session.scalar(_SESSION_STATUS, params)
        return _Taken(offer=tuple(offer) if offer else None, listing=None, stock_left=None, session_status=status)
    stock_left = await session.scalar(_TAKE_STOCK, params)
    return _Taken(
        offer=tuple(offer) if offer else None, listing=tuple(listing), stock_left=stock_left, session_status="live"
    )


async def reserve(
    *, session: AsyncSession, offer_id: int | None, listing_id: int, session_id: int, sku_id: int, quantity: int,
    now: datetime, write: WriteBuilder | None = None, write_params: dict[str, Any] | None = None,
) -> Reserved:
    """Takes the units or raises (SoldOut, or session_not_live when the session ended meanwhile).

    On PostgreSQL, `write` (with its `write_params`) writes the order from the taken rows in the same statement
    and `order_id` comes back; on SQLite (three statements) it is not used and the caller writes the order."""
    params = {
        "take_offer_id": offer_id, "take_listing_id": listing_id, "take_session_id": session_id, "take_sku_id": sku_id, "take_quantity": quantity,
        "take_now": now,
    }
    if session.get_bind().dialect.name == "postgresql":
        taken = await _take_in_one_statement(session, {**params, **(write_params or {})}, write)
    else:
        taken = await _take_one_by_one(session, params)
    if offer_id is not None and taken.offer is None:
        raise SoldOut("专享名额已抢完", code="offer_sold_out")
    if taken.listing is None:
        if taken.session_status != "live":
            raise Conflict("直播未在进行中，暂不能下单", code="session_not_live")
        raise SoldOut("直播库存已售罄", code="listing_sold_out")
    if taken.stock_left is None:
        raise SoldOut("商品库存不足", code="out_of_stock")
    listing_sold, allocation, live_price = taken.listing
    if taken.offer is not None:
        offer_sold, quota, offer_price = taken.offer
        return Reserved(
            unit_price_fen=offer_price, listing_left=allocation - listing_sold, offer_left=quota - offer_sold,
            order_id=taken.order_id,
        )
    return Reserved(unit_price_fen=live_price, listing_left=allocation - listing_sold, offer_left=None, order_id=taken.order_id)
