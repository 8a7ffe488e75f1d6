"""The member's own pages. So far: 我的 (`/me`), where sign-in lands by default."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from linli.security import mask_phone
from linli.web.templating import render
from linli.web.visitor import SignedIn

router = APIRouter()


@router.get("/me")
async def me_page(request: Request, visitor: SignedIn) -> Response:
    assert visitor.user is not None
    user = visitor.user
    return render(
        request, visitor, "me.html", display_name=user.display_name,
        phone=mask_phone(user.phone) if user.phone else "", login_name=user.login_name or "",
    )
