"""The brand console: one delivery wave — where it goes, its steps (截单 → 已打包 → 配送中 → 已到自提点) with
the button for the next one, and its parcels (members masked, as `GET /api/v1/brands/{id}/parcels?wave_id=`
shows them to staff).

A step runs exactly what `POST /api/v1/brands/{id}/delivery-waves/{wave_id}/status` runs
(`brands.require_staff`, then `fulfillment.waves.advance_wave`). A double submit moves the wave once: the
second post asks for the step the wave is already at, and the service refuses it (批次当前为「已打包」，不能变为
「已打包」, 409), which the page shows beside the steps, having changed nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.fulfillment import service as fulfillment
from linli.fulfillment import waves
from linli.fulfillment.models import WAVE_ARRIVED, WAVE_IN_TRANSIT, WAVE_OPEN, WAVE_PACKED
from linli.http import Ctx
from linli.pagination import PageParams
from linli.web.console import staff_view
from linli.web.console_waves import wave_rows
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

PAGE_SIZE = 100
StepText = Annotated[str, Form(max_length=16)]
# The steps in order: (status, what the step is called, the wave's timestamp of it, the button that takes it).
STEPS = (
    (WAVE_OPEN, "已截单", "created_at", ""),
    (WAVE_PACKED, "已打包", "packed_at", "标记已打包"),
    (WAVE_IN_TRANSIT, "配送中", "shipped_at", "标记已发出"),
    (WAVE_ARRIVED, "已到自提点", "arrived_at", "标记已到自提点"),
)
DONE_TEXT = {"cut": "已截单：以下包裹进入本波次", **{status: f"已标记为「{name}」" for status, name, _, _ in STEPS[1:]}}


def next_step(status: str) -> tuple[str, str] | None:
    """The one step the service lets this wave take now (status, button), or None once it has arrived."""
    for (current, *_), (following, _, _, button) in zip(STEPS, STEPS[1:]):
        if current == status:
            return following, button
    return None


async def render_wave(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, wave_id: int, form: FormState, *,
    page: int = 1,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        wave = await waves.get_wave(session=session, brand_id=brand_id, wave_id=wave_id)
        [row] = await wave_rows(session, brand_id=brand_id, rows=[wave])
        parcels, total = await fulfillment.list_parcels(
            session=session, brand_id=brand_id, community_id=None, wave_id=wave.id, status=None,
            params=PageParams(page=page, page_size=PAGE_SIZE),
        )
    return render(
        request, visitor, "console_wave.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="waves", form=form, row=row, wave=wave, steps=STEPS, reached=[s for s, *_ in STEPS].index(wave.status),
        next_step=next_step(wave.status), parcels=parcels, total=total, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), wave_status_names=waves.WAVE_STATUS_NAMES,
        parcel_status_names=fulfillment.PARCEL_STATUS_NAMES,
    )


@router.get("/brands/{brand_id}/console/waves/{wave_id}")
async def wave_page(
    request: Request,
    brand_id: IdPath,
    wave_id: IdPath,
    visitor: SignedIn,
    ctx: Ctx,
    done: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return await render_wave(
        request, visitor, ctx, brand_id, wave_id, FormState(notice=DONE_TEXT.get(done or "", "")), page=page
    )


@router.post("/brands/{brand_id}/console/waves/{wave_id}/status")
async def advance(
    request: Request, brand_id: IdPath, wave_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, status: StepText = ""
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/console/waves/{wave_id}")
    form = FormState()
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            await waves.advance_wave(
                session=session, brand_id=brand_id, wave_id=wave_id, to=status, now=ctx.clock.now()
            )
    except DomainError as exc:
        if exc.code not in ("wave_status_conflict", "wave_status_invalid"):
            raise  # not staff (403), an unknown brand or wave (404): the error page
        form.refuse(exc, "status")
        return await render_wave(request, visitor, ctx, brand_id, wave_id, form)
    return RedirectResponse(f"/brands/{brand_id}/console/waves/{wave_id}?done={status}", status_code=303)
