"""Live sessions, their run-of-show, listings, community offers, comments and the invite funnel.

Every state change of a session, listing or offer writes an outbox event on the room's stream
(`room_stream(session_id)`) in the same transaction, so the SSE room (`live.room`) and any worker see
exactly the changes that committed. The `sold` columns of listings and offers are written only by
`live.reservations` (used by orders); this module never touches them.

Locking: a transition locks the session row first, then the offer or listing rows it changes, always
in that order, so that an offer cannot be opened while its session is being ended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.attribution import service as attribution
from linli.brands import service as brands
from linli.catalog import service as catalog
from linli.catalog.models import Product, Sku
from linli.db import insert_unique
from linli.errors import Conflict, DomainError, InvalidInput, NotFound, RateLimited
from linli.leaders import invite_codes
from linli.leaders import service as leaders
from linli.leaders.models import Leader
from linli.live.models import CommunityOffer, Listing, LiveSession, RoomComment, RoomVisit
from linli.members import service as members
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page
from linli.security import mask_name

SESSION_STATUSES = ("scheduled", "live", "ended", "cancelled")
TERMINAL_STATUSES = ("ended", "cancelled")
STATUS_TEXT = {"scheduled": "未开播", "live": "直播中", "ended": "已结束", "cancelled": "已取消"}
OFFER_STATUS_TEXT = {"draft": "草稿", "open": "进行中", "closed": "已关闭"}

# The article's three-part run-of-show (every brand may change it per session).
DEFAULT_PHASES: list[dict[str, Any]] = [
    {"code": "brand_story", "title": "品牌故事：源头直击，建立信任", "minutes": 20},
    {"code": "group_buy", "title": "社区专享团购", "minutes": 25},
    {"code": "add_leader", "title": "添加你的社区主理人", "minutes": 5},
]
PHASE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_PHASES = 10
MAX_PHASE_MINUTES = 600
MAX_ALLOCATION = 100_000
MAX_LIMIT_PER_MEMBER = 99  # the most one order may hold (orders.service.MAX_QUANTITY)
MAX_OFFER_WINDOW = timedelta(days=31)
SCHEDULE_PAST = timedelta(days=1)
SCHEDULE_AHEAD = timedelta(days=366)

COMMENT_MAX_LENGTH = 100
COMMENT_MIN_INTERVAL = timedelta(seconds=3)
COMMENT_WINDOW = timedelta(minutes=1)
COMMENTS_PER_WINDOW = 10


def room_stream(session_id: int) -> str:
    """The outbox stream a live room's events are written to and tailed from."""
    return f"live_session:{session_id}"


def _emit(session: AsyncSession, *, session_id: int, topic: str, payload: dict[str, Any], now: datetime) -> None:
    emit(session, topic=topic, stream=room_stream(session_id), payload=to_jsonable_python(payload), now=now)


def _status_conflict(live: LiveSession, action: str) -> Conflict:
    return Conflict(
        f"直播{STATUS_TEXT.get(live.status, live.status)}，不能{action}",
        code="session_status_invalid",
        details={"status": live.status},
    )


# ---------------------------------------------------------------------------------------------
# Cards: the one shape of a session, listing and offer shared by the API, the SSE room and events


def current_phase_card(live: LiveSession) -> dict[str, Any] | None:
    if live.current_phase is None or not 0 <= live.current_phase < len(live.phases):
        return None
    phase = live.phases[live.current_phase]
    return {
        "index": live.current_phase,
        "code": phase["code"],
        "title": phase["title"],
        "minutes": phase["minutes"],
        "started_at": live.phase_started_at,
    }


def session_card(live: LiveSession) -> dict[str, Any]:
    return {
        "id": live.id,
        "brand_id": live.brand_id,
        "title": live.title,
        "status": live.status,
        "stream_url": live.stream_url,
        "cover_url": live.cover_url,
        "scheduled_start_at": live.scheduled_start_at,
        "started_at": live.started_at,
        "ended_at": live.ended_at,
        "phases": [dict(p) for p in live.phases],
        "current_phase": current_phase_card(live),
    }


@dataclass(frozen=True)
class ListingView:
    listing: Listing
    sku: Sku
    product: Product

    def card(self) -> dict[str, Any]:
        listing = self.listing
        return {
            "id": listing.id,
            "session_id": listing.session_id,
            "sku_id": self.sku.id,
            "product_id": self.product.id,
            "product_name": self.product.name,
            "sku_name": self.sku.name,
            "image": self.product.images[0] if self.product.images else None,
            "live_price_fen": listing.live_price_fen,
            "list_price_fen": self.sku.list_price_fen,
            "allocation": listing.allocation,
            "sold": listing.sold,
            "remaining": listing.allocation - listing.sold,
            "per_member_limit": listing.per_member_limit,
            "status": listing.status,
        }


@dataclass(frozen=True)
class OfferView:
    offer: CommunityOffer
    listing: ListingView
    community_name: str
    leader_name: str
    leader_badge: str
    eligible: bool | None = None  # for the caller: None when anonymous

    def card(self) -> dict[str, Any]:
        offer = self.offer
        return {
            "id": offer.id,
            "session_id": offer.session_id,
            "listing_id": offer.listing_id,
            "product_name": self.listing.product.name,
            "sku_name": self.listing.sku.name,
            "image": self.listing.product.images[0] if self.listing.product.images else None,
            "title": offer.title,
            "price_fen": offer.price_fen,
            "live_price_fen": self.listing.listing.live_price_fen,
            "quota": offer.quota,
            "sold": offer.sold,
            "remaining": offer.quota - offer.sold,
            "per_member_limit": offer.per_member_limit,
            "starts_at": offer.starts_at,
            "ends_at": offer.ends_at,
            "status": offer.status,
            "community_id": offer.community_id,
            "community_name": self.community_name,
            "leader_id": offer.leader_id,
            "leader_name": self.leader_name,
            "leader_badge": self.leader_badge,
        }


@dataclass(frozen=True)
class RoomState:
    live: LiveSession
    listings: list[ListingView]
    offers: list[OfferView]


async def describe_listings(*, session: AsyncSession, listings: list[Listing]) -> list[ListingView]:
    skus = await catalog.skus_by_ids(session=session, sku_ids={x.sku_id for x in listings})
    products = await catalog.products_by_ids(session=session, product_ids={s.product_id for s in skus.values()})
    return [ListingView(listing=x, sku=skus[x.sku_id], product=products[skus[x.sku_id].product_id]) for x in listings]


async def _leader_faces(session: AsyncSession, leader_rows: dict[int, Leader]) -> dict[int, str]:
    """The name a leader shows in the room: their nickname, else their masked real name."""
    member_rows = await members.members_by_ids(session=session, member_ids={x.member_id for x in leader_rows.values()})
    users = await accounts.users_by_ids(session=session, user_ids={m.user_id for m in member_rows.values()})
    faces = {}
    for leader in leader_rows.values():
        member = member_rows.get(leader.member_id)
        user = users.get(member.user_id) if member else None
        faces[leader.id] = user.display_name if user and user.display_name else mask_name(leader.real_name)
    return faces


async def describe_offers(
    *, session: AsyncSession, offers: list[CommunityOffer], listing_views: dict[int, ListingView] | None = None,
    eligible_leader_id: int | None = None, caller_known: bool = False,
) -> list[OfferView]:
    """Offers with their product, community and leader; `eligible` set when the caller is known."""
    if not offers:
        return []
    views = dict(listing_views or {})
    missing = [x.listing_id for x in offers if x.listing_id not in views]
    if missing:
        rows = (await session.scalars(select(Listing).where(Listing.id.in_(set(missing))))).all()
        views.update({v.listing.id: v for v in await describe_listings(session=session, listings=list(rows))})
    communities = await brands.communities_by_ids(session=session, community_ids={x.community_id for x in offers})
    leader_rows = await leaders.leaders_by_ids(session=session, leader_ids={x.leader_id for x in offers})
    faces = await _leader_faces(session, leader_rows)
    brand = await brands.get_brand(session=session, brand_id=offers[0].brand_id)
    result = []
    for offer in offers:
        community_name = communities[offer.community_id].name
        result.append(
            OfferView(
                offer=offer,
                listing=views[offer.listing_id],
                community_name=community_name,
                leader_name=faces.get(offer.leader_id, ""),
                leader_badge=leaders.badge_text(community_name=community_name, brand_name=brand.name),
                eligible=(eligible_leader_id == offer.leader_id) if caller_known else None,
            )
        )
    return result


# ---------------------------------------------------------------------------------------------
# Sessions


@dataclass(frozen=True)
class PhaseInput:
    code: str
    title: str
    minutes: int


@dataclass(frozen=True)
class SessionInput:
    title: str
    scheduled_start_at: datetime
    stream_url: str = ""
    cover_url: str = ""
    phases: list[PhaseInput] | None = None  # None: the default run-of-show


@dataclass(frozen=True)
class SessionPatch:
    """The fields to change; None leaves a field as it is."""

    title: str | None = None
    scheduled_start_at: datetime | None = None
    stream_url: str | None = None
    cover_url: str | None = None
    phases: list[PhaseInput] | None = None


def default_phases() -> list[dict[str, Any]]:
    return [dict(p) for p in DEFAULT_PHASES]


def _clean_phases(phases: list[PhaseInput]) -> list[dict[str, Any]]:
    if not 1 <= len(phases) <= MAX_PHASES:
        raise InvalidInput(f"直播环节须为 1 到 {MAX_PHASES} 个", code="phases_invalid")
    cleaned = []
    for phase in phases:
        code, title = phase.code.strip(), phase.title.strip()
        if not PHASE_CODE.match(code):
            raise InvalidInput("环节代码只能是小写字母开头的字母、数字和下划线", code="phases_invalid")
        if not 1 <= len(title) <= 32:
            raise InvalidInput("环节标题须为 1 到 32 个字", code="phases_invalid")
        if not 1 <= phase.minutes <= MAX_PHASE_MINUTES:
            raise InvalidInput(f"环节时长须为 1 到 {MAX_PHASE_MINUTES} 分钟", code="phases_invalid")
        cleaned.append({"code": code, "title": title, "minutes": phase.minutes})
    if len({p["code"] for p in cleaned}) != len(cleaned):
        raise InvalidInput("环节代码不能重复", code="phases_invalid")
    return cleaned


def _clean_title(title: str) -> str:
    title = title.strip()
    if not 1 <= len(title) <= 100:
        raise InvalidInput("直播标题须为 1 到 100 个字", code="session_title_invalid")
    return title


def _clean_start(at: datetime, now: datetime) -> datetime:
    if at.tzinfo is None:
        raise InvalidInput("开播时间须带时区", code="scheduled_start_invalid")
    if not now - SCHEDULE_PAST <= at <= now + SCHEDULE_AHEAD:
        raise InvalidInput("开播时间须在一天前到一年后之间", code="scheduled_start_invalid")
    return at


def _optional_url(value: str, *, label: str) -> str:
    value = value.strip()
    return catalog.clean_url(value, label=label) if value else ""


async def create_session(*, session: AsyncSession, brand_id: int, data: SessionInput, now: datetime) -> LiveSession:
    title = _clean_title(data.title)
    start = _clean_start(data.scheduled_start_at, now)
    stream_url = _optional_url(data.stream_url, label="直播流地址")
    cover_url = _optional_url(data.cover_url, label="封面图地址")
    phases = _clean_phases(data.phases) if data.phases is not None else default_phases()
    await brands.get_brand(session=session, brand_id=brand_id)
    live = LiveSession(
        brand_id=brand_id, title=title, stream_url=stream_url, cover_url=cover_url, scheduled_start_at=start,
        status="scheduled", phases=phases, current_phase=None, created_at=now,
    )
    session.add(live)
    await session.flush()
    _emit(session, session_id=live.id, topic="live.session_scheduled", payload=session_card(live), now=now)
    return live


async def get_brand_session(*, session: AsyncSession, brand_id: int, session_id: int, for_update: bool = False) -> LiveSession:
    live = await session.get(LiveSession, session_id, with_for_update=for_update, populate_existing=for_update)
    if live is None or live.brand_id != brand_id:
        raise NotFound("直播场次不存在", code="live_session_not_found")
    return live


async def get_session(*, session: AsyncSession, session_id: int) -> LiveSession:
    live = await session.get(LiveSession, session_id)
    if live is None:
        raise NotFound("直播场次不存在", code="live_session_not_found")
    return live


async def sessions_by_ids(*, session: AsyncSession, brand_id: int, session_ids: set[int]) -> dict[int, LiveSession]:
    """The brand's sessions among `session_ids` (reports name them by title)."""
    if not session_ids:
        return {}
    rows = await session.scalars(
        select(LiveSession).where(LiveSession.brand_id == brand_id, LiveSession.id.in_(session_ids))
    )
    return {live.id: live for live in rows}


async def update_session(
    *, session: AsyncSession, brand_id: int, session_id: int, patch: SessionPatch, now: datetime
) -> LiveSession:
    """Only a scheduled session can be changed; a live one only moves through its transitions."""
    title = _clean_title(patch.title) if patch.title is not None else None
    start = _clean_start(patch.scheduled_start_at, now) if patch.scheduled_start_at is not None else None
    stream_url = _optional_url(patch.stream_url, label="直播流地址") if patch.stream_url is not None else None
    cover_url = _optional_url(patch.cover_url, label="封面图地址") if patch.cover_url is not None else None
    phases = _clean_phases(patch.phases) if patch.phases is not None else None
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    if live.status != "scheduled":
        raise _status_conflict(live, "修改")
    if title is not None:
        live.title = title
    if start is not None:
        live.scheduled_start_at = start
    if stream_url is not None:
        live.stream_url = stream_url
    if cover_url is not None:
        live.cover_url = cover_url
    if phases is not None:
        live.phases = phases
    await session.flush()
    _emit(session, session_id=live.id, topic="live.session_updated", payload=session_card(live), now=now)
    return live


async def start_session(*, session: AsyncSession, brand_id: int, session_id: int, now: datetime) -> LiveSession:
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    if live.status != "scheduled":
        raise _status_conflict(live, "开播")
    live.status = "live"
    live.started_at = now
    live.current_phase = 0
    live.phase_started_at = now
    await session.flush()
    _emit(session, session_id=live.id, topic="live.session_started", payload=session_card(live), now=now)
    return live


async def advance_phase(*, session: AsyncSession, brand_id: int, session_id: int, now: datetime) -> LiveSession:
    """The next phase of the run-of-show. The last phase stays until the host ends the session."""
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    if live.status != "live":
        raise _status_conflict(live, "切换环节")
    current = live.current_phase or 0
    if current + 1 >= len(live.phases):
        raise Conflict("已是最后一个环节，请结束直播", code="phase_last", details={"current_phase": current})
    live.current_phase = current + 1
    live.phase_started_at = now
    await session.flush()
    _emit(
        session, session_id=live.id, topic="live.phase_changed",
        payload={"session_id": live.id, "previous_phase": current, "current_phase": current_phase_card(live)}, now=now,
    )
    return live


async def _close_offers(session: AsyncSession, offers: list[CommunityOffer], *, reason: str, now: datetime) -> None:
    for offer in offers:
        offer.status = "closed"
        offer.closed_at = now
    await session.flush()
    for offer in offers:
        _emit(
            session, session_id=offer.session_id, topic="live.offer_closed",
            payload={
                "offer_id": offer.id, "listing_id": offer.listing_id, "reason": reason, "quota": offer.quota,
                "sold": offer.sold, "remaining": offer.quota - offer.sold, "closed_at": now,
            },
            now=now,
        )


async def _lock_open_offers(session: AsyncSession, query: Select) -> list[CommunityOffer]:
    rows = await session.scalars(
        query.where(CommunityOffer.status == "open")
        .order_by(CommunityOffer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def end_session(*, session: AsyncSession, brand_id: int, session_id: int, now: datetime) -> LiveSession:
    """live → ended; every open offer closes with it. Orders already placed stay as they are."""
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    if live.status != "live":
        raise _status_conflict(live, "结束")
    offers = await _lock_open_offers(session, select(CommunityOffer).where(CommunityOffer.session_id == live.id))
    await _close_offers(session, offers, reason="session_ended", now=now)
    live.status = "ended"
    live.ended_at = now
    await session.flush()
    _emit(session, session_id=live.id, topic="live.session_ended", payload=session_card(live), now=now)
    return live


async def cancel_session(*, session: AsyncSession, brand_id: int, session_id: int, now: datetime) -> LiveSession:
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    if live.status != "scheduled":
        raise _status_conflict(live, "取消")
    live.status = "cancelled"
    live.ended_at = now
    await session.flush()
    _emit(session, session_id=live.id, topic="live.session_cancelled", payload=session_card(live), now=now)
    return live


async def list_sessions(
    *, session: AsyncSession, brand_id: int, status: str | None, params: PageParams
) -> tuple[list[LiveSession], int]:
    """Upcoming (scheduled) sessions soonest first; others latest first. No status: all but cancelled."""
    if status is not None and status not in SESSION_STATUSES:
        raise InvalidInput("直播状态无效", code="session_status_filter_invalid")
    query = select(LiveSession).where(LiveSession.brand_id == brand_id)
    if status is None:
        query = query.where(LiveSession.status != "cancelled")
    else:
        query = query.where(LiveSession.status == status)
    if status == "scheduled":
        query = query.order_by(LiveSession.scheduled_start_at, LiveSession.id)
    else:
        query = query.order_by(LiveSession.scheduled_start_at.desc(), LiveSession.id.desc())
    return await fetch_page(session, query, params)


def _require_editable(live: LiveSession, action: str) -> None:
    if live.status not in ("scheduled", "live"):
        raise _status_conflict(live, action)


# ---------------------------------------------------------------------------------------------
# Listings


@dataclass(frozen=True)
class ListingPatch:
    live_price_fen: int | None = None
    allocation: int | None = None
    per_member_limit: int | None = None
    clear_per_member_limit: bool = False


def _clean_live_price(value: int) -> int:
    if not 0 < value <= catalog.MAX_PRICE_FEN:
        raise InvalidInput("直播价须大于 0 且不超过 100 万元（单位：分）", code="price_invalid")
    return value


def _clean_allocation(value: int) -> int:
    if not 1 <= value <= MAX_ALLOCATION:
        raise InvalidInput(f"直播分配数量须在 1 到 {MAX_ALLOCATION} 之间", code="allocation_invalid")
    return value


def _clean_limit(value: int) -> int:
    if not 1 <= value <= MAX_LIMIT_PER_MEMBER:
        raise InvalidInput(f"每人限购须在 1 到 {MAX_LIMIT_PER_MEMBER} 之间", code="per_member_limit_invalid")
    return value


async def get_listing(*, session: AsyncSession, session_id: int, listing_id: int, for_update: bool = False) -> Listing:
    listing = await session.get(Listing, listing_id, with_for_update=for_update, populate_existing=for_update)
    if listing is None or listing.session_id != session_id:
        raise NotFound("直播商品不存在", code="listing_not_found")
    return listing


async def add_listing(
    *, session: AsyncSession, brand_id: int, session_id: int, sku_id: int, live_price_fen: int, allocation: int,
    per_member_limit: int | None, now: datetime,
) -> ListingView:
    """Mounts a SKU of the brand in a scheduled or live session. One listing per SKU per session."""
    price = _clean_live_price(live_price_fen)
    allocation = _clean_allocation(allocation)
    limit = _clean_limit(per_member_limit) if per_member_limit is not None else None
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    _require_editable(live, "挂载商品")
    sku = await catalog.get_sku(session=session, brand_id=brand_id, sku_id=sku_id)
    product = await catalog.get_product(session=session, brand_id=brand_id, product_id=sku.product_id)
    if product.status != "active":
        raise Conflict("商品已下架，不能挂载", code="product_archived")
    listing = Listing(
        brand_id=brand_id, session_id=live.id, sku_id=sku.id, live_price_fen=price, allocation=allocation, sold=0,
        per_member_limit=limit, status="active", created_at=now,
    )
    if not await insert_unique(session, listing):
        raise Conflict("该规格已挂载到本场直播", code="listing_exists")
    view = ListingView(listing=listing, sku=sku, product=product)
    _emit(session, session_id=live.id, topic="live.listing_added", payload=view.card(), now=now)
    return view


async def update_listing(
    *, session: AsyncSession, brand_id: int, session_id: int, listing_id: int, patch: ListingPatch, now: datetime
) -> ListingView:
    """Live price, allocation (never below what is already sold) and per-member limit."""
    price = _clean_live_price(patch.live_price_fen) if patch.live_price_fen is not None else None
    allocation = _clean_allocation(patch.allocation) if patch.allocation is not None else None
    limit = _clean_limit(patch.per_member_limit) if patch.per_member_limit is not None else None
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    _require_editable(live, "修改直播商品")
    listing = await get_listing(session=session, session_id=live.id, listing_id=listing_id, for_update=True)
    if listing.status != "active":
        raise Conflict("直播商品已撤下", code="listing_withdrawn")
    if allocation is not None:
        # Guarded: a concurrent order may have just raised `sold`.
        changed = await session.scalar(
            update(Listing)
            .where(Listing.id == listing.id, Listing.sold <= allocation)
            .values(allocation=allocation)
            .returning(Listing.id)
            .execution_options(synchronize_session=False)
        )
        if changed is None:
            raise Conflict(f"分配数量不能少于已售的 {listing.sold} 件", code="allocation_below_sold")
    if price is not None:
        listing.live_price_fen = price
    if limit is not None:
        listing.per_member_limit = limit
    elif patch.clear_per_member_limit:
        listing.per_member_limit = None
    await session.flush()
    await session.refresh(listing)
    [view] = await describe_listings(session=session, listings=[listing])
    _emit(session, session_id=live.id, topic="live.listing_updated", payload=view.card(), now=now)
    return view


async def withdraw_listing(
    *, session: AsyncSession, brand_id: int, session_id: int, listing_id: int, now: datetime
) -> ListingView:
    """Takes a listing off sale; its open offers close with it. Orders already placed stay."""
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    _require_editable(live, "撤下商品")
    await get_listing(session=session, session_id=live.id, listing_id=listing_id)  # 404 before taking locks
    # Offers before their listing: the order in which placing an order takes them (no deadlock).
    offers = await _lock_open_offers(session, select(CommunityOffer).where(CommunityOffer.listing_id == listing_id))
    listing = await get_listing(session=session, session_id=live.id, listing_id=listing_id, for_update=True)
    if listing.status != "active":
        raise Conflict("直播商品已撤下", code="listing_status_invalid", details={"status": listing.status})
    await _close_offers(session, offers, reason="listing_withdrawn", now=now)
    listing.status = "withdrawn"
    await session.flush()
    [view] = await describe_listings(session=session, listings=[listing])
    _emit(session, session_id=live.id, topic="live.listing_withdrawn", payload=view.card(), now=now)
    return view


# ---------------------------------------------------------------------------------------------
# Community offers


@dataclass(frozen=True)
class OfferInput:
    listing_id: int
    community_id: int
    price_fen: int
    quota: int
    per_member_limit: int
    starts_at: datetime
    ends_at: datetime
    title: str = ""


@dataclass(frozen=True)
class OfferPatch:
    title: str | None = None
    price_fen: int | None = None
    quota: int | None = None
    per_member_limit: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def _check_window(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("活动时间须带时区", code="offer_window_invalid")
    if starts_at >= ends_at:
        raise InvalidInput("专享价开始时间须早于结束时间", code="offer_window_invalid")
    if ends_at <= now:
        raise InvalidInput("专享价结束时间已过", code="offer_window_invalid")
    if ends_at - starts_at > MAX_OFFER_WINDOW:
        raise InvalidInput("专享价活动时间最长 31 天", code="offer_window_invalid")


def _check_quota(quota: int, listing: Listing) -> None:
    if not 1 <= quota <= MAX_ALLOCATION:
        raise InvalidInput(f"专享名额须在 1 到 {MAX_ALLOCATION} 之间", code="quota_invalid")
    if quota > listing.allocation:
        raise InvalidInput(
            f"专享名额不能超过直播商品的分配数量 {listing.allocation}", code="quota_exceeds_allocation",
            details={"allocation": listing.allocation},
        )


def _clean_offer_title(title: str) -> str:
    title = title.strip()
    if len(title) > 100:
        raise InvalidInput("专享价标题不能超过 100 个字", code="offer_title_invalid")
    return title


async def _active_holder(session: AsyncSession, community_id: int) -> Leader:
    holder = await leaders.holder_of_community(session=session, community_id=community_id)
    if holder is None or holder.status != "active":
        raise Conflict("该小区暂无在任团长，不能设置社区专享价", code="community_has_no_leader")
    return holder


async def get_offer(*, session: AsyncSession, session_id: int, offer_id: int, for_update: bool = False) -> CommunityOffer:
    offer = await session.get(CommunityOffer, offer_id, with_for_update=for_update, populate_existing=for_update)
    if offer is None or offer.session_id != session_id:
        raise NotFound("社区专享价不存在", code="offer_not_found")
    return offer


async def _offer_view(session: AsyncSession, offer: CommunityOffer) -> OfferView:
    [view] = await describe_offers(session=session, offers=[offer])
    return view


async def create_offer(
    *, session: AsyncSession, brand_id: int, session_id: int, data: OfferInput, now: datetime
) -> OfferView:
    """A draft offer for one community (its active leader's members only). Opened live by the host."""
    price = _clean_live_price(data.price_fen)
    limit = _clean_limit(data.per_member_limit)
    title = _clean_offer_title(data.title)
    _check_window(data.starts_at, data.ends_at, now)
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    _require_editable(live, "设置社区专享价")
    listing = await get_listing(session=session, session_id=live.id, listing_id=data.listing_id)
    if listing.status != "active":
        raise Conflict("直播商品已撤下", code="listing_withdrawn")
    _check_quota(data.quota, listing)
    community = await brands.get_community(session=session, brand_id=brand_id, community_id=data.community_id)
    leader = await _active_holder(session, community.id)
    offer = CommunityOffer(
        brand_id=brand_id, session_id=live.id, listing_id=listing.id, community_id=community.id, leader_id=leader.id,
        title=title, price_fen=price, quota=data.quota, sold=0, per_member_limit=limit, starts_at=data.starts_at,
        ends_at=data.ends_at, status="draft", created_at=now,
    )
    session.add(offer)
    await session.flush()
    # A draft is not public: the event goes to workers (campaign kits), not to the room's stream.
    emit(
        session, topic="live.offer_drafted",
        payload={"offer_id": offer.id, "session_id": live.id, "community_id": community.id, "leader_id": leader.id},
        now=now,
    )
    return await _offer_view(session, offer)


async def update_offer(
    *, session: AsyncSession, brand_id: int, session_id: int, offer_id: int, patch: OfferPatch, now: datetime
) -> OfferView:
    """Only a draft can be changed; an open offer is closed and a new one drafted instead."""
    price = _clean_live_price(patch.price_fen) if patch.price_fen is not None else None
    limit = _clean_limit(patch.per_member_limit) if patch.per_member_limit is not None else None
    title = _clean_offer_title(patch.title) if patch.title is not None else None
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    _require_editable(live, "修改社区专享价")
    offer = await get_offer(session=session, session_id=live.id, offer_id=offer_id, for_update=True)
    if offer.status != "draft":
        raise Conflict("只有草稿状态的专享价可以修改", code="offer_status_invalid", details={"status": offer.status})
    starts_at = patch.starts_at or offer.starts_at
    ends_at = patch.ends_at or offer.ends_at
    _check_window(starts_at, ends_at, now)
    if patch.quota is not None:
        listing = await get_listing(session=session, session_id=live.id, listing_id=offer.listing_id)
        _check_quota(patch.quota, listing)
        offer.quota = patch.quota
    offer.starts_at, offer.ends_at = starts_at, ends_at
    if price is not None:
        offer.price_fen = price
    if limit is not None:
        offer.per_member_limit = limit
    if title is not None:
        offer.title = title
    await session.flush()
    return await _offer_view(session, offer)


async def open_offer(*, session: AsyncSession, brand_id: int, session_id: int, offer_id: int, now: datetime) -> OfferView:
    """draft → open, only while the session is live and the offer's leader still leads the community."""
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    offer = await get_offer(session=session, session_id=live.id, offer_id=offer_id, for_update=True)
    if offer.status != "draft":
        raise Conflict(
            f"专享价{OFFER_STATUS_TEXT.get(offer.status, offer.status)}，不能开放", code="offer_status_invalid",
            details={"status": offer.status},
        )
    if live.status != "live":
        raise Conflict("直播未在进行中，不能开放专享价", code="session_not_live", details={"status": live.status})
    if offer.ends_at <= now:
        raise Conflict("专享价活动时间已结束", code="offer_window_ended")
    listing = await get_listing(session=session, session_id=live.id, listing_id=offer.listing_id)
    if listing.status != "active":
        raise Conflict("直播商品已撤下", code="listing_withdrawn")
    holder = await _active_holder(session, offer.community_id)
    if holder.id != offer.leader_id:
        raise Conflict("该小区的团长已更换，请重新设置专享价", code="offer_leader_changed")
    offer.status = "open"
    offer.opened_at = now
    await session.flush()
    view = await _offer_view(session, offer)
    _emit(session, session_id=live.id, topic="live.offer_opened", payload=view.card(), now=now)
    return view


async def close_offer(*, session: AsyncSession, brand_id: int, session_id: int, offer_id: int, now: datetime) -> OfferView:
    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    offer = await get_offer(session=session, session_id=live.id, offer_id=offer_id, for_update=True)
    if offer.status != "open":
        raise Conflict(
            f"专享价{OFFER_STATUS_TEXT.get(offer.status, offer.status)}，不能关闭", code="offer_status_invalid",
            details={"status": offer.status},
        )
    await _close_offers(session, [offer], reason="closed_by_host", now=now)
    return await _offer_view(session, offer)


# ---------------------------------------------------------------------------------------------
# The room: what a viewer sees


async def caller_leader_id(*, session: AsyncSession, brand_id: int, user_id: int, now: datetime) -> int | None:
    """The leader the caller is bound to in this brand now (offers are for that leader's members)."""
    member = await members.find_member(session=session, brand_id=brand_id, user_id=user_id)
    if member is None:
        return None
    binding = await attribution.active_binding(session=session, member_id=member.id, now=now)
    return binding.leader_id if binding else None


async def room_state(
    *, session: AsyncSession, session_id: int, now: datetime, user_id: int | None = None, staff_view: bool = False,
    brand_id: int | None = None,
) -> RoomState:
    """The session with its listings and offers.

    The public view has active listings and open offers, each offer with `eligible` for a logged-in
    caller; the staff view has every listing and offer of the session.
    """
    live = await get_session(session=session, session_id=session_id)
    if brand_id is not None and live.brand_id != brand_id:
        raise NotFound("直播场次不存在", code="live_session_not_found")
    listing_query = select(Listing).where(Listing.session_id == live.id).order_by(Listing.id)
    offer_query = select(CommunityOffer).where(CommunityOffer.session_id == live.id).order_by(CommunityOffer.id)
    if not staff_view:
        listing_query = listing_query.where(Listing.status == "active")
        offer_query = offer_query.where(CommunityOffer.status == "open")
    listing_rows = list((await session.scalars(listing_query)).all())
    offers = list((await session.scalars(offer_query)).all())
    listing_views = await describe_listings(session=session, listings=listing_rows)
    eligible_leader = None
    if user_id is not None and offers:
        eligible_leader = await caller_leader_id(session=session, brand_id=live.brand_id, user_id=user_id, now=now)
    offer_views = await describe_offers(
        session=session, offers=offers, listing_views={v.listing.id: v for v in listing_views},
        eligible_leader_id=eligible_leader, caller_known=user_id is not None and not staff_view,
    )
    return RoomState(live=live, listings=listing_views, offers=offer_views)


async def recent_comments(*, session: AsyncSession, session_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The last comments of a room, oldest first, as they appear in `live.comment` events."""
    rows = (
        await session.scalars(
            select(RoomComment).where(RoomComment.session_id == session_id).order_by(RoomComment.id.desc()).limit(limit)
        )
    ).all()
    users = await accounts.users_by_ids(session=session, user_ids={c.user_id for c in rows})
    return [
        _comment_card(c, users[c.user_id].display_name if c.user_id in users else "") for c in reversed(rows)
    ]


def _comment_card(comment: RoomComment, display_name: str) -> dict[str, Any]:
    return {"comment_id": comment.id, "name": mask_name(display_name), "body": comment.body, "created_at": comment.created_at}


# ---------------------------------------------------------------------------------------------
# Comments


async def _serialize(session: AsyncSession, key: str) -> None:
    """One user's concurrent comments queue here on PostgreSQL (SQLite has one writer anyway)."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


def clean_comment(body: str) -> str:
    body = body.strip()
    if not 1 <= len(body) <= COMMENT_MAX_LENGTH:
        raise InvalidInput(f"评论须为 1 到 {COMMENT_MAX_LENGTH} 个字", code="comment_invalid")
    if any(ord(ch) < 32 and ch not in "\n" for ch in body):
        raise InvalidInput("评论不能包含控制字符", code="comment_invalid")
    return body


@dataclass(frozen=True)
class PostedComment:
    comment: RoomComment
    card: dict[str, Any]  # as sent in the `live.comment` event: comment_id, name (masked), body, created_at


async def post_comment(*, session: AsyncSession, session_id: int, user_id: int, body: str, now: datetime) -> PostedComment:
    """A comment in a live room: at most one per 3 seconds and 10 per minute per user and room."""
    body = clean_comment(body)
    live = await get_session(session=session, session_id=session_id)
    if live.status != "live":
        raise Conflict("直播未在进行中，暂不能评论", code="session_not_live", details={"status": live.status})
    await _serialize(session, f"comment:{session_id}:{user_id}")
    recent = (
        await session.scalars(
            select(RoomComment.created_at)
            .where(
                RoomComment.session_id == session_id,
                RoomComment.user_id == user_id,
                RoomComment.created_at > now - COMMENT_WINDOW,
            )
            .order_by(RoomComment.created_at.desc())
        )
    ).all()
    if recent and recent[0] > now - COMMENT_MIN_INTERVAL:
        raise RateLimited("发言太快了，请 3 秒后再试", code="comment_rate_limited", details={"retry_after_seconds": 3})
    if len(recent) >= COMMENTS_PER_WINDOW:
        raise RateLimited(
            f"每分钟最多发言 {COMMENTS_PER_WINDOW} 次，请稍后再试", code="comment_rate_limited",
            details={"retry_after_seconds": 60},
        )
    user = await accounts.get_user(session=session, user_id=user_id)
    comment = RoomComment(session_id=session_id, user_id=user_id, body=body, created_at=now)
    session.add(comment)
    await session.flush()
    card = _comment_card(comment, user.display_name)
    _emit(session, session_id=session_id, topic="live.comment", payload=card, now=now)
    return PostedComment(comment=comment, card=card)


# ---------------------------------------------------------------------------------------------
# Visits and the funnel


@dataclass(frozen=True)
class VisitOutcome:
    visit: RoomVisit
    leader: Leader | None  # the leader whose code brought the viewer
    leader_card: dict[str, Any] | None  # id, name, community_name, badge: what the room shows of them
    entry: attribution.EntryOutcome | None  # the binding outcome for a logged-in viewer with a code
    own_code: bool = False  # a leader opened their own link: counted, never bound


async def record_visit(
    *, session: AsyncSession, session_id: int, user_id: int | None, invite_code: str | None, now: datetime
) -> VisitOutcome:
    """A viewer opens the room, anonymous or logged in, through an invite code or not.

    With a code the visit counts for the code's leader (a code of another brand is refused); a logged-in
    viewer is also entered through the code, so that opening the room by the link binds first touch.
    """
    live = await get_session(session=session, session_id=session_id)
    leader = None
    entry = None
    own_code = False
    if invite_code is not None and invite_code.strip():
        resolved = await invite_codes.resolve(session=session, raw_code=invite_code, now=now)
        leader = resolved.leader
        if leader.brand_id != live.brand_id:
            raise InvalidInput("该邀请码不属于本品牌", code="invite_code_other_brand")
        if user_id is not None:
            try:
                entry = await attribution.enter_with_code(session=session, user_id=user_id, raw_code=invite_code, now=now)
            except DomainError as exc:
                if exc.code != "self_binding":
                    raise
                own_code = True
    visit = RoomVisit(session_id=live.id, user_id=user_id, leader_id=leader.id if leader else None, visited_at=now)
    session.add(visit)
    await session.flush()
    card = await leader_card(session=session, leader=leader) if leader is not None else None
    return VisitOutcome(visit=visit, leader=leader, leader_card=card, entry=entry, own_code=own_code)


async def leader_card(*, session: AsyncSession, leader: Leader) -> dict[str, Any]:
    """A leader as the room shows them: nickname (else masked real name), community and badge."""
    faces = await _leader_faces(session, {leader.id: leader})
    community = await brands.get_community(session=session, brand_id=leader.brand_id, community_id=leader.community_id)
    brand = await brands.get_brand(session=session, brand_id=leader.brand_id)
    return {
        "id": leader.id,
        "name": faces[leader.id],
        "community_name": community.name,
        "badge": leaders.badge_text(community_name=community.name, brand_name=brand.name),
    }


@dataclass
class FunnelRow:
    leader_id: int | None
    leader_name: str = ""
    community_name: str = ""
    views: int = 0
    entries: int = 0
    orders: int = 0
    paid_orders: int = 0


@dataclass
class Funnel:
    session_id: int
    rows: list[FunnelRow] = field(default_factory=list)

    @property
    def totals(self) -> FunnelRow:
        total = FunnelRow(leader_id=None, leader_name="合计")
        for row in self.rows:
            total.views += row.views
            total.entries += row.entries
            total.orders += row.orders
            total.paid_orders += row.paid_orders
        return total


async def funnel(*, session: AsyncSession, brand_id: int, session_id: int) -> Funnel:
    """Per leader: views (room visits through their code), entries (distinct logged-in viewers through
    it), orders placed in the session attributed to them and how many of those were paid.
    The row with leader None is everyone who came without a code or ordered unbound."""
    from linli.orders.stats import session_funnel_orders

    live = await get_brand_session(session=session, brand_id=brand_id, session_id=session_id)
    views = dict(
        (
            await session.execute(
                select(RoomVisit.leader_id, func.count()).where(RoomVisit.session_id == live.id).group_by(RoomVisit.leader_id)
            )
        ).all()
    )
    entries = dict(
        (
            await session.execute(
                select(RoomVisit.leader_id, func.count(func.distinct(RoomVisit.user_id)))
                .where(RoomVisit.session_id == live.id, RoomVisit.user_id.is_not(None))
                .group_by(RoomVisit.leader_id)
            )
        ).all()
    )
    orders = await session_funnel_orders(session=session, session_id=live.id)
    leader_ids = {k for k in (*views, *entries, *orders) if k is not None}
    leader_rows = await leaders.leaders_by_ids(session=session, leader_ids=leader_ids)
    faces = await _leader_faces(session, leader_rows)
    communities = await brands.communities_by_ids(
        session=session, community_ids={x.community_id for x in leader_rows.values()}
    )
    rows = []
    for leader_id in sorted(leader_ids) + [None]:
        placed, paid = orders.get(leader_id, (0, 0))
        row = FunnelRow(
            leader_id=leader_id, views=int(views.get(leader_id, 0)), entries=int(entries.get(leader_id, 0)),
            orders=placed, paid_orders=paid,
        )
        if leader_id is None:
            row.leader_name = "未经团长邀请"
        else:
            leader = leader_rows[leader_id]
            row.leader_name = faces.get(leader_id, "")
            row.community_name = communities[leader.community_id].name if leader.community_id in communities else ""
        rows.append(row)
    return Funnel(session_id=live.id, rows=rows)
