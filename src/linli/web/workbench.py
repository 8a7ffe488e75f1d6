"""The leader's workbench, home: badge, level and rights, the invite code with its link, QR code and share
image, today's and this month's orders and commission. `/leader` chooses the brand when there are several.

Every page checks `leaders.require_active_leader` first, as the API does: anyone who is not this brand's
active leader (a member, staff, another brand's leader) gets the Chinese 403 page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli import qrcodes
from linli.brands.schemas import IdPath
from linli.errors import Forbidden
from linli.http import Ctx
from linli.leaders import invite_codes, roles, share_image
from linli.leaders import service as leaders
from linli.ledger import service as ledger
from linli.ledger import statements
from linli.ledger.models import TX_ACCRUAL
from linli.payouts import service as payouts
from linli.web.templating import render
from linli.web.visitor import SignedIn, Visitor

router = APIRouter()


def user_id_of(visitor: Visitor) -> int:
    assert visitor.user is not None  # SignedIn made sure
    return visitor.user.id


@dataclass(frozen=True)
class PeriodFigures:
    """What the leader's attributed orders did in a day or month, read off the ledger's statement."""

    label: str
    orders: int
    paid_fen: int
    commission_fen: int


async def period_figures(session: AsyncSession, *, brand_id: int, leader_id: int, period: str, now: datetime, timezone: str) -> PeriodFigures:
    on = now.astimezone(ZoneInfo(timezone)).date()
    statement = await statements.leader_statement(session=session, brand_id=brand_id, leader_id=leader_id, period=period, on=on)
    accrued = [line for line in statement.lines if line.kind == TX_ACCRUAL and line.order is not None]
    return PeriodFigures(
        label=statement.label,
        orders=len(accrued),
        paid_fen=sum(line.order.paid_fen for line in accrued if line.order is not None),
        commission_fen=sum(line.moved.pending_fen for line in accrued),
    )


@router.get("/leader")
async def choose_brand(request: Request, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        held = await roles.active_leaderships(session=session, user_id=user_id_of(visitor))
    if not held:
        raise Forbidden("您还不是在任团长，申请通过后即可使用团长工作台", code="leader_only")
    if len(held) == 1:
        return RedirectResponse(f"/brands/{held[0][1].id}/leader", status_code=303)
    return render(request, visitor, "workbench_choose.html", brands=[brand for _, brand in held])


@router.get("/brands/{brand_id}/leader")
async def workbench_home(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    now = ctx.clock.now()
    user_id = user_id_of(visitor)
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id)
        profile = await leaders.leader_profile(session=session, brand_id=brand_id, user_id=user_id, now=now)
        timezone = profile.brand.timezone
        today = await period_figures(session, brand_id=brand_id, leader_id=leader.id, period="day", now=now, timezone=timezone)
        month = await period_figures(session, brand_id=brand_id, leader_id=leader.id, period="month", now=now, timezone=timezone)
        balances = await ledger.leader_balances(session=session, brand_id=brand_id, leader_id=leader.id)
        paid_out_fen = await payouts.paid_out_fen(session=session, leader_id=leader.id)
    code = profile.current_code.code if profile.current_code is not None else None
    return render(
        request, visitor, "workbench.html", brand=profile.brand, profile=profile, level=profile.view.progress.level,
        progress=profile.view.progress, code=code,
        link=invite_codes.invite_link(base_url=ctx.settings.public_base_url, code=code) if code else "",
        today=today, month=month, balances=balances, paid_out_fen=paid_out_fen, tab="home",
    )


@router.get("/brands/{brand_id}/leader/qr.png")
async def invite_qr(brand_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        invite = await leaders.current_invite_code(session=session, leader_id=leader.id)
    link = invite_codes.invite_link(base_url=ctx.settings.public_base_url, code=invite.code)
    return Response(content=qrcodes.qr_png(link), media_type="image/png", headers={"Cache-Control": "private, no-store"})


@router.get("/brands/{brand_id}/leader/share-image.png")
async def share_poster(brand_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        poster = await share_image.invite_poster_file(
            session=session, brand_id=brand_id, user_id=user_id_of(visitor), settings=ctx.settings
        )
    return Response(
        content=poster.png, media_type="image/png",
        headers={"Cache-Control": "private, no-store", "Content-Disposition": f'attachment; filename="{poster.filename}"'},
    )
