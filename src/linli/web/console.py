"""The brand console, home: which brand (a switcher for staff of several brands) and the areas of its console.

Every console page starts with `staff_view`, the same check as the API's (`brands.require_staff`): anyone who is
not this brand's staff (a member, a leader, another brand's staff) gets the Chinese 403 page; an unknown brand 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.models import Brand
from linli.brands.schemas import IdPath
from linli.errors import Forbidden
from linli.http import Ctx
from linli.web.templating import render
from linli.web.visitor import SignedIn, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

ROLE_TEXT = {"owner": "负责人", "operator": "运营"}


@dataclass(frozen=True)
class StaffView:
    """What every console page shows in its header: the brand, the visitor's role, the brands to switch to."""

    brand: Brand
    role: str
    brands: list[Brand]

    @property
    def role_text(self) -> str:
        return ROLE_TEXT.get(self.role, self.role)


async def staff_brands(session: AsyncSession, *, user_id: int) -> list[Brand]:
    ids = await brands.staff_brand_ids(session=session, user_id=user_id)
    if not ids:
        return []
    return list(await session.scalars(select(Brand).where(Brand.id.in_(ids)).order_by(Brand.name, Brand.id)))


async def staff_view(
    session: AsyncSession, *, brand_id: int, visitor: Visitor, roles: tuple[str, ...] = brands.STAFF_ROLES
) -> StaffView:
    """The console's check for a page of this brand: staff of the brand (in one of `roles`) or 403."""
    user_id = user_id_of(visitor)
    role = await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id, roles=roles)
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    return StaffView(brand=brand, role=role, brands=await staff_brands(session, user_id=user_id))


@router.get("/console")
async def choose_brand(request: Request, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        held = await staff_brands(session, user_id=user_id_of(visitor))
    if not held:
        raise Forbidden("仅限品牌员工使用品牌后台", code="staff_only")
    if len(held) == 1:
        return RedirectResponse(f"/brands/{held[0].id}/console", status_code=303)
    return render(request, visitor, "console_choose.html", brands=held)


@router.get("/brands/{brand_id}/console")
async def console_home(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
    return render(request, visitor, "console_home.html", staff=staff, brand=staff.brand, tab="home")
