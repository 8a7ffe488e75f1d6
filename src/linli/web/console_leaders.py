"""The brand console, 团长: the applications waiting (approve, or reject with a reason) and the brand's leaders.

Each route does what its API twin does (`leaders/api.py`): `brands.require_staff`, then the same service call.
A double submit is harmless because the service moves a leader only from the status it expects: a second
approval (or rejection) of the same application is refused (409) and changes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.pagination import PageParams
from linli.security import mask_phone
from linli.web.console import staff_view
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

PAGE_SIZE = 100
# The API's ReasonIn allows 500 characters; the service refuses a blank one beside the field.
ReasonText = Annotated[str, Form(max_length=500)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
STATUS_TEXT = {"applied": "待审核", "rejected": "已驳回", "active": "在任", "suspended": "已暂停", "exited": "已退出"}
DONE_TEXT = {"approved": "已通过申请", "rejected": "已驳回申请"}


def require_signed_in(visitor: Visitor, path: str) -> None:
    """A POST whose CSRF token was fine but made for an anonymous visitor: sign in first, nothing done."""
    if not visitor.signed_in:
        raise SignInRequired(path)


def refusal(exc: DomainError, values: dict[str, str]) -> FormState:
    """A refused action as the page shows it again: a missing reason beside the reason field, any other
    refusal (the leader's status moved on meanwhile, a double submit) at the top of the page."""
    if exc.status_code in (403, 404):
        raise exc  # wrong party or unknown id: the error page, as the API answers
    form = FormState(values=values)
    form.refuse(exc, "reason" if exc.code.startswith("reason_") else "action")
    return form


def phone_masked(view: leaders.LeaderView) -> str:
    return mask_phone(view.phone)


async def render_leaders(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, *, page: int = 1,
    form: FormState | None = None, target: int | None = None, done: str | None = None, decided: int | None = None,
) -> Response:
    now = ctx.clock.now()
    params = PageParams(page=page, page_size=PAGE_SIZE)
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        waiting, waiting_total = await leaders.list_leaders(
            session=session, brand_id=brand_id, status="applied", params=PageParams(page=1, page_size=PAGE_SIZE)
        )
        rows, total = await leaders.list_leaders(session=session, brand_id=brand_id, status=None, params=params)
        applications = await leaders.describe_leaders(session=session, brand_id=brand_id, leaders=waiting, now=now)
        views = await leaders.describe_leaders(session=session, brand_id=brand_id, leaders=rows, now=now)
    decided_view = next((v for v in views if v.leader.id == decided), None)
    return render(
        request, visitor, "console_leaders.html", status_code=form.status_code if form else 200,
        staff=staff, brand=staff.brand, tab="leaders", section="leaders", applications=applications,
        waiting_total=waiting_total, views=views, total=total, page=page, page_size=PAGE_SIZE,
        form=form or FormState(), target=target, blank=FormState(), status_text=STATUS_TEXT,
        notice=DONE_TEXT[done] if done in DONE_TEXT and decided_view is not None else None,
        decided=decided_view, phone_masked=phone_masked,
    )


@router.get("/brands/{brand_id}/console/leaders")
async def leaders_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, page: PageNumber = 1,
    done: Annotated[str | None, Query(max_length=16)] = None, leader: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return await render_leaders(request, visitor, ctx, brand_id, page=page, done=done, decided=leader)


def _leaders_path(brand_id: int) -> str:
    return f"/brands/{brand_id}/console/leaders"


@router.post("/brands/{brand_id}/console/leaders/{leader_id}/approve")
async def approve(request: Request, brand_id: IdPath, leader_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    require_signed_in(visitor, _leaders_path(brand_id))
    try:
        async with ctx.db.transaction() as session:
            user_id = user_id_of(visitor)
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await leaders.approve(
                session=session, brand_id=brand_id, leader_id=leader_id, actor_user_id=user_id, now=ctx.clock.now()
            )
    except DomainError as exc:
        form = refusal(exc, {})
        return await render_leaders(request, visitor, ctx, brand_id, form=form, target=leader_id)
    return RedirectResponse(f"{_leaders_path(brand_id)}?done=approved&leader={leader_id}", status_code=303)


@router.post("/brands/{brand_id}/console/leaders/{leader_id}/reject")
async def reject(
    request: Request, brand_id: IdPath, leader_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, reason: ReasonText = ""
) -> Response:
    require_signed_in(visitor, _leaders_path(brand_id))
    try:
        async with ctx.db.transaction() as session:
            user_id = user_id_of(visitor)
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await leaders.reject(
                session=session, brand_id=brand_id, leader_id=leader_id, reason=reason, actor_user_id=user_id,
                now=ctx.clock.now(),
            )
    except DomainError as exc:
        form = refusal(exc, {"reason": reason})
        return await render_leaders(request, visitor, ctx, brand_id, form=form, target=leader_id)
    return RedirectResponse(f"{_leaders_path(brand_id)}?done=rejected&leader={leader_id}", status_code=303)
