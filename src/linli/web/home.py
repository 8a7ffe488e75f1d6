"""The front door, `/`: a signed-in visitor goes to 我的; anyone else reads what linli is and picks a sign-in
(neighbours and leaders by SMS, brand staff by password). Neighbours usually arrive by a leader's invite link."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from linli.web.templating import render
from linli.web.visitor import DEFAULT_NEXT, PageVisitor

router = APIRouter()


@router.get("/")
async def front_door(request: Request, visitor: PageVisitor) -> Response:
    if visitor.signed_in:
        return RedirectResponse(DEFAULT_NEXT, status_code=303)
    return render(request, visitor, "home.html")
