"""The leader's workbench: the parcels of my pickup point (members masked), the delivery waves on their way
with 「确认到货」, and 核销 by typing the code or scanning the neighbour's pickup QR (`static/web/scan.js` fills
the same field and submits the same form).

A verification runs `fulfillment.pickup.verify_pickup`, exactly what `POST /api/v1/brands/{id}/leader/pickups`
runs. A double submit verifies once: the second finds the parcel picked up and the service refuses it (409),
whose message is shown beside the field. Arrival runs `fulfillment.waves.advance_wave(to="arrived")` with the
leader, as `POST …/leader/delivery-waves/{id}/arrive`; a second submit finds the wave arrived and is refused (409)
without changing anything.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.fulfillment import pickup, waves
from linli.fulfillment import service as fulfillment
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.pagination import PageParams
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

SHOWN = PageParams(page=1, page_size=50)
WAVES_SHOWN = PageParams(page=1, page_size=10)
CodeText = Annotated[str, Form(max_length=64)]


async def render_parcels(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState, verified: list | None = None,
    arrived: int | None = None,
) -> Response:
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        parcels, total = await fulfillment.list_parcels(
            session=session, brand_id=brand_id, community_id=leader.community_id, wave_id=None, status=None, params=SHOWN
        )
        recent, _ = await waves.list_waves(
            session=session, brand_id=brand_id, community_id=leader.community_id, status=None, params=WAVES_SHOWN
        )
        counts = await waves.wave_parcel_counts(session=session, wave_ids={w.id for w in recent})
    return render(
        request, visitor, "workbench_parcels.html", status_code=form.status_code, brand=brand, form=form,
        parcels=parcels, total=total, verified=verified or [], status_names=fulfillment.PARCEL_STATUS_NAMES,
        waves=recent, wave_counts=counts, wave_status_names=waves.WAVE_STATUS_NAMES, arriving=waves.WAVE_IN_TRANSIT,
        arrived=next((w for w in recent if w.id == arrived), None), tab="parcels",
    )


@router.get("/brands/{brand_id}/leader/parcels")
async def parcels_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, arrived: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    return await render_parcels(request, visitor, ctx, brand_id, FormState(), arrived=arrived)


@router.post("/brands/{brand_id}/leader/delivery-waves/{wave_id}/arrive")
async def confirm_arrival(request: Request, brand_id: IdPath, wave_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/leader/parcels")
    try:
        async with ctx.db.transaction() as session:
            leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            await waves.advance_wave(
                session=session, brand_id=brand_id, wave_id=wave_id, to=waves.WAVE_ARRIVED, now=ctx.clock.now(),
                leader=leader,
            )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise  # not this brand's leader, or not a wave of this point: the error page, as the API answers
        form = FormState()
        form.refuse(exc, f"wave-{wave_id}")
        return await render_parcels(request, visitor, ctx, brand_id, form)
    # After a post, a get: reloading the result confirms nothing again.
    return RedirectResponse(f"/brands/{brand_id}/leader/parcels?arrived={wave_id}", status_code=303)


@router.post("/brands/{brand_id}/leader/pickups")
async def verify(request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, code: CodeText = "") -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/leader/parcels")
    form = FormState(values={"code": code.strip()})
    try:
        async with ctx.db.transaction() as session:
            done = await pickup.verify_pickup(
                session=session, brand_id=brand_id, user_id=user_id_of(visitor), raw_code=code, all_of_member=False,
                now=ctx.clock.now(),
            )
            verified = await fulfillment.describe_parcels(session=session, parcels=done)
    except DomainError as exc:
        if exc.status_code == 403:
            raise  # not this brand's active leader: the 403 page, not a message beside the field
        form.refuse(exc, "code")
        return await render_parcels(request, visitor, ctx, brand_id, form)
    form.values["code"] = ""
    form.notice = "已提货：" + "、".join(f"{v.member_name} {v.order.product_name} × {v.order.quantity}" for v in verified)
    return await render_parcels(request, visitor, ctx, brand_id, form, verified)
