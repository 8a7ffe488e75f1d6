"""The brand console, a session's goods: mount a SKU at a live price with the number this session may sell
(`live.listings.add_listing`), and draft a community offer — one community's price, quota, per-member limit
and window (`live.offers.create_offer`; the host opens it live in the host console).

The same checks as `live/api.py`: `brands.require_staff`, then the service. Sent twice, a listing is refused
the second time (one listing per SKU per session: 该规格已挂载到本场直播). An offer is a draft that neither sells
nor moves stock until the host opens it; a second draft from a double click is visible on the page beside the first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.errors import DomainError
from linli.http import Ctx
from linli.live import listings, offers
from linli.web.console_products import chosen, poster_id
from linli.web.console_sessions import refused_here, render_session, session_path
from linli.web import receipts
from linli.web.forms import count_of, fen_of, moment_of
from linli.web.signin import FormState
from linli.web.visitor import CheckedVisitor

router = APIRouter()

Text = Annotated[str, Form(max_length=200)]
ChosenId = Annotated[int | None, Form(ge=1, le=MAX_ID)]
LISTING_FIELDS = {
    "price_invalid": "listing_price", "allocation_invalid": "listing_allocation",
    "per_member_limit_invalid": "listing_limit", "session_status_invalid": "transition",
}
OFFER_FIELDS = {
    "price_invalid": "offer_price", "per_member_limit_invalid": "offer_limit", "offer_title_invalid": "offer_title",
    "offer_window_invalid": "offer_ends_at", "quota_invalid": "offer_quota", "quota_exceeds_allocation": "offer_quota",
    "community_not_found": "offer_community_id", "community_has_no_leader": "offer_community_id",
    "session_status_invalid": "transition",
}


@router.post("/brands/{brand_id}/console/sessions/{session_id}/listings")
async def add_listing(
    request: Request, brand_id: IdPath, session_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    listing_sku_id: ChosenId = None, listing_price: Text = "", listing_allocation: Text = "", listing_limit: Text = "",
) -> Response:
    user_id = poster_id(visitor, session_path(brand_id, session_id))
    form = FormState(values={
        "listing_sku_id": str(listing_sku_id or ""), "listing_price": listing_price,
        "listing_allocation": listing_allocation, "listing_limit": listing_limit,
    })
    field = "listing_sku_id"
    try:
        sku_id = chosen(listing_sku_id, "请选择要挂载的规格", "sku_required")
        field = "listing_price"
        price = fen_of(listing_price, what="直播价")
        field = "listing_allocation"
        allocation = count_of(listing_allocation, label="本场可售数量")
        field = "listing_limit"
        limit = count_of(listing_limit, label="每人限购") if listing_limit.strip() else None  # empty: no limit
        field = "listing_sku_id"  # the SKU (another brand's, archived, already mounted) and the session's status
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await listings.add_listing(
                session=session, brand_id=brand_id, session_id=session_id, sku_id=sku_id, live_price_fen=price,
                allocation=allocation, per_member_limit=limit, now=ctx.clock.now(),
            )
    except DomainError as exc:
        if refused_here(exc):
            raise
        form.refuse(exc, LISTING_FIELDS.get(exc.code, field))
        return await render_session(request, visitor, ctx, brand_id, session_id, form)
    return RedirectResponse(session_path(brand_id, session_id, "listing") + "#listings", status_code=303)


@router.post("/brands/{brand_id}/console/sessions/{session_id}/offers")
async def create_offer(
    request: Request, brand_id: IdPath, session_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    offer_listing_id: ChosenId = None, offer_community_id: ChosenId = None, offer_title: Text = "",
    offer_price: Text = "", offer_quota: Text = "", offer_limit: Text = "", offer_starts_at: Text = "",
    offer_ends_at: Text = "", form_key: Text = "",
) -> Response:
    user_id = poster_id(visitor, session_path(brand_id, session_id))
    form = FormState(values={
        "offer_listing_id": str(offer_listing_id or ""), "offer_community_id": str(offer_community_id or ""),
        "offer_title": offer_title, "offer_price": offer_price, "offer_quota": offer_quota, "offer_limit": offer_limit,
        "offer_starts_at": offer_starts_at, "offer_ends_at": offer_ends_at, "form_key": form_key,
    })
    field = "offer_listing_id"
    try:
        listing_id = chosen(offer_listing_id, "请选择直播商品", "listing_required")
        field = "offer_community_id"
        community_id = chosen(offer_community_id, "请选择小区", "community_required")
        field = "offer_price"
        price = fen_of(offer_price, what="专享价")
        field = "offer_quota"
        quota = count_of(offer_quota, label="专享名额")
        field = "offer_limit"
        limit = count_of(offer_limit, label="每人限购")
        field = "offer_listing_id"
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            brand = await brands.get_brand(session=session, brand_id=brand_id)
            field = "offer_starts_at"
            starts_at = moment_of(offer_starts_at, brand.timezone, label="开始时间")
            field = "offer_ends_at"
            ends_at = moment_of(offer_ends_at, brand.timezone, label="结束时间")
            field = "offer_listing_id"  # the listing (withdrawn, unknown) and the session's status
            await receipts.check(session, user_id=user_id, form_key=form_key)
            await offers.create_offer(
                session=session, brand_id=brand_id, session_id=session_id, now=ctx.clock.now(),
                data=offers.OfferInput(
                    listing_id=listing_id, community_id=community_id, price_fen=price, quota=quota,
                    per_member_limit=limit, starts_at=starts_at, ends_at=ends_at, title=offer_title,
                ),
            )
            await receipts.seal(
                session, user_id=user_id, form_key=form_key, now=ctx.clock.now(),
                result_path=session_path(brand_id, session_id, "offer") + "#offers",
            )
    except receipts.AlreadySubmitted as done:
        return RedirectResponse(done.result_path, status_code=303)
    except DomainError as exc:
        if refused_here(exc):
            raise
        form.refuse(exc, OFFER_FIELDS.get(exc.code, field))
        return await render_session(request, visitor, ctx, brand_id, session_id, form)
    return RedirectResponse(session_path(brand_id, session_id, "offer") + "#offers", status_code=303)
