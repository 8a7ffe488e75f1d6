"""Live sessions as other contexts and the room read them, and what the live context's modules share.

Every state change of a session, listing or offer writes an outbox event on the room's stream
(`room_stream(session_id)`) in the same transaction, so the SSE room (`live.room`) and any worker see
exactly the changes that committed. The `sold` columns of listings and offers are written only by
`live.reservations` (used by orders); no other module touches them.

Locking: a transition locks the session row first, then the offer or listing rows it changes, always
in that order, so that an offer cannot be opened while its session is being ended.

Here: the cards (the one shape of a session, listing and offer shared by the API, the SSE room and
events), session look-ups, the room as a viewer sees it, and closing offers. The rest of the context:
`sessions` (scheduling and the run-of-show), `listings`, `offers` (community offers and their
announcements), `comments`, `visits` (visits and the funnel), `room` (the SSE stream),
`reservations` and `queries` (for orders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.attribution import service as attribution
from linli.brands import service as brands
from linli.catalog import service as catalog
from linli.catalog.models import Product, Sku
from linli.errors import Conflict, InvalidInput, NotFound
from linli.leaders import service as leaders
from linli.leaders.models import Leader
from linli.live.models import CommunityOffer, Listing, LiveSession
from linli.members import service as members
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page
from linli.security import mask_name

SESSION_STATUSES = ("scheduled", "live", "ended", "cancelled")
TERMINAL_STATUSES = ("ended", "cancelled")
STATUS_TEXT = {"scheduled": "未开播", "live": "直播中", "ended": "已结束", "cancelled": "已取消"}
OFFER_STATUS_TEXT = {"draft": "草稿", "open": "进行中", "closed": "已关闭"}


def room_stream(session_id: int) -> str:
    """The outbox stream a live room's events are written to and tailed from."""
    return f"live_session:{session_id}"


def emit_room(session: AsyncSession, *, session_id: int, topic: str, payload: dict[str, Any], now: datetime) -> None:
    emit(session, topic=topic, stream=room_stream(session_id), payload=to_jsonable_python(payload), now=now)


def status_conflict(live: LiveSession, action: str) -> Conflict:
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


async def leader_faces(session: AsyncSession, leader_rows: dict[int, Leader]) -> dict[int, str]:
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
    faces = await leader_faces(session, leader_rows)
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
# Sessions as others read them


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


def require_editable(live: LiveSession, action: str) -> None:
    if live.status not in ("scheduled", "live"):
        raise status_conflict(live, action)


async def close_offers(session: AsyncSession, offers: list[CommunityOffer], *, reason: str, now: datetime) -> None:
    for offer in offers:
        offer.status = "closed"
        offer.closed_at = now
    await session.flush()
    for offer in offers:
        emit_room(
            session, session_id=offer.session_id, topic="live.offer_closed",
            payload={
                "offer_id": offer.id, "listing_id": offer.listing_id, "reason": reason, "quota": offer.quota,
                "sold": offer.sold, "remaining": offer.quota - offer.sold, "closed_at": now,
            },
            now=now,
        )


async def lock_open_offers(session: AsyncSession, query: Select) -> list[CommunityOffer]:
    rows = await session.scalars(
        query.where(CommunityOffer.status == "open")
        .order_by(CommunityOffer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows)


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


async def leader_card(*, session: AsyncSession, leader: Leader) -> dict[str, Any]:
    """A leader as the room shows them: nickname (else masked real name), community and badge."""
    faces = await leader_faces(session, {leader.id: leader})
    community = await brands.get_community(session=session, brand_id=leader.brand_id, community_id=leader.community_id)
    brand = await brands.get_brand(session=session, brand_id=leader.brand_id)
    return {
        "id": leader.id,
        "name": faces[leader.id],
        "community_name": community.name,
        "badge": leaders.badge_text(community_name=community.name, brand_name=brand.name),
    }
