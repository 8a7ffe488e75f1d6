"""The member's live room `/live/{session_id}`: the stream, the run-of-show, the listings and the community
offers as `live.room_state` gives them, the comments (`live.comments`; posting in `live_comments.py`), updated
live from the room's SSE stream (static/web/live_room.js), buying (`orders.place_order`, with an idempotency
key the page makes when it renders its forms, and a coupon chosen among the member's usable ones for that
listing or offer: `coupons.usable_coupons` and `fits`), and each opening recorded as a visit (`live_visits.py`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.attribution import service as attribution
from linli.brands import service as brands
from linli.brands.models import Community, PickupPoint
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.coupons import service as coupons
from linli.coupons.terms import OrderScope, discount_text
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.live import comments
from linli.live import service as live
from linli.orders import service as orders
from linli.pagination import PageParams
from linli.web import live_visits
from linli.web.signin import FormState, FormText
from linli.web.templating import render, time_filter
from linli.web.visitor import CheckedVisitor, PageVisitor, SignInRequired, Visitor

router = APIRouter()
OptionalId = Annotated[int | None, Form(ge=1, le=2**63 - 1)]
PLAYABLE = (".m3u8", ".mp4")  # what a <video> element plays by itself (HLS natively on phones)
STATUS_TEXT = {"scheduled": "未开播", "live": "直播中", "ended": "已结束", "cancelled": "已取消"}


@dataclass(frozen=True)
class Pickup:
    """Where a buyer collects: a bound member's is their leader's community; anyone else picks one."""

    fixed: tuple[Community, PickupPoint] | None  # the member's own community
    choices: list[tuple[Community, PickupPoint]]  # for a member bound to nobody


@dataclass(frozen=True)
class Buyer:
    leader_id: int | None
    community_id: int | None
    pickup: Pickup


@dataclass(frozen=True)
class CouponChoice:
    """One of the member's coupons a buy form offers: its id, what people read, its terms for the price preview."""

    coupon_id: int
    label: str
    coupon: coupons.MemberCoupon


def new_idempotency_key() -> str:
    """One per form per rendering: a double click sends the same key, so it places one order."""
    return secrets.token_hex(16)


def playable(url: str | None) -> bool:
    return bool(url) and url.split("?", 1)[0].lower().endswith(PLAYABLE)  # type: ignore[union-attr]


async def _buyer(ctx: AppContext, visitor: Visitor, brand_id: int) -> Buyer | None:
    if visitor.user is None:
        return None
    async with ctx.db.read() as session:
        binding = await attribution.member_binding(session=session, brand_id=brand_id, user_id=visitor.user.id, now=ctx.clock.now())
        if binding is not None:
            leader = await leaders.get_leader(session=session, brand_id=brand_id, leader_id=binding.leader_id)
            community = await brands.get_community(session=session, brand_id=brand_id, community_id=leader.community_id)
            point = await brands.get_pickup_point(session=session, community_id=community.id)
            return Buyer(leader.id, community.id, Pickup(fixed=(community, point), choices=[]))
        choices, _ = await brands.list_communities(session=session, brand_id=brand_id, params=PageParams(page=1, page_size=100))
    return Buyer(None, None, Pickup(fixed=None, choices=choices))


async def render_room(
    request: Request, ctx: Ctx, visitor: Visitor, session_id: int, *, form: FormState | None = None,
    form_target: str = "", status_code: int = 200, comment_form: FormState | None = None,
    visit_notice: tuple[str, bool] = ("", False), code: str | None = None,
) -> Response:
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        state = await live.room_state(session=session, session_id=session_id, now=now, user_id=visitor.user.id if visitor.user else None)
        brand = await brands.get_brand(session=session, brand_id=state.live.brand_id)
        recent = await comments.recent_comments(session=session, session_id=session_id)
    buyer = await _buyer(ctx, visitor, brand.id)
    keys = {f"offer-{o.offer.id}": new_idempotency_key() for o in state.offers}
    keys.update({f"listing-{x.listing.id}": new_idempotency_key() for x in state.listings})
    seconds_left = {o.offer.id: max(0, int((o.offer.ends_at - now).total_seconds())) for o in state.offers}
    choices = await _coupon_choices(ctx, visitor, state, buyer, brand.id, brand.timezone)
    return render(
        request, visitor, "live_room.html", status_code=status_code, room=state, session_card=live.session_card(state.live),
        timezone=brand.timezone, status_text=STATUS_TEXT.get(state.live.status, state.live.status),
        playable=playable(state.live.stream_url), buyer=buyer, keys=keys, seconds_left=seconds_left,
        form=form or FormState(), form_target=form_target, blank_form=FormState(values={"quantity": "1"}),
        max_quantity=orders.MAX_QUANTITY, comments=recent, comment_form=comment_form or FormState(), choices=choices,
        comment_max=comments.COMMENT_MAX_LENGTH, visit_notice=visit_notice,
        # Signing in from a room opened through a leader's link comes back through it (and so enters by it).
        next_path=f"/live/{state.live.id}" + (f"?code={quote(code)}" if code else ""),
    )


async def _coupon_choices(
    ctx: AppContext, visitor: Visitor, state: live.RoomState, buyer: Buyer | None, brand_id: int, timezone: str,
) -> dict[str, list[CouponChoice]]:
    """Per buy form, the member's coupons usable now on it. An offer's order goes to the offer's community; a listing's
    to the member's leader's (unknown for a member bound to nobody, whose community-wide coupons are not offered)."""
    if buyer is None or visitor.user is None:
        return {}
    async with ctx.db.read() as session:
        usable = await coupons.usable_coupons(
            session=session, brand_id=brand_id, user_id=visitor.user.id, now=ctx.clock.now()
        )
    if not usable:
        return {}

    def offered(view: live.ListingView, community_id: int | None) -> list[CouponChoice]:
        scope = OrderScope(view.product.id, view.product.category_id, view.listing.session_id, community_id)
        return [
            CouponChoice(c.coupon.id, f"{c.template.name} · {discount_text(c.terms)}"
                         f"（{time_filter(c.coupon.valid_until, timezone)} 前有效）", c)
            for c in coupons.fits(usable, scope)
        ]

    choices = {f"offer-{o.offer.id}": offered(o.listing, o.offer.community_id) for o in state.offers if o.eligible}
    choices.update({f"listing-{x.listing.id}": offered(x, buyer.community_id) for x in state.listings})
    return choices


@router.get("/live/{session_id}")
async def room_page(
    request: Request, ctx: Ctx, visitor: PageVisitor, session_id: IdPath,
    code: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    code = code.strip() if code and code.strip() else None
    notice = await live_visits.record_visit(ctx, visitor, session_id, code)
    return await render_room(request, ctx, visitor, session_id, visit_notice=notice, code=code)


def _quantity(text: str) -> int:
    try:
        quantity = int(text.strip())
    except ValueError:
        quantity = 0
    if not 1 <= quantity <= orders.MAX_QUANTITY:
        raise InvalidInput(f"购买数量须在 1 到 {orders.MAX_QUANTITY} 之间", code="quantity_invalid")
    return quantity


def _field_of(exc: DomainError) -> str:
    """Which field of the buy form a refusal is shown beside."""
    if exc.code == "pickup_point_required":
        return "pickup_community_id"
    return "coupon_id" if exc.code.startswith("coupon_") else "quantity"


@router.post("/live/{session_id}/buy")
async def buy(
    request: Request, ctx: Ctx, visitor: CheckedVisitor, session_id: IdPath, offer_id: OptionalId = None,
    listing_id: OptionalId = None, quantity: FormText = "1", pickup_community_id: OptionalId = None,
    idempotency_key: FormText = "", coupon_id: OptionalId = None,
) -> Response:
    """Places the order (the same key twice: the order it made the first time) and opens it."""
    if visitor.user is None:
        raise SignInRequired(f"/live/{session_id}")
    target = f"offer-{offer_id}" if offer_id is not None else f"listing-{listing_id}"
    form = FormState(values={
        "quantity": quantity.strip(), "pickup_community_id": str(pickup_community_id or ""),
        "coupon_id": str(coupon_id or ""),
    })
    try:
        async with ctx.db.transaction() as session:
            placed = await orders.place_order(
                session=session, user_id=visitor.user.id, listing_id=listing_id, offer_id=offer_id,
                quantity=_quantity(quantity), idempotency_key=idempotency_key, pickup_community_id=pickup_community_id,
                payment_ttl=timedelta(minutes=ctx.settings.order_payment_minutes), now=ctx.clock.now(),
                coupon_id=coupon_id,
            )
            if placed.order.session_id != session_id:  # rolled back: an order only from its own room
                raise InvalidInput("该商品不在本场直播中", code="order_target_invalid")
    except DomainError as exc:
        form.refuse(exc, _field_of(exc))
        return await render_room(request, ctx, visitor, session_id, form=form, form_target=target, status_code=exc.status_code)
    return RedirectResponse(f"/orders/{placed.order.id}", status_code=303)
