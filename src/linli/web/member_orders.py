"""我的订单 `/me/orders`: the member's own orders of one brand, newest first, a page at a time, exactly as
`GET /api/v1/brands/{id}/orders/mine` reads them (`orders.list_member_orders`); each opens `/orders/{id}`.

The member picks the brand among those they belong to (`members.brand_ids_of_user`); a brand they do not
belong to lists nothing, an unknown one is the 404 page, as the API answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from linli.brands import service as brands
from linli.brands.schemas import MAX_ID
from linli.fulfillment import service as fulfillment
from linli.fulfillment import tracking
from linli.http import Ctx
from linli.members import service as members
from linli.orders import service as orders
from linli.orders.models import Order
from linli.pagination import PageParams
from linli.web.templating import render
from linli.web.visitor import SignedIn

router = APIRouter()
PAGE_SIZE = 10
# The order's own status for people (the timeline's words; 待支付 rather than 已下单 for an unpaid order).
STATUS_TEXT = {key: title for key, (_, title) in tracking.ORDER_ENTRIES.items()} | {"pending_payment": "待支付"}


@router.get("/me/orders")
async def my_orders(
    request: Request, ctx: Ctx, visitor: SignedIn,
    brand_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    assert visitor.user is not None
    user_id = visitor.user.id
    params = PageParams(page=page, page_size=PAGE_SIZE)
    async with ctx.db.read() as session:
        brand_ids = await members.brand_ids_of_user(session=session, user_id=user_id)
        mine = [await brands.get_brand(session=session, brand_id=i) for i in brand_ids]
        if brand_id is not None:
            chosen = await brands.get_brand(session=session, brand_id=brand_id)  # unknown: the 404 page
        else:
            chosen = mine[0] if mine else None
        rows: list[Order] = []
        total = 0
        if chosen is not None:
            rows, total = await orders.list_member_orders(
                session=session, user_id=user_id, brand_id=chosen.id, params=params
            )
        # Where each paid order's parcel is (待配送, 待提货, 已提货 …): what the member asks next.
        parcels = {order.id: await fulfillment.find_parcel(session=session, order_id=order.id) for order in rows}
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request, visitor, "me_orders.html", brands=mine, brand=chosen, orders=rows, total=total, page=page,
        pages=pages, parcels=parcels, status_text=STATUS_TEXT, parcel_text=fulfillment.PARCEL_STATUS_NAMES,
    )

