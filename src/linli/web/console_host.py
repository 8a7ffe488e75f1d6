"""The host's control panel for one live session, `/brands/{id}/console/sessions/{id}/host` (staff of the brand).

What it shows is the API's staff view of the session (`live.room_state(staff_view=True)`, every listing and
offer) and its funnel (`live.visits.funnel`); what it does are the API's transitions, each after the same
`brands.require_staff` check: 开播, 下一环节, 结束直播, and per community offer 开放, 关闭, 播报. Live figures (the
order ticker, quota and stock left, comments, offers and phases changed by another host) come from the room's
SSE stream (static/web/host_panel.js); the funnel is not on the stream, so the page polls its fragment.

Double submits: opening an open offer, closing a closed one, starting a live session or ending an ended one are
refused by the services; announcing twice within 30 s is refused (429); 下一环节 carries the phase the page
showed (`expected_phase`), so a second press from the same page is refused instead of skipping a phase.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.live import comments, offers, sessions, visits
from linli.live import service as live
from linli.web.console import staff_view
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

HOST = "/brands/{brand_id}/console/sessions/{session_id}/host"
PhaseIndex = Annotated[int, Form(ge=0, le=sessions.MAX_PHASES)]
NoteText = Annotated[str, Form(max_length=200)]
Done = Literal["started", "advanced", "ended", "opened", "closed", "announced"]
DONE_TEXT = {
    "started": "已开播", "advanced": "已切换到下一环节", "ended": "直播已结束",
    "opened": "专享价已开放", "closed": "专享价已关闭", "announced": "已播报到小区",
}
Action = Callable[[AsyncSession, datetime], Awaitable[Any]]


def host_path(brand_id: int, session_id: int) -> str:
    return HOST.format(brand_id=brand_id, session_id=session_id)


def offer_field(offer_id: int) -> str:
    """The key of one offer's row: its refusal, its notice and its note are shown there."""
    return f"offer-{offer_id}"


async def _panel(
    request: Request, ctx: AppContext, visitor: Visitor, brand_id: int, session_id: int, form: FormState,
    notices: dict[str, str] | None = None,
) -> Response:
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        state = await live.room_state(
            session=session, session_id=session_id, now=now, staff_view=True, brand_id=brand_id
        )
        funnel = await visits.funnel(session=session, brand_id=brand_id, session_id=session_id)
        recent = await comments.recent_comments(session=session, session_id=session_id)
    return render(
        request, visitor, "console_host.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="sessions", room=state, card=live.session_card(state.live), funnel=funnel, recent_comments=recent,
        form=form, notices=notices or {}, status_text=live.STATUS_TEXT, offer_status_text=live.OFFER_STATUS_TEXT,
        host=host_path(brand_id, session_id), offer_field=offer_field,
    )


@router.get(HOST)
async def host_panel(
    request: Request, brand_id: IdPath, session_id: IdPath, visitor: SignedIn, ctx: Ctx,
    done: Annotated[Done | None, Query()] = None, offer: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    notices = {}
    if done is not None:  # after an action (post, redirect, get): what it did, beside its button
        notices[offer_field(offer) if offer is not None else done] = DONE_TEXT[done]
    return await _panel(request, ctx, visitor, brand_id, session_id, FormState(), notices)


@router.get(HOST + "/funnel")
async def host_funnel(request: Request, brand_id: IdPath, session_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    """The funnel alone, as the panel polls it (the room's stream does not carry it)."""
    async with ctx.db.read() as session:
        await staff_view(session, brand_id=brand_id, visitor=visitor)
        funnel = await visits.funnel(session=session, brand_id=brand_id, session_id=session_id)
    return render(request, visitor, "console_host_funnel.html", funnel=funnel, host=host_path(brand_id, session_id))


async def _act(
    request: Request, ctx: AppContext, visitor: Visitor, brand_id: int, session_id: int, *, field: str,
    action: Action, done: str, form: FormState | None = None, offer_id: int | None = None,
) -> Response:
    """The API's check and call in one transaction; a refusal is the panel with the message beside `field`."""
    path = host_path(brand_id, session_id)
    if not visitor.signed_in:
        raise SignInRequired(path)
    form = form or FormState()
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            await action(session, ctx.clock.now())
    except DomainError as exc:
        if exc.status_code in (403, 404):  # not theirs, or no such session or offer: the error page
            raise
        form.refuse(exc, field)
        return await _panel(request, ctx, visitor, brand_id, session_id, form)
    query = f"?done={done}" + (f"&offer={offer_id}" if offer_id is not None else "")
    return RedirectResponse(path + query, status_code=303)


@router.post(HOST + "/start")
async def start(request: Request, brand_id: IdPath, session_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    async def action(session: AsyncSession, now: datetime) -> Any:
        return await sessions.start_session(session=session, brand_id=brand_id, session_id=session_id, now=now)

    return await _act(request, ctx, visitor, brand_id, session_id, field="started", action=action, done="started")


@router.post(HOST + "/advance")
async def advance(
    request: Request, brand_id: IdPath, session_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    expected_phase: PhaseIndex,
) -> Response:
    async def action(session: AsyncSession, now: datetime) -> Any:
        return await sessions.advance_phase(
            session=session, brand_id=brand_id, session_id=session_id, now=now, expected_phase=expected_phase
        )

    return await _act(request, ctx, visitor, brand_id, session_id, field="advanced", action=action, done="advanced")


@router.post(HOST + "/end")
async def end(request: Request, brand_id: IdPath, session_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    async def action(session: AsyncSession, now: datetime) -> Any:
        return await sessions.end_session(session=session, brand_id=brand_id, session_id=session_id, now=now)

    return await _act(request, ctx, visitor, brand_id, session_id, field="ended", action=action, done="ended")


@router.post(HOST + "/offers/{offer_id}/open")
async def open_offer(
    request: Request, brand_id: IdPath, session_id: IdPath, offer_id: IdPath, visitor: CheckedVisitor, ctx: Ctx
) -> Response:
    async def action(session: AsyncSession, now: datetime) -> Any:
        return await offers.open_offer(
            session=session, brand_id=brand_id, session_id=session_id, offer_id=offer_id, now=now
        )

    return await _act(
        request, ctx, visitor, brand_id, session_id, field=offer_field(offer_id), action=action, done="opened",
        offer_id=offer_id,
    )


@router.post(HOST + "/offers/{offer_id}/close")
async def close_offer(
    request: Request, brand_id: IdPath, session_id: IdPath, offer_id: IdPath, visitor: CheckedVisitor, ctx: Ctx
) -> Response:
    async def action(session: AsyncSession, now: datetime) -> Any:
        return await offers.close_offer(
            session=session, brand_id=brand_id, session_id=session_id, offer_id=offer_id, now=now
        )

    return await _act(
        request, ctx, visitor, brand_id, session_id, field=offer_field(offer_id), action=action, done="closed",
        offer_id=offer_id,
    )


@router.post(HOST + "/offers/{offer_id}/announce")
async def announce(
    request: Request, brand_id: IdPath, session_id: IdPath, offer_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    note: NoteText = "",
) -> Response:
    """`live.offer_announced` on the room's stream, as `POST …/offers/{id}/announce`; a blank note is none."""
    field = offer_field(offer_id)
    form = FormState(values={"note-" + field: note.strip()})

    async def action(session: AsyncSession, now: datetime) -> Any:
        return await offers.announce_offer(
            session=session, brand_id=brand_id, session_id=session_id, offer_id=offer_id, note=note.strip() or None,
            now=now,
        )

    return await _act(
        request, ctx, visitor, brand_id, session_id, field=field, action=action, done="announced", form=form,
        offer_id=offer_id,
    )
