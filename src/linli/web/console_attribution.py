"""The brand console, under 团长: moving an exited leader's members to the successor of the same community, and
the leaders' attribution disputes with the staff's decision.

As `attribution/api.py`: `brands.require_staff`, then `attribution.transfer_members` / `list_disputes` /
`resolve_dispute`; members appear as the API shows them to staff (`attribution.presenters.dispute_views`: phone
masked). Both actions are harmless twice: a second transfer finds no member left to move (已转移 0 位), a second decision on the
same dispute is refused (该申诉已处理, 409) and moves nobody.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.attribution import service as attribution
from linli.attribution import presenters
from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.pagination import PageParams
from linli.web.console import staff_view
from linli.web.console_leaders import PAGE_SIZE, PageNumber, ReasonText, refusal, require_signed_in
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

LeaderId = Annotated[int, Form(ge=1, le=MAX_ID)]
DISPUTE_STATUS_TEXT = {"open": "待处理", "upheld": "申诉成立", "rejected": "已驳回"}
DECISION_TEXT = {"upheld": "申诉成立，用户已改绑给申诉团长", "rejected": "已驳回申诉，归属不变"}
ALL = "all"


# --- transfers ------------------------------------------------------------------------------


async def render_transfers(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, *, form: FormState | None = None,
    target: int | None = None, moved: int | None = None,
) -> Response:
    now = ctx.clock.now()
    shown = PageParams(page=1, page_size=PAGE_SIZE)
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        exited, total = await leaders.list_leaders(session=session, brand_id=brand_id, status="exited", params=shown)
        active, _ = await leaders.list_leaders(session=session, brand_id=brand_id, status="active", params=shown)
        sources = await leaders.describe_leaders(session=session, brand_id=brand_id, leaders=exited, now=now)
        successors = await leaders.describe_leaders(session=session, brand_id=brand_id, leaders=active, now=now)
    return render(
        request, visitor, "console_transfers.html", status_code=form.status_code if form else 200, staff=staff,
        brand=staff.brand, tab="leaders", section="transfers", sources=sources, total=total, successors=successors,
        form=form or FormState(), target=target, blank=FormState(), moved=moved,
    )


@router.get("/brands/{brand_id}/console/transfers")
async def transfers_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx,
    moved: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
) -> Response:
    return await render_transfers(request, visitor, ctx, brand_id, moved=moved)


@router.post("/brands/{brand_id}/console/transfers")
async def transfer(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, from_leader_id: LeaderId,
    successor_leader_id: LeaderId,
) -> Response:
    path = f"/brands/{brand_id}/console/transfers"
    require_signed_in(visitor, path)
    try:
        async with ctx.db.transaction() as session:
            user_id = user_id_of(visitor)
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            count = await attribution.transfer_members(
                session=session, brand_id=brand_id, from_leader_id=from_leader_id, to_leader_id=successor_leader_id,
                actor_user_id=user_id, now=ctx.clock.now(),
            )
    except DomainError as exc:
        form = refusal(exc, {"successor_leader_id": str(successor_leader_id)})
        # Every refusal of a transfer is about the successor chosen (or the source's status, said at the top).
        if "action" in form.errors and exc.code != "transfer_leader_not_exited":
            form.errors["successor_leader_id"] = form.errors.pop("action")
        return await render_transfers(request, visitor, ctx, brand_id, form=form, target=from_leader_id)
    return RedirectResponse(f"{path}?moved={count}", status_code=303)


# --- disputes -------------------------------------------------------------------------------


async def render_disputes(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, *, status: str, page: int = 1,
    form: FormState | None = None, target: int | None = None, resolved: str | None = None,
) -> Response:
    params = PageParams(page=page, page_size=PAGE_SIZE)
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        rows, total = await attribution.list_disputes(
            session=session, brand_id=brand_id, status=None if status == ALL else status, params=params
        )
        disputes = await presenters.dispute_views(session, brand_id, rows, viewer_leader_id=None)
    return render(
        request, visitor, "console_disputes.html", status_code=form.status_code if form else 200, staff=staff,
        brand=staff.brand, tab="leaders", section="disputes", disputes=disputes, total=total, status=status,
        page=page, page_size=PAGE_SIZE, form=form or FormState(), target=target, blank=FormState(),
        status_text=DISPUTE_STATUS_TEXT, notice=DECISION_TEXT.get(resolved or ""),
    )


@router.get("/brands/{brand_id}/console/disputes")
async def disputes_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, page: PageNumber = 1,
    status: Annotated[str, Query(max_length=16)] = "open", resolved: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    return await render_disputes(request, visitor, ctx, brand_id, status=status, page=page, resolved=resolved)


@router.post("/brands/{brand_id}/console/disputes/{dispute_id}/resolve")
async def resolve(
    request: Request, brand_id: IdPath, dispute_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    decision: Annotated[str, Form(max_length=16)] = "", reason: ReasonText = "",
) -> Response:
    path = f"/brands/{brand_id}/console/disputes"
    require_signed_in(visitor, path)
    try:
        async with ctx.db.transaction() as session:
            user_id = user_id_of(visitor)
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await attribution.resolve_dispute(
                session=session, brand_id=brand_id, dispute_id=dispute_id, decision=decision, reason=reason,
                actor_user_id=user_id, now=ctx.clock.now(),
            )
    except DomainError as exc:
        form = refusal(exc, {"reason": reason})
        return await render_disputes(request, visitor, ctx, brand_id, status="open", form=form, target=dispute_id)
    return RedirectResponse(f"{path}?status={ALL}&resolved={decision}", status_code=303)
