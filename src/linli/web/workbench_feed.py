"""The leader's workbench: 邻里动态 — the approved 晒单 and 食谱 of the leader's own community, newest first, authors
masked (小*), as `GET /api/v1/brands/{id}/communities/{community_id}/feed` answers the leader."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.community import posts
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.pagination import PageParams
from linli.web.templating import render
from linli.web.visitor import SignedIn
from linli.web.workbench import user_id_of

router = APIRouter()
PAGE_SIZE = 20


@router.get("/brands/{brand_id}/leader/feed")
async def feed_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> Response:
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        place = await brands.get_community(session=session, brand_id=brand_id, community_id=leader.community_id)
        rows, total = await posts.feed(session=session, community_id=leader.community_id,
                                       params=PageParams(page=page, page_size=PAGE_SIZE))
        views = await posts.views(session=session, posts=rows, viewer_user_id=user_id_of(visitor), staff=False)
    return render(request, visitor, "workbench_feed.html", brand=brand, place=place, views=views, total=total,
                  page=page, pages=max(1, -(-total // PAGE_SIZE)), tab="feed", kinds=posts.KINDS)
