"""What an order is placed against, read the lean way: one fresh statement and a per-process cache.

Two kinds of facts, kept apart on purpose:

- **Fresh, every attempt, in one statement** (`read_target`): everything that may change while a session
  runs or that decides who may buy — the offer's leader, status, window, sold, quota and limit; the
  listing's status and limit; the session's status; the caller's member row, binding and an order already
  made with this idempotency key; the caller's display name. The refusals before any lock are decided
  from this read (an ineligible member hears "not for you" before "sold out" because both come from the
  same row), and a sold-out offer is refused by it alone: no lock, no other statement.
- **Cached per process** (`SaleCache`): what an order records and that does not change during a session —
  the SKU's name, its product's id and name, and the community, community name and pickup point an order
  goes to. Never a status, a price, a limit, `sold` or a quota: the guarded UPDATEs of
  `orders.reservation` stay the only judge of a sale and the unit price comes from the row they lock.

A cache entry lives `ttl` seconds (2 s) and is dropped as soon as `linli.outbox.signals` reports a commit
on its session's room stream with any topic other than the ones every order writes (stock, ticker,
comments); a signal with no topics drops it too. A lost signal costs at most `ttl` of an old product or
community name on a new order.

Also here, the reads and checks around them: the refusals decided before any lock, the one read under the
member lock (`after_lock`) and the per-member limit.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from linli.accounts.models import User
from linli.attribution.models import Binding
from linli.attribution.service import is_active
from linli.brands import service as brands
from linli.catalog import service as catalog
from linli.db import Database, DriverStatement
from linli.errors import Conflict, Forbidden, NotFound
from linli.leaders import service as leaders
from linli.live.models import CommunityOffer, Listing, LiveSession
from linli.live.service import room_stream
from linli.members.models import Member
from linli.orders.models import Order
from linli.orders.reservation import SoldOut
from linli.outbox import signals

# Statuses whose units still count against quota, stock and per-member limits.
HOLDING_STATUSES = ("pending_payment", "paid")
DEFAULT_TTL_SECONDS = 2.0
# Topics every order (or comment) writes on the room stream: they change no cached fact, and dropping the
# cache on each of them would empty it all through a rush.
TOPICS_THAT_KEEP_THE_CACHE = frozenset({"live.stock", "live.order_ticker", "live.comment"})
ROOM_STREAM_PREFIX = room_stream(0).removesuffix("0")


@dataclass(frozen=True)
class SkuFacts:
    sku_name: str
    product_id: int
    product_name: str


@dataclass(frozen=True)
class PickupFacts:
    community_id: int
    community_name: str
    pickup_point_id: int


class SaleCache:
    """Entries with a time to live, grouped by live session so that one room event drops them together."""

    def __init__(self, *, ttl_seconds: float = DEFAULT_TTL_SECONDS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.monotonic = monotonic
        self._entries: dict[Hashable, tuple[float, object]] = {}
        self._by_session: dict[int, set[Hashable]] = {}

    def get(self, key: Hashable) -> object | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self.monotonic():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, key: Hashable, value: object, *, session_id: int) -> None:
        self._entries[key] = (self.monotonic() + self.ttl_seconds, value)
        self._by_session.setdefault(session_id, set()).add(key)

    def drop_session(self, session_id: int) -> None:
        for key in self._by_session.pop(session_id, set()):
            self._entries.pop(key, None)

    def on_committed(self, stream: str, topics: frozenset[str]) -> None:
        """The `linli.outbox.signals` listener: a room event other than stock, ticker or comment drops the room's facts."""
        if not stream.startswith(ROOM_STREAM_PREFIX) or (topics and topics <= TOPICS_THAT_KEEP_THE_CACHE):
            return
        suffix = stream.removeprefix(ROOM_STREAM_PREFIX)
        if suffix.isdigit():
            self.drop_session(int(suffix))

    def __len__(self) -> int:
        return len(self._entries)


# One cache per database engine: ids only mean something within one database (the tests make a new one each).
_caches: weakref.WeakKeyDictionary[Engine, SaleCache] = weakref.WeakKeyDictionary()


def _tell_every_cache(stream: str, topics: frozenset[str]) -> None:
    for cache in list(_caches.values()):
        cache.on_committed(stream, topics)


signals.subscribe(_tell_every_cache)


def cache_for(session: AsyncSession) -> SaleCache:
    bind = session.get_bind()
    return _cache_of(bind if isinstance(bind, Engine) else bind.engine)


def cache_for_engine(engine: AsyncEngine) -> SaleCache:
    return _cache_of(engine.sync_engine)


def _cache_of(engine: Engine) -> SaleCache:
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = SaleCache()
    return cache


# The fresh read's facts are plain rows (Core columns, no ORM entities): loading entities for the identity map
# cost more than the statement itself on every attempt, and nothing here is changed through them.
@dataclass(frozen=True)
class OfferFacts:
    id: int
    leader_id: int
    status: str
    starts_at: datetime
    ends_at: datetime
    sold: int
    quota: int
    per_member_limit: int | None


@dataclass(frozen=True)
class ListingFacts:
    id: int
    brand_id: int
    session_id: int
    sku_id: int
    status: str
    per_member_limit: int | None


@dataclass(frozen=True)
class BindingFacts:
    """What `attribution.is_active` reads of a binding."""

    leader_id: int
    status: str
    expires_at: datetime | None


@dataclass(frozen=True)
class ReplayFacts:
    """The order this idempotency key already made: enough to tell a replay from a reused key."""

    order_id: int
    request_fingerprint: str


@dataclass(frozen=True)
class Target:
    """The fresh read: the offer (None for a listing order), its listing and session, and the caller."""

    offer: OfferFacts | None
    listing: ListingFacts
    session_status: str
    member_id: int | None
    binding: BindingFacts | None
    replay: ReplayFacts | None
    display_name: str | None


# Table columns (Core), not ORM attributes: on a bare connection the statement runs without the ORM's
# execution and result machinery.
_OFFERS, _LISTINGS, _SESSIONS = CommunityOffer.__table__.c, Listing.__table__.c, LiveSession.__table__.c
_MEMBERS, _BINDINGS, _ORDERS, _USERS = Member.__table__.c, Binding.__table__.c, Order.__table__.c, User.__table__.c
_OFFER_COLUMNS = (
    _OFFERS.id, _OFFERS.leader_id, _OFFERS.status, _OFFERS.starts_at, _OFFERS.ends_at, _OFFERS.sold, _OFFERS.quota,
    _OFFERS.per_member_limit,
)
_LISTING_COLUMNS = (
    _LISTINGS.id, _LISTINGS.brand_id, _LISTINGS.session_id, _LISTINGS.sku_id, _LISTINGS.status, _LISTINGS.per_member_limit,
)


def _target_query(*, by_offer: bool):  # noqa: ANN202 - a SELECT
    """The fresh read, with bound parameters: built once per kind, since building it costs more than running it."""
    user_id = bindparam("user_id")
    # The binding through a derived table (PostgreSQL flattens it): the statement reads it as one unit.
    binding = select(_BINDINGS.member_id, _BINDINGS.leader_id, _BINDINGS.status, _BINDINGS.expires_at).subquery("binding")
    columns = (
        *_LISTING_COLUMNS, _SESSIONS.status, _MEMBERS.id, binding.c.leader_id, binding.c.status, binding.c.expires_at,
        _ORDERS.id, _ORDERS.request_fingerprint, _USERS.display_name,
    )
    listings, sessions = Listing.__table__, LiveSession.__table__
    if by_offer:
        query = (
            select(*_OFFER_COLUMNS, *columns)
            .select_from(CommunityOffer.__table__)
            .join(listings, _LISTINGS.id == _OFFERS.listing_id)
            .where(_OFFERS.id == bindparam("target_id"))
        )
    else:
        query = select(*columns).select_from(listings).where(_LISTINGS.id == bindparam("target_id"))
    return (
        query.join(sessions, _SESSIONS.id == _LISTINGS.session_id)
        .outerjoin(Member.__table__, (_MEMBERS.brand_id == _LISTINGS.brand_id) & (_MEMBERS.user_id == user_id))
        .outerjoin(binding, binding.c.member_id == _MEMBERS.id)
        .outerjoin(Order.__table__, (_ORDERS.member_id == _MEMBERS.id) & (_ORDERS.idempotency_key == bindparam("key")))
        .outerjoin(User.__table__, _USERS.id == user_id)
    )


_TARGET_QUERIES = {True: _target_query(by_offer=True), False: _target_query(by_offer=False)}
_TARGET_ON_DRIVER = {by_offer: DriverStatement(query) for by_offer, query in _TARGET_QUERIES.items()}


async def read_target(
    *, session: AsyncSession | AsyncConnection, offer_id: int | None, listing_id: int | None, user_id: int,
    idempotency_key: str,
) -> Target:
    """One statement: the target's rows joined with the caller's member, binding and replayed order (on a
    transaction's session, or on a bare connection before any)."""
    query = _TARGET_QUERIES[offer_id is not None]
    params = {"target_id": offer_id if offer_id is not None else listing_id, "user_id": user_id, "key": idempotency_key}
    return _target_of((await session.execute(query, params)).one_or_none(), offer_id=offer_id)


async def read_target_on_driver(
    *, db: Database, offer_id: int | None, listing_id: int | None, user_id: int, idempotency_key: str
) -> Target:
    """`read_target` before any transaction on PostgreSQL, on the driver itself (`Database.driver_lookup`)."""
    params = {"target_id": offer_id if offer_id is not None else listing_id, "user_id": user_id, "key": idempotency_key}
    async with db.driver_lookup() as connection:
        row = await connection.fetchrow(_TARGET_ON_DRIVER[offer_id is not None], params)
    return _target_of(tuple(row) if row is not None else None, offer_id=offer_id)


def _target_of(row: Any, *, offer_id: int | None) -> Target:  # noqa: ANN401 - a Row or a driver's record
    if row is None:
        if offer_id is not None:
            raise NotFound("社区专享价不存在", code="offer_not_found")
        raise NotFound("直播商品不存在", code="listing_not_found")
    offer = None
    if offer_id is not None:
        offer, row = OfferFacts(*row[:len(_OFFER_COLUMNS)]), row[len(_OFFER_COLUMNS):]
    listing = ListingFacts(*row[:len(_LISTING_COLUMNS)])
    session_status, member_id, bound_leader, bound_status, bound_until, replay_id, replay_fingerprint, display_name = (
        row[len(_LISTING_COLUMNS):]
    )
    return Target(
        offer=offer, listing=listing, session_status=session_status, member_id=member_id,
        binding=BindingFacts(bound_leader, bound_status, bound_until) if bound_leader is not None else None,
        replay=ReplayFacts(replay_id, replay_fingerprint) if replay_id is not None else None, display_name=display_name,
    )


async def sku_facts(*, session: AsyncSession, listing: ListingFacts) -> SkuFacts:
    cache = cache_for(session)
    key = ("sku", listing.brand_id, listing.sku_id)
    facts = cache.get(key)
    if isinstance(facts, SkuFacts):
        return facts
    sku = await catalog.get_sku(session=session, brand_id=listing.brand_id, sku_id=listing.sku_id)
    product = await catalog.get_product(session=session, brand_id=listing.brand_id, product_id=sku.product_id)
    facts = SkuFacts(sku_name=sku.name, product_id=product.id, product_name=product.name)
    cache.put(key, facts, session_id=listing.session_id)
    return facts


async def pickup_facts(
    *, session: AsyncSession, listing: ListingFacts, leader_id: int | None, pickup_community_id: int | None
) -> PickupFacts | None:
    """Where the goods go: a bound member's to their leader's pickup point, else to the community chosen.

    None when neither is known (the caller refuses: a pickup point is required)."""
    if leader_id is not None:
        key: tuple = ("leader", listing.brand_id, leader_id)
    elif pickup_community_id is not None:
        key = ("community", listing.brand_id, pickup_community_id)
    else:
        return None
    cache = cache_for(session)
    facts = cache.get(key)
    if isinstance(facts, PickupFacts):
        return facts
    if leader_id is not None:
        community_id = (await leaders.get_leader(session=session, brand_id=listing.brand_id, leader_id=leader_id)).community_id
    else:
        assert pickup_community_id is not None
        community_id = pickup_community_id
    community = await brands.get_community(session=session, brand_id=listing.brand_id, community_id=community_id)
    point = await brands.get_pickup_point(session=session, community_id=community.id)
    facts = PickupFacts(community_id=community.id, community_name=community.name, pickup_point_id=point.id)
    cache.put(key, facts, session_id=listing.session_id)
    return facts


def binding_leader(target: Target, now: datetime) -> int | None:
    """The leader an order is attributed to: the member's binding if it is in force now."""
    return target.binding.leader_id if is_active(target.binding, now) else None


def _held_by(column):  # noqa: ANN001, ANN202 - a scalar subquery
    return (
        select(func.coalesce(func.sum(Order.quantity), 0))
        .where(Order.member_id == bindparam("member_id"), column == bindparam(column.key), Order.status.in_(HOLDING_STATUSES))
        .scalar_subquery()
    )


def _after_lock_query(*, with_offer: bool):  # noqa: ANN202 - built once, like the fresh read
    replay = (
        select(Order.id)
        .where(Order.member_id == bindparam("member_id"), Order.idempotency_key == bindparam("key"))
        .scalar_subquery()
    )
    return select(replay, _held_by(Order.offer_id) if with_offer else literal(0), _held_by(Order.listing_id))


_AFTER_LOCK_QUERIES = {True: _after_lock_query(with_offer=True), False: _after_lock_query(with_offer=False)}


async def after_lock(
    session: AsyncSession, *, member_id: int, key: str, offer_id: int | None, listing_id: int
) -> tuple[int | None, int, int]:
    """One read under the member lock: (the order this key made, units held on the offer, on the listing)."""
    params = {"member_id": member_id, "key": key, "offer_id": offer_id, "listing_id": listing_id}
    row = (await session.execute(_AFTER_LOCK_QUERIES[offer_id is not None], params)).one()
    return row[0], int(row[1] or 0), int(row[2] or 0)


def check_limit(*, limit: int | None, held: int, quantity: int) -> None:
    if limit is not None and held + quantity > limit:
        raise Conflict(
            f"每人限购 {limit} 件，您已购 {held} 件", code="per_member_limit", details={"limit": limit, "held": held}
        )


def refuse_before_any_lock(target: Target, *, leader_id: int | None, quantity: int, now: datetime) -> None:
    """Cheap refusals from the fresh read. Who may buy is decided before what is left: an ineligible member
    hears "not for you", never "sold out". The guarded updates stay the real check."""
    if target.session_status != "live":
        raise Conflict("直播未在进行中，暂不能下单", code="session_not_live")
    offer = target.offer
    if offer is not None:
        if leader_id != offer.leader_id:
            raise Forbidden("该专享价仅限本小区团长邀请的邻居购买", code="offer_not_eligible")
        if offer.status != "open":
            raise Conflict("专享价未开放", code="offer_not_open")
        if not offer.starts_at <= now < offer.ends_at:
            raise Conflict("不在专享价活动时间内", code="offer_outside_window")
        if offer.sold + quantity > offer.quota:
            raise SoldOut("专享名额已抢完", code="offer_sold_out")
    elif target.listing.status != "active":
        raise Conflict("该商品已下架", code="listing_withdrawn")
