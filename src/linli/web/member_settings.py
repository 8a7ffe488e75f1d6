"""消息设置 `/me/settings`: for each brand the visitor belongs to, which channels of its pushes to mute (站内信,
短信), as `PUT /api/v1/brands/{id}/me/push-preferences` sets them (`notifications.preferences`). Transactional
messages (pickup codes, arrivals, refunds, the group invitation) are not pushes and always arrive; the page says so.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.http import Ctx
from linli.members import service as members
from linli.notifications import preferences
from linli.notifications.channels import CHANNEL_TEXT, MUTABLE_CHANNELS
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired
from linli.web.workbench import user_id_of

router = APIRouter()


@router.get("/me/settings")
async def settings_page(
    request: Request, visitor: SignedIn, ctx: Ctx, saved: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None
) -> Response:
    user_id = user_id_of(visitor)
    async with ctx.db.read() as session:
        rows = []
        for brand_id in await members.brand_ids_of_user(session=session, user_id=user_id):
            brand = await brands.get_brand(session=session, brand_id=brand_id)
            rows.append((brand, await preferences.muted_channels(session=session, brand_id=brand_id, user_id=user_id)))
    return render(request, visitor, "me_settings.html", rows=rows, channels=MUTABLE_CHANNELS, channel_text=CHANNEL_TEXT,
                  saved=saved)


@router.post("/me/settings")
async def save_settings(
    visitor: CheckedVisitor, ctx: Ctx, brand_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
    muted: Annotated[list[str], Form(max_length=4)] = [],  # noqa: B006 - FastAPI reads the default, never mutates it
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired("/me/settings")
    async with ctx.db.transaction() as session:
        await preferences.set_muted(session=session, brand_id=brand_id, user_id=user_id_of(visitor), muted=set(muted),
                                    now=ctx.clock.now())
    return RedirectResponse(f"/me/settings?saved={brand_id}", status_code=303)
