"""The brand console: 售后 — the queue of claims (by state; waiting ones oldest first), a claim with its photos,
and the decision: 同意 (the amount asked), 部分同意 (an amount in yuan, with a reason) or 驳回 (with a reason).

Access is `staff_view` (the API's `brands.require_staff`) and then the claim as `GET /api/v1/claims/{id}` reads it,
of this brand only. A decision is `aftersales.decide_claim`, exactly as `POST …/claims/{id}/decision`: it locks
the claim and refuses one that is no longer waiting (409 该售后申请已处理), so a double submit decides once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.aftersales import service
from linli.aftersales.models import CLAIM_REVIEWING, CLAIM_STATUSES
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError, NotFound
from linli.http import Ctx
from linli.pagination import PageParams
from linli.web.claims_common import claim_views
from linli.web.console import staff_view
from linli.web.forms import fen_of
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

SHOWN = PageParams(page=1, page_size=50)
ALL = "all"
ShortText = Annotated[str, Form(max_length=32)]
ReasonText = Annotated[str, Form(max_length=1000)]  # longer than the service's 200, so its own message says so
DECISIONS = (("approve", "同意（全额退款）"), ("partial", "部分同意（填写金额与原因）"), ("reject", "驳回（填写原因）"))
# Which field a refusal of the decision is shown beside; anything else (already decided …) beside the choice.
FIELD_OF = {
    "claim_amount_invalid": "amount", "claim_amount_exceeds_asked": "amount", "amount_invalid": "amount",
    "claim_decision_reason_required": "reason", "claim_decision_reason_too_long": "reason",
}


@router.get("/brands/{brand_id}/console/claims")
async def claims_queue(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx,
    status: Annotated[str, Query(max_length=16)] = CLAIM_REVIEWING,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        rows, total = await service.list_brand_claims(
            session=session, brand_id=brand_id, status=None if status == ALL else status, params=SHOWN
        )
        views = await claim_views(session, rows, role="staff")
    return render(
        request, visitor, "console_claims.html", staff=staff, brand=staff.brand, tab="claims", views=views,
        total=total, status=status, statuses=[(s, service.STATUS_TEXT[s]) for s in CLAIM_STATUSES] + [(ALL, "全部")],
    )


async def render_claim(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, claim_id: int, form: FormState,
    decided: bool = False,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        claim, _ = await service.get_visible_claim(session=session, claim_id=claim_id, user_id=user_id_of(visitor))
        if claim.brand_id != brand_id:
            raise NotFound("售后单不存在", code="claim_not_found")
        [view] = await claim_views(session, [claim], role="staff")
        changes = await service.history(session=session, claim_id=claim.id)
    return render(
        request, visitor, "console_claim.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="claims", view=view, claim=claim, changes=changes, status_text=service.STATUS_TEXT, form=form,
        decisions=DECISIONS, decided=decided,
    )


@router.get("/brands/{brand_id}/console/claims/{claim_id}")
async def claim_page(
    request: Request, brand_id: IdPath, claim_id: IdPath, visitor: SignedIn, ctx: Ctx, decided: bool = False
) -> Response:
    return await render_claim(request, visitor, ctx, brand_id, claim_id, FormState(), decided=decided)


@router.post("/brands/{brand_id}/console/claims/{claim_id}/decision")
async def decide(
    request: Request, brand_id: IdPath, claim_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    decision: ShortText = "", amount: ShortText = "", reason: ReasonText = "",
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/console/claims/{claim_id}")
    form = FormState(values={"decision": decision, "amount": amount.strip(), "reason": reason})
    try:
        amount_fen = fen_of(amount, what="同意退款金额") if decision == "partial" else None
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            await service.decide_claim(
                session=session, brand_id=brand_id, claim_id=claim_id, actor_user_id=user_id_of(visitor),
                decision=decision, amount_fen=amount_fen, reason=reason or None, now=ctx.clock.now(),
            )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        form.refuse(exc, FIELD_OF.get(exc.code, "decision"))
        return await render_claim(request, visitor, ctx, brand_id, claim_id, form)
    # After a post, a get: reloading the page decides nothing again.
    return RedirectResponse(f"/brands/{brand_id}/console/claims/{claim_id}?decided=true", status_code=303)
