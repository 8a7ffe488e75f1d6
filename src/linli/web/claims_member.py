"""The member's after-sales pages: the claim form of an order, the claim, and its photos.

Who may see what is the service's own answer, as in the API: an order or a claim the visitor may not see
(someone else's, another point's, another brand's) is the 404 page; staff may read a claim but not file one
(the service's 403). The form posts multipart to the same `aftersales.file_claim` as
`POST /api/v1/orders/{id}/claims`, with its idempotency key made when the form rendered: a double submit files once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from linli.aftersales import photos as photo_rules
from linli.aftersales import service
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.errors import Forbidden
from linli.http import Ctx
from linli.web.claims_common import REASON_CHOICES, claim_form, claim_views, file_from_form
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

ShortText = Annotated[str, Form(max_length=64)]
# Longer than the service's 500 characters, so that its own message (not a bare 422) says what is too long.
LongText = Annotated[str, Form(max_length=2000)]
Photos = Annotated[list[UploadFile] | None, File()]


async def render_new_claim(request: Request, visitor: Visitor, ctx: Ctx, order_id: int, form: FormState) -> Response:
    async with ctx.db.read() as session:
        order, role = await service.visible_order(session=session, order_id=order_id, user_id=user_id_of(visitor))
        if role == "staff":  # the service would refuse the filing: say so before the form is filled in
            raise Forbidden("售后申请由用户本人或其自提点团长提交", code="claim_filer_invalid")
        brand = await brands.get_brand(session=session, brand_id=order.brand_id)
        claimable = await service.claimable_fen(session=session, order=order)
        earlier = await service.claims_for_order(session=session, order_id=order.id)
    return render(
        request, visitor, "claim_new.html", status_code=form.status_code, order=order, brand=brand, form=form,
        claimable_fen=claimable, earlier=earlier, reasons=REASON_CHOICES, max_photos=photo_rules.MAX_PHOTOS,
        max_mb=photo_rules.MAX_PHOTO_BYTES // (1024 * 1024),
    )


@router.get("/orders/{order_id}/claims/new")
async def new_claim_page(request: Request, order_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    return await render_new_claim(request, visitor, ctx, order_id, claim_form())


@router.post("/orders/{order_id}/claims")
async def file_claim(
    request: Request, order_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, reason: ShortText = "",
    quantity: ShortText = "", amount: ShortText = "", description: LongText = "", idempotency_key: ShortText = "",
    photos: Photos = None,
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/orders/{order_id}/claims/new")
    form = claim_form({
        "reason": reason, "quantity": quantity.strip(), "amount": amount.strip(), "description": description,
        "idempotency_key": idempotency_key,
    })
    filing = await file_from_form(
        ctx, user_id=user_id_of(visitor), order_id=order_id, form=form, files=photos or [], order_in_path=True,
    )
    if filing.claim is None:
        return await render_new_claim(request, visitor, ctx, order_id, filing.form)
    return RedirectResponse(f"/claims/{filing.claim.id}", status_code=303)


@router.get("/claims/{claim_id}")
async def claim_page(request: Request, claim_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        claim, role = await service.get_visible_claim(session=session, claim_id=claim_id, user_id=user_id_of(visitor))
        [view] = await claim_views(session, [claim], role=role)
        changes = await service.history(session=session, claim_id=claim.id)
        brand = await brands.get_brand(session=session, brand_id=claim.brand_id)
    return render(request, visitor, "claim.html", view=view, claim=claim, role=role, changes=changes, brand=brand,
                  status_text=service.STATUS_TEXT)


@router.get("/claims/{claim_id}/photos/{photo_id}")
async def claim_photo(claim_id: IdPath, photo_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    """The photo through the service's check (the claim's member, the point's leader, the brand's staff)."""
    async with ctx.db.read() as session:
        photo, data = await service.read_photo(
            session=session, storage=ctx.storage, claim_id=claim_id, photo_id=photo_id, user_id=user_id_of(visitor)
        )
    return Response(
        content=data, media_type=photo.content_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
