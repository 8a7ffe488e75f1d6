"""提货 `/orders/{id}/pickup`: the member's pickup code as a big number and a regular QR code, the pickup
point (name, address, opening hours, its published contact) and where the parcel is (待到货 / 可提货 / 已提货).

Exactly `GET /api/v1/orders/{id}/pickup-code` and its `qr.png`: `fulfillment.member_parcel` and
`member_open_code` check that the order is the visitor's own (anyone else's, or an unpaid order without a
parcel, is the 404 page); the code is shown only while the parcel can be collected (`open_code`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from linli import qrcodes
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.fulfillment import service as fulfillment
from linli.fulfillment.models import PARCEL_ARRIVED, PARCEL_IN_TRANSIT, PARCEL_PACKED, PARCEL_PICKED_UP, PARCEL_WAITING
from linli.http import Ctx
from linli.orders import service as orders
from linli.web.templating import render
from linli.web.visitor import SignedIn

router = APIRouter()
# What the member asks: has it come, can I collect it, did I. Other states keep the parcel's own name.
STATE_TEXT = {
    PARCEL_WAITING: "待到货", PARCEL_PACKED: "待到货", PARCEL_IN_TRANSIT: "待到货", PARCEL_ARRIVED: "可提货",
    PARCEL_PICKED_UP: "已提货",
}


@router.get("/orders/{order_id}/pickup")
async def pickup_page(request: Request, ctx: Ctx, visitor: SignedIn, order_id: IdPath) -> Response:
    assert visitor.user is not None
    async with ctx.db.read() as session:
        parcel = await fulfillment.member_parcel(session=session, user_id=visitor.user.id, order_id=order_id)
        point = await brands.get_pickup_point(session=session, community_id=parcel.community_id)
        order = await orders.get_own_order(session=session, user_id=visitor.user.id, order_id=order_id)
        brand = await brands.get_brand(session=session, brand_id=order.brand_id)
    state = STATE_TEXT.get(parcel.status, fulfillment.PARCEL_STATUS_NAMES[parcel.status])
    return render(
        request, visitor, "order_pickup.html", order=order, parcel=parcel, point=point, state=state,
        timezone=brand.timezone,
    )


@router.get("/orders/{order_id}/pickup/qr.png")
async def pickup_qr(visitor: SignedIn, ctx: Ctx, order_id: IdPath) -> Response:
    """The code as a regular QR code (a phone or WeChat scanner reads it; Micro QR it would not), as the API's."""
    assert visitor.user is not None
    async with ctx.db.read() as session:
        code = await fulfillment.member_open_code(session=session, user_id=visitor.user.id, order_id=order_id)
    return Response(
        content=qrcodes.qr_png(code), media_type="image/png", headers={"Cache-Control": "private, no-store"}
    )
