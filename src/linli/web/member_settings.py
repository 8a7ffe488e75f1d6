"""消息设置 `/me/settings`: for each brand the visitor belongs to, which channels of its pushes to mute (站内信,
短信), as `PUT /api/v1/brands/{id}/me/push-preferences` sets them (`notifications.preferences`). Transactional
messages (pickup codes, arrivals, refunds, the group invitation) are not pushes and always arrive; the page says so.
And the member's birthday for the brand's birthday greeting (`marketing.care`, as `PUT …/me/birthday`): only the
member sees it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.errors import DomainError
from linli.context import AppContext
from linli.http import Ctx
from linli.marketing import care
from linli.members import service as members
from linli.notifications import preferences
from linli.notifications.channels import CHANNEL_TEXT, MUTABLE_CHANNELS
from linli.web.forms import count_of
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()


async def _render(
    request: Request, visitor: Visitor, ctx: AppContext, *, saved: int | None = None,
    refused: tuple[int, FormState] | None = None,
) -> Response:
    user_id = user_id_of(visitor)
    async with ctx.db.read() as session:
        rows = []
        for brand_id in await members.brand_ids_of_user(session=session, user_id=user_id):
            brand = await brands.get_brand(session=session, brand_id=brand_id)
            muted = await preferences.muted_channels(session=session, brand_id=brand_id, user_id=user_id)
            if refused is not None and refused[0] == brand_id:
                form = refused[1]
            else:
                born = await care.birthday_of(session=session, brand_id=brand_id, user_id=user_id)
                form = FormState(values={"month": str(born.month), "day": str(born.day),
                                         "year": str(born.year or "")} if born else {})
            rows.append((brand, muted, form))
    return render(request, visitor, "me_settings.html", rows=rows, channels=MUTABLE_CHANNELS, channel_text=CHANNEL_TEXT,
                  saved=saved, status_code=refused[1].status_code if refused else 200)


@router.get("/me/settings")
async def settings_page(
    request: Request, visitor: SignedIn, ctx: Ctx, saved: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None
) -> Response:
    return await _render(request, visitor, ctx, saved=saved)


@router.post("/me/settings/birthday")
async def save_birthday(
    request: Request, visitor: CheckedVisitor, ctx: Ctx, brand_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
    month: Annotated[str, Form(max_length=8)] = "", day: Annotated[str, Form(max_length=8)] = "",
    year: Annotated[str, Form(max_length=8)] = "", clear: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """生日: month and day (the year optional); 清除 removes it. A refusal is shown beside the month field."""
    if not visitor.signed_in:
        raise SignInRequired("/me/settings")
    form = FormState(values={"month": month, "day": day, "year": year})
    try:
        async with ctx.db.transaction() as session:
            await preferences.require_member(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            if clear:
                await care.clear_birthday(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            else:
                await care.set_birthday(
                    session=session, brand_id=brand_id, user_id=user_id_of(visitor),
                    month=count_of(month, label="月", code="birthday_invalid"),
                    day=count_of(day, label="日", code="birthday_invalid"),
                    year=count_of(year, label="年份", code="birthday_invalid") if year.strip() else None,
                    now=ctx.clock.now(),
                )
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        form.refuse(exc, "month")
        return await _render(request, visitor, ctx, refused=(brand_id, form))
    return RedirectResponse(f"/me/settings?saved={brand_id}", status_code=303)


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
