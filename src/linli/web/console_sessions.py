"""The brand console: 直播场次 — the brand's sessions and a form to schedule one; a session's page with what the
API lets staff change while it is scheduled (title, start, stream, cover, the run-of-show), 开播 / 结束 / 取消,
and the link to the host's console. Listings and community offers are added in `console_session_setup`.

The same service calls and checks as `live/api.py` (`brands.require_staff`, then `live.sessions.*`; the page reads
the session as the API's staff view, `live.room_state(staff_view=True)`). Times are typed as the brand's wall
clock and stored UTC (`web.forms.moment_of`). 开播 and 结束 move a session once: sent twice, the second is refused
by the session's status and changes nothing. Moving to the next phase is the host's (the host console).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.catalog import service as catalog
from linli.context import AppContext
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.live import service as live
from linli.live import sessions
from linli.pagination import PageParams
from linli.web.console import staff_view
from linli.web.console_products import console_path, page_refusal, poster_id
from linli.web import receipts
from linli.web.forms import count_of, local_input, moment_of, new_key
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor

router = APIRouter()

SHOWN = PageParams(page=1, page_size=100)
Text = Annotated[str, Form(max_length=600)]
Rows = Annotated[list[str], Form()]
Done = Annotated[str | None, Query(max_length=16)]
DONE = {
    "created": "直播场次已创建", "saved": "场次信息已保存", "phases": "节目单已保存", "start": "已开播", "end": "直播已结束",
    "cancel": "场次已取消", "listing": "直播商品已挂载", "offer": "社区专享价已创建（草稿，开播后由主播开放）",
}
# A refusal by the session's status (直播直播中，不能修改) goes beside the status: the forms are gone by then.
SESSION_FIELDS = {
    "session_title_invalid": "title", "scheduled_start_invalid": "scheduled_start", "phases_invalid": "phases",
    "session_status_invalid": "transition",
}
TRANSITIONS = {"start": sessions.start_session, "end": sessions.end_session, "cancel": sessions.cancel_session}


@dataclass(frozen=True)
class PhaseRow:
    """One row of the run-of-show form, as typed (strings), so a refused form shows it again."""

    code: str
    title: str
    minutes: str
    order: str


def session_field(exc: DomainError) -> str:
    # Both URLs are refused with the one code `url_invalid`; the message names which (直播流地址 / 封面图地址).
    if exc.code == "url_invalid":
        return "cover_url" if exc.message.startswith("封面图") else "stream_url"
    return SESSION_FIELDS.get(exc.code, "title")


def session_path(brand_id: int, session_id: int, done: str | None = None) -> str:
    return console_path(brand_id, f"sessions/{session_id}") + (f"?done={done}" if done else "")


def refused_here(exc: DomainError) -> bool:
    """The whole page's refusals, and an unknown session (the 404 page) — never a field's message."""
    return page_refusal(exc) or exc.code == "live_session_not_found"


# --- the list ------------------------------------------------------------------------------------


async def render_sessions(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        rows, total = await live.list_sessions(session=session, brand_id=brand_id, status=None, params=SHOWN)
    form.values.setdefault("scheduled_start", local_input(ctx.clock.now() + timedelta(days=1), staff.brand.timezone))
    form.values.setdefault("form_key", new_key())  # 新建直播 creates once however often it is sent
    return render(
        request, visitor, "console_sessions.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="sessions", form=form, sessions=rows, total=total, status_text=live.STATUS_TEXT,
    )


@router.get("/brands/{brand_id}/console/sessions")
async def sessions_page(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    return await render_sessions(request, visitor, ctx, brand_id, FormState())


@router.post("/brands/{brand_id}/console/sessions")
async def create_session(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, title: Text = "", scheduled_start: Text = "",
    stream_url: Text = "", form_key: Text = "",
) -> Response:
    """New sessions get the default run-of-show (品牌故事 → 社区专享团购 → 添加团长), changed on the session's page."""
    user_id = poster_id(visitor, console_path(brand_id, "sessions"))
    form = FormState(values={
        "title": title, "scheduled_start": scheduled_start, "stream_url": stream_url, "form_key": form_key,
    })
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            brand = await brands.get_brand(session=session, brand_id=brand_id)
            start = moment_of(scheduled_start, brand.timezone, label="开播时间", code="scheduled_start_invalid")
            await receipts.check(session, user_id=user_id, form_key=form_key)
            created = await sessions.create_session(
                session=session, brand_id=brand_id, now=ctx.clock.now(),
                data=sessions.SessionInput(title=title, scheduled_start_at=start, stream_url=stream_url),
            )
            await receipts.seal(
                session, user_id=user_id, form_key=form_key, now=ctx.clock.now(),
                result_path=session_path(brand_id, created.id, "created"),
            )
    except receipts.AlreadySubmitted as done:
        return RedirectResponse(done.result_path, status_code=303)
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, session_field(exc))
        return await render_sessions(request, visitor, ctx, brand_id, form)
    return RedirectResponse(session_path(brand_id, created.id, "created"), status_code=303)


# --- one session ---------------------------------------------------------------------------------


async def render_session(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, session_id: int, form: FormState,
    done: str | None = None, phase_rows: list[PhaseRow] | None = None,
) -> Response:
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        state = await live.room_state(
            session=session, session_id=session_id, now=now, staff_view=True, brand_id=brand_id
        )
        products, _ = await catalog.list_products(session=session, brand_id=brand_id, params=SHOWN, status="active")
        skus = await catalog.skus_of(session=session, product_ids={p.id for p in products})
        communities, _ = await brands.list_communities(session=session, brand_id=brand_id, params=SHOWN)
    tz, current = staff.brand.timezone, state.live
    for name, value in (
        ("title", current.title), ("scheduled_start", local_input(current.scheduled_start_at, tz)),
        ("stream_url", current.stream_url), ("cover_url", current.cover_url),
        ("offer_starts_at", local_input(max(now, current.scheduled_start_at), tz)),
        ("offer_ends_at", local_input(max(now, current.scheduled_start_at) + timedelta(hours=2), tz)),
    ):
        form.values.setdefault(name, value)
    form.values.setdefault("form_key", new_key())  # 新建社区专享价 creates once however often it is sent
    if phase_rows is None:
        phase_rows = [
            PhaseRow(p["code"], p["title"], str(p["minutes"]), str(i + 1)) for i, p in enumerate(current.phases)
        ]
    return render(
        request, visitor, "console_session.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="sessions", form=form, done=DONE.get(done or ""), live=current, listings=state.listings,
        offers=state.offers,
        phase_rows=[*phase_rows, PhaseRow("", "", "", "")], products=products, skus=skus,
        community_options=[(c.id, c.name) for c, _ in communities], status_text=live.STATUS_TEXT,
        offer_status_text=live.OFFER_STATUS_TEXT, editable=current.status == "scheduled",
        setup_open=current.status in ("scheduled", "live"),
    )


@router.get("/brands/{brand_id}/console/sessions/{session_id}")
async def session_page(
    request: Request, brand_id: IdPath, session_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Done = None
) -> Response:
    return await render_session(request, visitor, ctx, brand_id, session_id, FormState(), done)


@router.post("/brands/{brand_id}/console/sessions/{session_id}")
async def update_session(
    request: Request, brand_id: IdPath, session_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, title: Text = "",
    scheduled_start: Text = "", stream_url: Text = "", cover_url: Text = "",
) -> Response:
    user_id = poster_id(visitor, session_path(brand_id, session_id))
    form = FormState(values={
        "title": title, "scheduled_start": scheduled_start, "stream_url": stream_url, "cover_url": cover_url,
    })
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            brand = await brands.get_brand(session=session, brand_id=brand_id)
            start = moment_of(scheduled_start, brand.timezone, label="开播时间", code="scheduled_start_invalid")
            await sessions.update_session(
                session=session, brand_id=brand_id, session_id=session_id, now=ctx.clock.now(),
                patch=sessions.SessionPatch(
                    title=title, scheduled_start_at=start, stream_url=stream_url, cover_url=cover_url
                ),
            )
    except DomainError as exc:
        if refused_here(exc):
            raise
        form.refuse(exc, session_field(exc))
        return await render_session(request, visitor, ctx, brand_id, session_id, form)
    return RedirectResponse(session_path(brand_id, session_id, "saved"), status_code=303)


def typed_phases(rows: list[PhaseRow]) -> list[sessions.PhaseInput]:
    """The rows in the order typed in 顺序 (ties keep their place); a row left empty is no phase (removed)."""
    kept = [(i, row) for i, row in enumerate(rows) if row.code.strip() or row.title.strip() or row.minutes.strip()]
    if len(kept) > sessions.MAX_PHASES:
        raise InvalidInput(f"直播环节须为 1 到 {sessions.MAX_PHASES} 个", code="phases_invalid")
    def place(item: tuple[int, PhaseRow]) -> tuple[int, int]:
        index, row = item
        return (count_of(row.order, label="顺序") if row.order.strip() else index + 1, index)

    ordered = sorted(kept, key=place)
    return [
        sessions.PhaseInput(code=row.code, title=row.title, minutes=count_of(row.minutes, label="环节时长（分钟）"))
        for _, row in ordered
    ]


@router.post("/brands/{brand_id}/console/sessions/{session_id}/phases")
async def update_phases(
    request: Request, brand_id: IdPath, session_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    # FastAPI copies these defaults per request: the empty lists are never shared.
    phase_code: Rows = [], phase_title: Rows = [], phase_minutes: Rows = [], phase_order: Rows = [],  # noqa: B006
) -> Response:
    """The whole run-of-show at once, as the API's PATCH takes it: edit a row, add one in the empty row, clear
    a row to remove it, renumber 顺序 to reorder."""
    user_id = poster_id(visitor, session_path(brand_id, session_id))
    columns = (phase_code, phase_title, phase_minutes, phase_order)
    rows = [PhaseRow(*(c[i] if i < len(c) else "" for c in columns)) for i in range(max(len(c) for c in columns))]
    form = FormState()
    try:
        phases = typed_phases(rows)
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await sessions.update_session(
                session=session, brand_id=brand_id, session_id=session_id, now=ctx.clock.now(),
                patch=sessions.SessionPatch(phases=phases),
            )
    except DomainError as exc:
        if refused_here(exc):
            raise
        form.refuse(exc, SESSION_FIELDS.get(exc.code, "phases"))
        typed = [r for r in rows if any(vars(r).values())]
        return await render_session(request, visitor, ctx, brand_id, session_id, form, phase_rows=typed)
    return RedirectResponse(session_path(brand_id, session_id, "phases"), status_code=303)


def _transition(action: str) -> None:
    """Registers 开播 / 结束直播 / 取消场次 (`start`, `end`, `cancel`), as the API's transitions."""
    move = TRANSITIONS[action]

    @router.post(f"/brands/{{brand_id}}/console/sessions/{{session_id}}/{action}", name=f"console_{action}_session")
    async def transition(
        request: Request, brand_id: IdPath, session_id: IdPath, visitor: CheckedVisitor, ctx: Ctx
    ) -> Response:
        user_id = poster_id(visitor, session_path(brand_id, session_id))
        form = FormState()
        try:
            async with ctx.db.transaction() as session:
                await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
                await move(session=session, brand_id=brand_id, session_id=session_id, now=ctx.clock.now())
        except DomainError as exc:
            if refused_here(exc):
                raise
            form.refuse(exc, "transition")
            return await render_session(request, visitor, ctx, brand_id, session_id, form)
        return RedirectResponse(session_path(brand_id, session_id, action), status_code=303)


for _action in TRANSITIONS:
    _transition(_action)
