"""The leader's workbench: 售后 — the claims of my pickup point (members masked), as
`GET /api/v1/brands/{id}/leader/claims` lists them, and a claim filed on a neighbour's behalf.

The API lets the pickup point's leader file for the member (`aftersales.file_claim` with the leader's own user;
the service checks that the order belongs to the leader's point). The form lists the point's parcels that
arrived or were picked up to choose from; an order of another point is refused beside the choice (订单不存在).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from linli.aftersales import photos as photo_rules
from linli.aftersales import service
from linli.aftersales.models import CLAIM_STATUSES
from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.context import AppContext
from linli.fulfillment import service as fulfillment
from linli.fulfillment.models import PARCEL_ARRIVED, PARCEL_PICKED_UP
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.pagination import PageParams
from linli.web.claims_common import REASON_CHOICES, claim_form, claim_views, file_from_form
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

SHOWN = PageParams(page=1, page_size=50)
CLAIMABLE_PARCELS = (PARCEL_ARRIVED, PARCEL_PICKED_UP)  # picked up, or arrived (a `missing` claim)
ShortText = Annotated[str, Form(max_length=64)]
OrderChoice = Annotated[int | None, Form(ge=1, le=MAX_ID)]  # the select's empty choice arrives as None
LongText = Annotated[str, Form(max_length=2000)]
Photos = Annotated[list[UploadFile] | None, File()]


async def render_leader_claims(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState, *,
    status: str | None = None, filed: int | None = None,
) -> Response:
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        rows, total = await service.list_point_claims(
            session=session, community_id=leader.community_id, status=status, params=SHOWN
        )
        views = await claim_views(session, rows, role="leader")
        parcels, _ = await fulfillment.list_parcels(
            session=session, brand_id=brand_id, community_id=leader.community_id, wave_id=None, status=None,
            params=SHOWN,
        )
    return render(
        request, visitor, "workbench_claims.html", status_code=form.status_code, brand=brand, form=form,
        views=views, total=total, status=status, statuses=[(s, service.STATUS_TEXT[s]) for s in CLAIM_STATUSES],
        parcels=[p for p in parcels if p.parcel.status in CLAIMABLE_PARCELS], reasons=REASON_CHOICES,
        max_photos=photo_rules.MAX_PHOTOS, max_mb=photo_rules.MAX_PHOTO_BYTES // (1024 * 1024),
        filed=next((v for v in views if v.claim.id == filed), None), tab="claims",
    )


@router.get("/brands/{brand_id}/leader/claims")
async def leader_claims_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx,
    status: Annotated[str | None, Query(max_length=16)] = None, filed: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return await render_leader_claims(request, visitor, ctx, brand_id, claim_form(), status=status or None, filed=filed)


@router.post("/brands/{brand_id}/leader/claims")
async def file_for_neighbour(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, order_id: OrderChoice = None,
    reason: ShortText = "", quantity: ShortText = "", amount: ShortText = "", description: LongText = "",
    idempotency_key: ShortText = "", photos: Photos = None,
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/leader/claims")
    async with ctx.db.read() as session:  # the workbench's own check first, as every workbench page
        await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
    form = claim_form({
        "order_id": str(order_id or ""), "reason": reason, "quantity": quantity.strip(), "amount": amount.strip(),
        "description": description, "idempotency_key": idempotency_key,
    })
    if order_id is None:
        form.errors["order_id"] = "请选择邻居的订单"
        form.status_code = 422
        return await render_leader_claims(request, visitor, ctx, brand_id, form)
    filing = await file_from_form(
        ctx, user_id=user_id_of(visitor), order_id=order_id, form=form, files=photos or [], order_in_path=False
    )
    if filing.claim is None:
        return await render_leader_claims(request, visitor, ctx, brand_id, filing.form)
    return RedirectResponse(f"/brands/{brand_id}/leader/claims?filed={filing.claim.id}", status_code=303)
