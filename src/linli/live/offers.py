"""Community offers (社区专享价): drafted for one community's active leader, opened live by the host,
announced to their community with the leader's name, closed by the host (or with their listing or session).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.errors import Conflict, InvalidInput, NotFound, RateLimited
from linli.leaders import service as leaders
from linli.leaders.models import Leader
from linli.live import service
from linli.live.listings import MAX_ALLOCATION, clean_limit, clean_live_price, get_listing
from linli.live.models import CommunityOffer, Listing
from linli.money import yuan
from linli.outbox.service import emit, recent_on_stream


MAX_OFFER_WINDOW = timedelta(days=31)
ANNOUNCE_INTERVAL = timedelta(seconds=30)  # per offer: a double click on the host's button announces once
ANNOUNCE_NOTE_MAX_LENGTH = 50
ANNOUNCED_TOPIC = "live.offer_announced"


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


async def offer_view(session: AsyncSession, offer: CommunityOffer) -> service.OfferView:
    [view] = await service.describe_offers(session=session, offers=[offer])
    return view


async def create_offer(
    *, session: AsyncSession, brand_id: int, session_id: int, data: OfferInput, now: datetime
) -> service.OfferView:
    """A draft offer for one community (its active leader's members only). Opened live by the host."""
    price = clean_live_price(data.price_fen)
    limit = clean_limit(data.per_member_limit)
    title = _clean_offer_title(data.title)
    _check_window(data.starts_at, data.ends_at, now)
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    service.require_editable(live, "设置社区专享价")
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
    return await offer_view(session, offer)


async def update_offer(
    *, session: AsyncSession, brand_id: int, session_id: int, offer_id: int, patch: OfferPatch, now: datetime
) -> service.OfferView:
    """Only a draft can be changed; an open offer is closed and a new one drafted instead."""
    price = clean_live_price(patch.price_fen) if patch.price_fen is not None else None
    limit = clean_limit(patch.per_member_limit) if patch.per_member_limit is not None else None
    title = _clean_offer_title(patch.title) if patch.title is not None else None
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    service.require_editable(live, "修改社区专享价")
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
    return await offer_view(session, offer)


async def open_offer(*, session: AsyncSession, brand_id: int, session_id: int, offer_id: int, now: datetime) -> service.OfferView:
    """draft → open, only while the session is live and the offer's leader still leads the community."""
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    offer = await get_offer(session=session, session_id=live.id, offer_id=offer_id, for_update=True)
    if offer.status != "draft":
        raise Conflict(
            f"专享价{service.OFFER_STATUS_TEXT.get(offer.status, offer.status)}，不能开放", code="offer_status_invalid",
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
    view = await offer_view(session, offer)
    service.emit_room(session, session_id=live.id, topic="live.offer_opened", payload=view.card(), now=now)
    return view


async def close_offer(*, session: AsyncSession, brand_id: int, session_id: int, offer_id: int, now: datetime) -> service.OfferView:
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    offer = await get_offer(session=session, session_id=live.id, offer_id=offer_id, for_update=True)
    if offer.status != "open":
        raise Conflict(
            f"专享价{service.OFFER_STATUS_TEXT.get(offer.status, offer.status)}，不能关闭", code="offer_status_invalid",
            details={"status": offer.status},
        )
    await service.close_offers(session, [offer], reason="closed_by_host", now=now)
    return await offer_view(session, offer)


# ---------------------------------------------------------------------------------------------
# Announcements: "接下来为云顶华府的邻居们带来专享价……@小李"


def clean_announce_note(note: str | None) -> str | None:
    """The host's optional line added to the banner: 1–50 characters on one line once stripped."""
    if note is None:
        return None
    note = note.strip()
    if not 1 <= len(note) <= ANNOUNCE_NOTE_MAX_LENGTH:
        raise InvalidInput(f"播报补充文字须为 1 到 {ANNOUNCE_NOTE_MAX_LENGTH} 个字", code="announce_note_invalid")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in note):
        raise InvalidInput("播报补充文字须在一行内，不能包含控制字符", code="announce_note_invalid")
    return note


def banner_text(*, community_name: str, product_name: str, price_fen: int, quota: int, remaining: int,
                leader_name: str, note: str | None) -> str:
    """接下来为云顶华府的邻居们带来专享价：黄金奶油草莓 ¥68.00，前 100 份 @小李"""
    left = f"前 {quota} 份" if remaining == quota else f"仅剩 {remaining} 份"
    extra = f"，{note}" if note else ""
    return f"接下来为{community_name}的邻居们带来专享价：{product_name} ¥{yuan(price_fen)}，{left}{extra} @{leader_name}"


async def announce_offer(
    *, session: AsyncSession, brand_id: int, session_id: int, offer_id: int, note: str | None, now: datetime
) -> dict[str, Any]:
    """Writes `live.offer_announced` on the room's stream for an open offer with quota left; returns its payload.

    At most once per offer every 30 seconds (429): the offer row is locked first, so two clicks at once
    on PostgreSQL queue and the second sees the first's event.
    """
    note = clean_announce_note(note)
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    offer = await get_offer(session=session, session_id=live.id, offer_id=offer_id, for_update=True)
    if live.status != "live":
        raise Conflict("直播未在进行中，不能播报专享价", code="session_not_live", details={"status": live.status})
    if offer.status != "open":
        raise Conflict(
            f"专享价{service.OFFER_STATUS_TEXT.get(offer.status, offer.status)}，不能播报", code="offer_status_invalid",
            details={"status": offer.status},
        )
    if offer.sold >= offer.quota:
        raise Conflict("专享名额已抢完，不能再播报", code="offer_sold_out")
    recent = await recent_on_stream(
        session=session, stream=service.room_stream(live.id), topic=ANNOUNCED_TOPIC, since=now - ANNOUNCE_INTERVAL
    )
    last = next((e for e in recent if e.payload.get("offer_id") == offer.id), None)
    if last is not None:
        wait = math.ceil((last.created_at + ANNOUNCE_INTERVAL - now).total_seconds())
        raise RateLimited(
            f"这条专享价刚播报过，请 {wait} 秒后再播报", code="offer_announce_rate_limited",
            details={"retry_after_seconds": wait},
        )
    view = await offer_view(session, offer)
    card = view.card()
    payload = {
        "session_id": live.id, "offer_id": offer.id, "listing_id": offer.listing_id, "title": offer.title,
        "product_name": card["product_name"], "sku_name": card["sku_name"], "price_fen": offer.price_fen,
        "quota": offer.quota, "remaining": card["remaining"], "community_id": offer.community_id,
        "community_name": view.community_name, "leader_id": offer.leader_id, "leader_name": view.leader_name,
        "leader_badge": view.leader_badge, "note": note, "announced_at": now,
        "banner": banner_text(
            community_name=view.community_name, product_name=card["product_name"], price_fen=offer.price_fen,
            quota=offer.quota, remaining=card["remaining"], leader_name=view.leader_name, note=note,
        ),
    }
    service.emit_room(session, session_id=live.id, topic=ANNOUNCED_TOPIC, payload=payload, now=now)
    return payload
