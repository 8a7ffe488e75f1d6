"""The brand console, one leader: everything staff see of them (as `GET /api/v1/brands/{b}/leaders/{id}`, the
full phone included) and the actions the API offers on a leader: suspend, reinstate, exit, revoke the codes.

The status moves are the service's: each only from the status it expects, so a double submit is refused the
second time (409, shown at the top of the page) and changes nothing; revoking codes twice revokes nothing more.
There is no manual level change: a level follows from the bound members (`leaders.level_progress`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.web.console import staff_view
from linli.web.console_leaders import STATUS_TEXT, ReasonText, refusal, require_signed_in
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

DONE_TEXT = {
    "suspended": "已暂停该团长：邀请码暂不可用，可随时恢复",
    "reinstated": "已恢复该团长",
    "exited": "该团长已退出，邀请码已全部作废；其绑定用户可转给同小区的继任团长",
    "revoked": "已作废该团长的全部邀请码",
}
ACTIONS = ("suspend", "reinstate", "exit", "revoke")


def _path(brand_id: int, leader_id: int) -> str:
    return f"/brands/{brand_id}/console/leaders/{leader_id}"


async def render_leader(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, leader_id: int, *,
    form: FormState | None = None, action: str | None = None, done: str | None = None,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        detail = await leaders.leader_detail(session=session, brand_id=brand_id, leader_id=leader_id, now=ctx.clock.now())
    forms = {name: FormState() for name in ACTIONS}
    if form is not None and action is not None:
        forms[action] = form
    return render(
        request, visitor, "console_leader.html", status_code=form.status_code if form else 200,
        staff=staff, brand=staff.brand, tab="leaders", section="leaders", detail=detail, view=detail.view,
        leader=detail.view.leader, forms=forms, form=form or FormState(), status_text=STATUS_TEXT,
        notice=DONE_TEXT.get(done or ""),
    )


@router.get("/brands/{brand_id}/console/leaders/{leader_id}")
async def leader_page(
    request: Request, brand_id: IdPath, leader_id: IdPath, visitor: SignedIn, ctx: Ctx,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    return await render_leader(request, visitor, ctx, brand_id, leader_id, done=done)


Change = Callable[[AsyncSession, int], Awaitable[object]]


async def _act(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, leader_id: int, *, action: str, done: str,
    change: Change, values: dict[str, str],
) -> Response:
    """The API's order for every staff action on a leader: `require_staff`, then the service call, in one
    transaction; a refusal renders the page again with nothing written."""
    require_signed_in(visitor, _path(brand_id, leader_id))
    try:
        async with ctx.db.transaction() as session:
            user_id = user_id_of(visitor)
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await change(session, user_id)
    except DomainError as exc:
        form = refusal(exc, values)
        return await render_leader(request, visitor, ctx, brand_id, leader_id, form=form, action=action)
    return RedirectResponse(f"{_path(brand_id, leader_id)}?done={done}", status_code=303)


@router.post("/brands/{brand_id}/console/leaders/{leader_id}/suspend")
async def suspend(
    request: Request, brand_id: IdPath, leader_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, reason: ReasonText = ""
) -> Response:
    async def change(session: AsyncSession, user_id: int) -> object:
        return await leaders.suspend(
            session=session, brand_id=brand_id, leader_id=leader_id, reason=reason, actor_user_id=user_id,
            now=ctx.clock.now(),
        )

    return await _act(
        request, visitor, ctx, brand_id, leader_id, action="suspend", done="suspended", change=change,
        values={"reason": reason},
    )


@router.post("/brands/{brand_id}/console/leaders/{leader_id}/reinstate")
async def reinstate(request: Request, brand_id: IdPath, leader_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    async def change(session: AsyncSession, user_id: int) -> object:
        return await leaders.reinstate(
            session=session, brand_id=brand_id, leader_id=leader_id, actor_user_id=user_id, now=ctx.clock.now()
        )

    return await _act(
        request, visitor, ctx, brand_id, leader_id, action="reinstate", done="reinstated", change=change, values={}
    )


@router.post("/brands/{brand_id}/console/leaders/{leader_id}/exit")
async def exit_leader(
    request: Request, brand_id: IdPath, leader_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, reason: ReasonText = ""
) -> Response:
    async def change(session: AsyncSession, user_id: int) -> object:
        return await leaders.exit_leader(
            session=session, brand_id=brand_id, leader_id=leader_id, reason=reason, actor_user_id=user_id,
            now=ctx.clock.now(),
        )

    return await _act(
        request, visitor, ctx, brand_id, leader_id, action="exit", done="exited", change=change,
        values={"reason": reason},
    )


@router.post("/brands/{brand_id}/console/leaders/{leader_id}/invite-code/revoke")
async def revoke_codes(request: Request, brand_id: IdPath, leader_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    async def change(session: AsyncSession, user_id: int) -> object:
        return await leaders.revoke_invite_codes(
            session=session, brand_id=brand_id, leader_id=leader_id, now=ctx.clock.now()
        )

    return await _act(
        request, visitor, ctx, brand_id, leader_id, action="revoke", done="revoked", change=change, values={}
    )
