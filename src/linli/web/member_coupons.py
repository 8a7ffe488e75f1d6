"""我的优惠券 `/me/coupons`: the member's own coupons of one brand, as `GET /api/v1/brands/{id}/coupons/mine` reads
them (`coupons.member_coupons`): 可用 (not used, not expired), 已使用 (with the order that used it) or 已过期, each
with its discount, where it applies and its validity in the brand's time. The brand is chosen as on 我的订单."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from linli.brands import service as brands
from linli.brands.schemas import MAX_ID
from linli.coupons import service as coupons
from linli.coupons import templates
from linli.coupons.terms import discount_text
from linli.http import Ctx
from linli.members import service as members
from linli.pagination import PageParams
from linli.web.templating import render
from linli.web.visitor import SignedIn

router = APIRouter()
PAGE_SIZE = 20
TABS = (("available", "可用"), ("used", "已使用"), ("expired", "已过期"))
STATUS_TEXT = {"available": "可用", "not_yet_valid": "未生效", "used": "已使用", "expired": "已过期"}


@router.get("/me/coupons")
async def my_coupons(
    request: Request, ctx: Ctx, visitor: SignedIn,
    brand_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[Literal["available", "used", "expired"], Query()] = "available",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    assert visitor.user is not None
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        mine = [await brands.get_brand(session=session, brand_id=i)
                for i in await members.brand_ids_of_user(session=session, user_id=visitor.user.id)]
        if brand_id is not None:
            chosen = await brands.get_brand(session=session, brand_id=brand_id)  # unknown: the 404 page
        else:
            chosen = mine[0] if mine else None
        rows: list[coupons.MemberCoupon] = []
        total, scopes = 0, {}
        if chosen is not None:
            rows, total = await coupons.member_coupons(
                session=session, brand_id=chosen.id, user_id=visitor.user.id, status=status,
                params=PageParams(page=page, page_size=PAGE_SIZE), now=now,
            )
            scopes = await templates.scope_texts(
                session=session, brand_id=chosen.id, templates=[r.template for r in rows]
            )
    return render(
        request, visitor, "me_coupons.html", brands=mine, brand=chosen, coupons=rows, total=total, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), status=status, tabs=TABS, status_text=STATUS_TEXT, scopes=scopes,
        discount_text=discount_text,
    )
