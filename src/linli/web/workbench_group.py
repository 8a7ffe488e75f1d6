"""The leader's workbench: 社区群 — the leader's own community group (its name, how many neighbours were invited),
its join link, which the leader pastes (a WeChat group invite link), and the QR code drawn from it.

As the API (`community.api`): `leaders.require_active_leader` first, then `community.set_join_url_as_leader`, which
makes the group with its default name when the community has none yet. Setting the link the first time invites
every neighbour who already paid there (the worker, on `community.group_ready`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli import qrcodes
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.community import service as community
from linli.context import AppContext
from linli.errors import Conflict, DomainError
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()
UrlText = Annotated[str, Form(max_length=600)]


async def render_group(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState | None = None,
    saved: bool = False,
) -> Response:
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        place = await brands.get_community(session=session, brand_id=brand_id, community_id=leader.community_id)
        group = await community.group_of_community(session=session, community_id=leader.community_id)
        invited = await community.invited_count(session=session, group_id=group.id) if group else 0
    form = form or FormState(values={"join_url": (group.join_url or "") if group else ""})
    return render(
        request, visitor, "workbench_group.html", status_code=form.status_code, brand=brand, place=place, group=group,
        invited=invited, form=form, saved=saved, tab="group",
        default_name=community.default_name(community_name=place.name, brand_name=brand.name),
    )


@router.get("/brands/{brand_id}/leader/group")
async def group_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, saved: Annotated[bool, Query()] = False
) -> Response:
    return await render_group(request, visitor, ctx, brand_id, saved=saved)


@router.post("/brands/{brand_id}/leader/group")
async def save_join_link(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, join_url: UrlText = ""
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/leader/group")
    form = FormState(values={"join_url": join_url.strip()})
    try:
        async with ctx.db.transaction() as session:
            leader = await leaders.require_active_leader(
                session=session, brand_id=brand_id, user_id=user_id_of(visitor)
            )
            await community.set_join_url_as_leader(session=session, leader=leader, join_url=join_url,
                                                   allow_loopback=ctx.settings.dev_mode, now=ctx.clock.now())
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        form.refuse(exc, "join_url")
        return await render_group(request, visitor, ctx, brand_id, form=form)
    return RedirectResponse(f"/brands/{brand_id}/leader/group?saved=true", status_code=303)


@router.get("/brands/{brand_id}/leader/group/qr.png")
async def join_qr(brand_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        group = await community.group_of_community(session=session, community_id=leader.community_id)
    if group is None or not group.join_url:
        raise Conflict("社区群还没有入群链接", code="join_url_missing")
    return Response(qrcodes.qr_png(group.join_url), media_type="image/png",
                    headers={"Cache-Control": "private, no-store"})
