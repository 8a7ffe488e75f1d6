"""Listings: a SKU of the brand mounted in a session at a live price with an allocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.catalog import service as catalog
from linli.db import insert_unique
from linli.errors import Conflict, InvalidInput, NotFound
from linli.live import service
from linli.live.models import CommunityOffer, Listing


MAX_ALLOCATION = 100_000
MAX_LIMIT_PER_MEMBER = 99  # the most one order may hold (orders.service.MAX_QUANTITY)


@dataclass(frozen=True)
class ListingPatch:
    live_price_fen: int | None = None
    allocation: int | None = None
    per_member_limit: int | None = None
    clear_per_member_limit: bool = False


def clean_live_price(value: int) -> int:
    if not 0 < value <= catalog.MAX_PRICE_FEN:
        raise InvalidInput("直播价须大于 0 且不超过 100 万元（单位：分）", code="price_invalid")
    return value


def _clean_allocation(value: int) -> int:
    if not 1 <= value <= MAX_ALLOCATION:
        raise InvalidInput(f"直播分配数量须在 1 到 {MAX_ALLOCATION} 之间", code="allocation_invalid")
    return value


def clean_limit(value: int) -> int:
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
) -> service.ListingView:
    """Mounts a SKU of the brand in a scheduled or live session. One listing per SKU per session."""
    price = clean_live_price(live_price_fen)
    allocation = _clean_allocation(allocation)
    limit = clean_limit(per_member_limit) if per_member_limit is not None else None
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    service.require_editable(live, "挂载商品")
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
    view = service.ListingView(listing=listing, sku=sku, product=product)
    service.emit_room(session, session_id=live.id, topic="live.listing_added", payload=view.card(), now=now)
    return view


async def update_listing(
    *, session: AsyncSession, brand_id: int, session_id: int, listing_id: int, patch: ListingPatch, now: datetime
) -> service.ListingView:
    """Live price, allocation (never below what is already sold) and per-member limit."""
    price = clean_live_price(patch.live_price_fen) if patch.live_price_fen is not None else None
    allocation = _clean_allocation(patch.allocation) if patch.allocation is not None else None
    limit = clean_limit(patch.per_member_limit) if patch.per_member_limit is not None else None
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    service.require_editable(live, "修改直播商品")
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
    [view] = await service.describe_listings(session=session, listings=[listing])
    service.emit_room(session, session_id=live.id, topic="live.listing_updated", payload=view.card(), now=now)
    return view


async def withdraw_listing(
    *, session: AsyncSession, brand_id: int, session_id: int, listing_id: int, now: datetime
) -> service.ListingView:
    """Takes a listing off sale; its open offers close with it. Orders already placed stay."""
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    service.require_editable(live, "撤下商品")
    await get_listing(session=session, session_id=live.id, listing_id=listing_id)  # 404 before taking locks
    # Offers before their listing: the order in which placing an order takes them (no deadlock).
    offers = await service.lock_open_offers(session, select(CommunityOffer).where(CommunityOffer.listing_id == listing_id))
    listing = await get_listing(session=session, session_id=live.id, listing_id=listing_id, for_update=True)
    if listing.status != "active":
        raise Conflict("直播商品已撤下", code="listing_status_invalid", details={"status": listing.status})
    await service.close_offers(session, offers, reason="listing_withdrawn", now=now)
    listing.status = "withdrawn"
    await session.flush()
    [view] = await service.describe_listings(session=session, listings=[listing])
    service.emit_room(session, session_id=live.id, topic="live.listing_withdrawn", payload=view.card(), now=now)
    return view

