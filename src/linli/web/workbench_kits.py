"""The leader's workbench: my campaign kits (作战包), one per scheduled or live session: the poster to download,
the copy to copy in one tap, the invite link. `marketing.leader_kits` after `leaders.require_active_leader`, as
`GET /api/v1/brands/{id}/leader/kits`; the poster is the API's file (`marketing.kit_poster`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.http import Ctx
from linli.marketing import service as marketing
from linli.web.templating import render
from linli.web.visitor import SignedIn
from linli.web.workbench import user_id_of

router = APIRouter()


@router.get("/brands/{brand_id}/leader/kits")
async def kits_page(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        views = await marketing.leader_kits(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
    return render(request, visitor, "workbench_kits.html", brand=brand, kits=views, tab="kits")


@router.get("/brands/{brand_id}/leader/kits/{kit_id}/poster.png")
async def kit_poster(brand_id: IdPath, kit_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        view = await marketing.leader_kit(session=session, brand_id=brand_id, user_id=user_id_of(visitor), kit_id=kit_id)
        poster = await marketing.kit_poster(session=session, storage=ctx.storage, settings=ctx.settings, brand_id=brand_id, view=view)
    return Response(
        content=poster.png, media_type="image/png",
        headers={"Cache-Control": "private, no-store", "Content-Disposition": f'attachment; filename="{poster.filename}"'},
    )
