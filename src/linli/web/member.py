"""我的 (`/me`), where sign-in lands by default: the way to the member's own pages (orders, coupons, inbox with its
unread count, leader; `member_orders.py`, `member_coupons.py`, `member_inbox.py`, `member_leader.py`), to the
workbench for an active leader and to the console for brand staff."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from linli.http import Ctx
from linli.leaders import roles
from linli.notifications import service as notifications
from linli.security import mask_phone
from linli.web.console import staff_brands
from linli.web.templating import render
from linli.web.visitor import SignedIn

router = APIRouter()


@router.get("/me")
async def me_page(request: Request, visitor: SignedIn, ctx: Ctx) -> Response:
    assert visitor.user is not None
    user = visitor.user
    async with ctx.db.read() as session:
        leaderships = await roles.active_leaderships(session=session, user_id=user.id)
        staff_of = await staff_brands(session, user_id=user.id)
        unread = await notifications.unread_count(session=session, user_id=user.id)
    return render(
        request, visitor, "me.html", display_name=user.display_name,
        phone=mask_phone(user.phone) if user.phone else "", login_name=user.login_name or "",
        is_leader=bool(leaderships), is_staff=bool(staff_of), unread=unread,
    )
