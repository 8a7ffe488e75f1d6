"""The invite link `/i/{code}`: a leader's landing page, and joining through it (sign-in by SMS, then the entry
through the code under the brand's binding policy, told in Chinese)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli.attribution import service as attribution
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.live import service as live
from linli.live.models import LiveSession
from linli.pagination import PageParams
from linli.security import mask_name
from linli.web.signin import FormState, FormText, send_code, sms_sign_in
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, PageVisitor, Visitor, set_session_cookie

router = APIRouter()
CodePath = Annotated[str, Path(min_length=1, max_length=64)]


@dataclass(frozen=True)
class Landing:
    code: str
    badge: str
    leader_name: str  # masked: the page is public
    community_name: str
    brand_name: str
    timezone: str
    session: LiveSession | None  # the brand's current live session, else its next one


@dataclass(frozen=True)
class Told:
    """What an entry did, for people: a heading and a sentence, never a raw code."""

    title: str
    text: str
    tone: str  # ok, info, warn
    yours: bool = False  # the visitor is bound to this code's leader


async def _next_or_current_session(session: AsyncSession, brand_id: int) -> LiveSession | None:
    one = PageParams(page=1, page_size=1)
    for status in ("live", "scheduled"):
        rows, _ = await live.list_sessions(session=session, brand_id=brand_id, status=status, params=one)
        if rows:
            return rows[0]
    return None


async def _landing(ctx: AppContext, code: str) -> Landing:
    async with ctx.db.read() as session:
        found = await leaders.resolve_invite(session=session, raw_code=code, now=ctx.clock.now())
        upcoming = await _next_or_current_session(session, found.brand.id)
    return Landing(
        code=found.invite.code, badge=found.badge, leader_name=mask_name(found.leader.real_name),
        community_name=found.community.name, brand_name=found.brand.name, timezone=found.brand.timezone,
        session=upcoming,
    )


async def _leader_card(session: AsyncSession, brand_id: int, leader_id: int) -> attribution.LeaderInfo:
    _, infos = await attribution.describe(session=session, brand_id=brand_id, member_ids=set(), leader_ids={leader_id})
    return infos[leader_id]


async def _standing(ctx: AppContext, visitor: Visitor, code: str) -> Told | None:
    """A signed-in visitor's binding in the code's brand, said as the member's own binding page says it."""
    if visitor.user is None:
        return None
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        found = await leaders.resolve_invite(session=session, raw_code=code, now=now)
        binding = await attribution.member_binding(session=session, brand_id=found.brand.id, user_id=visitor.user.id, now=now)
        if binding is None:
            return None
        mine = await _leader_card(session, found.brand.id, binding.leader_id)
    if binding.leader_id == found.leader.id:
        return Told("已绑定", f"您已是{mine.name}的邻居（{mine.community_name}）", "ok", yours=True)
    return Told("您已有团长", f"您的团长是{mine.name}（{mine.community_name}）", "info")


def _told(outcome: attribution.EntryOutcome, entered: attribution.LeaderInfo, mine: attribution.LeaderInfo | None) -> Told:
    """The result of one entry. A member may see the name of the leader they are bound to (their own
    binding), never anything else about another leader."""
    if outcome.result == "bound":
        return Told("绑定成功", f"您已成为{entered.name}的邻居（{entered.community_name}），之后的订单都算在{entered.name}名下", "ok")
    if outcome.result == "rebound":
        return Told("已改绑", f"您已改绑到{entered.name}（{entered.community_name}）", "ok")
    if outcome.result == "already_yours":
        return Told("已绑定", f"您已是{entered.name}的邻居（{entered.community_name}），无需重复绑定", "ok")
    if mine is not None:
        return Told(
            "已绑定其他团长",
            f"您已是{mine.name}（{mine.community_name}）的邻居，归属不变；您可以照常浏览和购买", "info",
        )
    return Told("未绑定", f"{attribution.REASON_TEXT[outcome.reason]}；您可以照常浏览和购买", "info")


async def _enter(ctx: AppContext, visitor: Visitor, code: str) -> Told:
    assert visitor.user is not None
    async with ctx.db.transaction() as session:
        outcome = await attribution.enter_with_code(session=session, user_id=visitor.user.id, raw_code=code, now=ctx.clock.now())
        entered = await _leader_card(session, outcome.brand_id, outcome.leader_id)
        mine = None
        if outcome.binding is not None and outcome.binding.leader_id != outcome.leader_id:
            mine = await _leader_card(session, outcome.brand_id, outcome.binding.leader_id)
    return _told(outcome, entered, mine)


def _page(
    request: Request, visitor: Visitor, landing: Landing, *, status_code: int = 200, told: Told | None = None,
    form: FormState | None = None, joining: bool = False, offer_join: bool = False,
) -> Response:
    """The landing page; `joining` shows the sign-in form, `offer_join` the join button of a signed-in visitor."""
    return render(
        request, visitor, "invite.html", status_code=status_code, landing=landing, told=told, form=form or FormState(),
        joining=joining, offer_join=offer_join,
    )


@router.get("/i/{code}")
async def landing_page(request: Request, ctx: Ctx, visitor: PageVisitor, code: CodePath) -> Response:
    landing = await _landing(ctx, code)
    told = await _standing(ctx, visitor, code)
    return _page(request, visitor, landing, told=told, offer_join=told is None or not told.yours)


@router.get("/i/{code}/join")
async def join_page(request: Request, ctx: Ctx, visitor: PageVisitor, code: CodePath) -> Response:
    landing = await _landing(ctx, code)
    if visitor.signed_in:
        return RedirectResponse(f"/i/{landing.code}", status_code=303)
    return _page(request, visitor, landing, joining=True)


@router.post("/i/{code}/join/sms-code")
async def join_send_code(request: Request, ctx: Ctx, visitor: CheckedVisitor, code: CodePath, phone: FormText = "") -> Response:
    landing = await _landing(ctx, code)
    state = await send_code(ctx, phone)
    return _page(request, visitor, landing, status_code=state.status_code, form=state, joining=True)


@router.post("/i/{code}/join")
async def join(
    request: Request, ctx: Ctx, visitor: CheckedVisitor, code: CodePath, phone: FormText = "", sms_code: FormText = ""
) -> Response:
    """Signs in first if need be (phone and SMS code), then enters through the code."""
    landing = await _landing(ctx, code)
    issued = None
    if not visitor.signed_in:
        issued, state = await sms_sign_in(ctx, phone, sms_code)
        if issued is None:
            return _page(request, visitor, landing, status_code=state.status_code, form=state, joining=True)
        visitor = Visitor(user=issued.user, auth_session_id=issued.auth_session.id)
    try:
        told, status_code = await _enter(ctx, visitor, code), 200
    except DomainError as exc:  # the code died meanwhile, or it is the visitor's own: said on the page
        told, status_code = Told("未能加入", exc.message, "warn"), exc.status_code
    response = _page(request, visitor, landing, status_code=status_code, told=told)
    if issued is not None:
        set_session_cookie(response, ctx.settings, issued, ctx.clock.now())
    return response
