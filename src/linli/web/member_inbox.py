"""我的消息 `/me/inbox`: the visitor's own inbox, newest first, unread marked, and marking read (one message,
or all), exactly as `/api/v1/me/notifications…` do (`notifications.list_inbox`, `unread_count`, `mark_read`,
`mark_all_read`): nobody reads or marks another person's message (someone else's id is the 404 page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.http import Ctx
from linli.notifications import service as notifications
from linli.pagination import PageParams
from linli.timefmt import DEFAULT_TIMEZONE
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor

router = APIRouter()
PAGE_SIZE = 20
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
BackPage = Annotated[int, Form(ge=1, le=100_000)]


def _user_id(visitor: Visitor) -> int:
    if visitor.user is None:
        raise SignInRequired("/me/inbox")
    return visitor.user.id


@router.get("/me/inbox")
async def inbox_page(
    request: Request, ctx: Ctx, visitor: SignedIn, page: PageNumber = 1, unread: Annotated[bool, Query()] = False
) -> Response:
    user_id = _user_id(visitor)
    async with ctx.db.read() as session:
        rows, total = await notifications.list_inbox(
            session=session, user_id=user_id, unread_only=unread, params=PageParams(page=page, page_size=PAGE_SIZE)
        )
        unread_total = await notifications.unread_count(session=session, user_id=user_id)
        # Each message in its brand's time zone (a message of no brand in the default one).
        zones = {
            brand_id: (await brands.get_brand(session=session, brand_id=brand_id)).timezone
            for brand_id in {row.brand_id for row in rows if row.brand_id is not None}
        }
    return render(
        request, visitor, "me_inbox.html", messages=rows, total=total, unread=unread_total, unread_only=unread,
        page=page, pages=max(1, -(-total // PAGE_SIZE)), zones=zones, default_zone=DEFAULT_TIMEZONE,
    )


def _back(page: int, unread: str) -> str:
    query = [f"page={page}"] if page > 1 else []
    if unread == "1":
        query.append("unread=true")
    return "/me/inbox" + ("?" + "&".join(query) if query else "")


@router.post("/me/inbox/{notification_id}/read")
async def mark_read(
    ctx: Ctx, visitor: CheckedVisitor, notification_id: IdPath, page: BackPage = 1,
    unread: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    user_id = _user_id(visitor)
    async with ctx.db.transaction() as session:
        await notifications.mark_read(
            session=session, user_id=user_id, notification_id=notification_id, now=ctx.clock.now()
        )
    return RedirectResponse(_back(page, unread), status_code=303)


@router.post("/me/inbox/read-all")
async def mark_all_read(ctx: Ctx, visitor: CheckedVisitor) -> Response:
    user_id = _user_id(visitor)
    async with ctx.db.transaction() as session:
        await notifications.mark_all_read(session=session, user_id=user_id, now=ctx.clock.now())
    return RedirectResponse("/me/inbox", status_code=303)
