"""我的社区群 `/me/groups`: the community groups the visitor was invited into after their first paid order — the
group's name, its community, its join link and the QR code drawn from it. Nobody else sees a group's link: another
group's QR is the 404 page, as `GET /api/v1/me/community-groups/{id}/qr.png` answers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from linli import qrcodes
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.community import invites
from linli.errors import Conflict, NotFound
from linli.http import Ctx
from linli.web.templating import render
from linli.web.visitor import SignedIn
from linli.web.workbench import user_id_of

router = APIRouter()


@router.get("/me/groups")
async def groups_page(request: Request, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        rows = await invites.invitations_of(session=session, user_id=user_id_of(visitor))
        places = await brands.communities_by_ids(session=session, community_ids={g.community_id for _, g in rows})
        zones = {g.brand_id: (await brands.get_brand(session=session, brand_id=g.brand_id)).timezone for _, g in rows}
    return render(request, visitor, "me_groups.html", rows=rows, places=places, zones=zones)


@router.get("/me/groups/{group_id}/qr.png")
async def group_qr(group_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        group = await invites.invitation_to(session=session, user_id=user_id_of(visitor), group_id=group_id)
    if group is None:
        raise NotFound("社区群不存在", code="community_group_not_found")
    if not group.join_url:
        raise Conflict("该群暂未设置入群链接", code="join_url_missing")
    return Response(qrcodes.qr_png(group.join_url), media_type="image/png",
                    headers={"Cache-Control": "private, no-store"})
