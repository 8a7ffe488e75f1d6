"""Live-room routes.

Staff of the brand: sessions and their transitions, listings, community offers, the funnel
(`/brands/{brand_id}/live-sessions/...`). Anyone: the list of a brand's sessions, a room with its
listings and open offers, the SSE event stream, visits (the funnel's views). Logged-in users: comments.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.live import comments, listings, offers, room, service, sessions, visits
from linli.live.models import LiveSession
from linli.live.schemas import (
    AnnounceIn,
    AnnouncementOut,
    CommentIn,
    CommentOut,
    FunnelOut,
    FunnelRowOut,
    ListingIn,
    ListingOut,
    ListingPatch,
    OfferIn,
    OfferOut,
    OfferPatch,
    PhaseIn,
    RoomOut,
    SessionIn,
    SessionOut,
    SessionPatch,
    VisitEntryOut,
    VisitIn,
    VisitLeaderOut,
    VisitOut,
)
from linli.openapi import errors
from linli.pagination import Page, PageParams, page_params
from linli.http import AuthUser, Ctx, MaybeUser, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["live"], responses=errors(409))
Paging = Annotated[PageParams, Depends(page_params)]
SESSIONS = "/brands/{brand_id}/live-sessions"
ROOM = "/live-sessions/{session_id}"

# --- presenters ------------------------------------------------------------------------------


def session_out(live: LiveSession) -> SessionOut:
    return SessionOut(**service.session_card(live))


def listing_out(view: service.ListingView) -> ListingOut:
    return ListingOut(**view.card())


def offer_out(view: service.OfferView) -> OfferOut:
    return OfferOut(**view.card(), eligible=view.eligible)


def room_out(state: service.RoomState) -> RoomOut:
    return RoomOut(
        session=session_out(state.live),
        listings=[listing_out(v) for v in state.listings],
        offers=[offer_out(v) for v in state.offers],
    )


def _phases(phases: list[PhaseIn] | None) -> list[sessions.PhaseInput] | None:
    return None if phases is None else [sessions.PhaseInput(**p.model_dump()) for p in phases]


def _entry_out(outcome: visits.VisitOutcome) -> VisitEntryOut | None:
    message = visits.entry_message(outcome)
    if outcome.own_code:
        return VisitEntryOut(result="own_code", reason="own_code", message=message, bound_leader_id=None)
    entry = outcome.entry
    if entry is None:
        return None
    return VisitEntryOut(
        result=entry.result, reason=entry.reason, message=message,
        bound_leader_id=entry.binding.leader_id if entry.binding else None,
    )


# --- sessions (staff) ------------------------------------------------------------------------


@router.post(SESSIONS, status_code=201, response_model=SessionOut, summary="新建直播场次（员工）")
async def create_session(brand_id: IdPath, body: SessionIn, user: AuthUser, session: WriteSession, now: Now) -> SessionOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    live = await sessions.create_session(
        session=session,
        brand_id=brand_id,
        data=sessions.SessionInput(
            title=body.title, scheduled_start_at=body.scheduled_start_at, stream_url=body.stream_url,
            cover_url=body.cover_url, phases=_phases(body.phases),
        ),
        now=now,
    )
    return session_out(live)


@router.get(SESSIONS, response_model=Page[SessionOut], summary="品牌的直播场次（公开；默认不含已取消）")
async def list_sessions(
    brand_id: IdPath,
    session: ReadSession,
    params: Paging,
    status: Annotated[Literal["scheduled", "live", "ended", "cancelled"] | None, Query()] = None,
) -> Page[SessionOut]:
    await brands.get_brand(session=session, brand_id=brand_id)
    rows, total = await service.list_sessions(session=session, brand_id=brand_id, status=status, params=params)
    return Page(items=[session_out(x) for x in rows], total=total, page=params.page, page_size=params.page_size)


@router.get(SESSIONS + "/{session_id}", response_model=RoomOut, summary="直播场次管理视图：全部商品与专享价（员工）")
async def staff_session(brand_id: IdPath, session_id: IdPath, user: AuthUser, session: ReadSession, now: Now) -> RoomOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    state = await service.room_state(session=session, session_id=session_id, now=now, staff_view=True, brand_id=brand_id)
    return room_out(state)


@router.patch(SESSIONS + "/{session_id}", response_model=SessionOut, summary="修改未开播的直播场次（员工）")
async def update_session(
    brand_id: IdPath, session_id: IdPath, body: SessionPatch, user: AuthUser, session: WriteSession, now: Now
) -> SessionOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    live = await sessions.update_session(
        session=session,
        brand_id=brand_id,
        session_id=session_id,
        patch=sessions.SessionPatch(
            title=body.title, scheduled_start_at=body.scheduled_start_at, stream_url=body.stream_url,
            cover_url=body.cover_url, phases=_phases(body.phases),
        ),
        now=now,
    )
    return session_out(live)


def _transition(name: str, summary: str):  # noqa: ANN202 - registers one transition route
    action = {
        "start": sessions.start_session,
        "advance": sessions.advance_phase,
        "end": sessions.end_session,
        "cancel": sessions.cancel_session,
    }[name]

    @router.post(SESSIONS + "/{session_id}/" + name, response_model=SessionOut, summary=summary, name=f"{name}_session")
    async def transition(brand_id: IdPath, session_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> SessionOut:
        await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
        return session_out(await action(session=session, brand_id=brand_id, session_id=session_id, now=now))

    return transition


_transition("start", "开播：未开播 → 直播中，进入第一个环节（员工）")
_transition("advance", "进入下一个直播环节（员工）")
_transition("end", "结束直播，关闭所有进行中的专享价（员工）")
_transition("cancel", "取消未开播的直播（员工）")


# --- listings (staff) ------------------------------------------------------------------------


@router.post(SESSIONS + "/{session_id}/listings", status_code=201, response_model=ListingOut, summary="挂载商品（员工）")
async def add_listing(
    brand_id: IdPath, session_id: IdPath, body: ListingIn, user: AuthUser, session: WriteSession, now: Now
) -> ListingOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    view = await listings.add_listing(
        session=session, brand_id=brand_id, session_id=session_id, sku_id=body.sku_id,
        live_price_fen=body.live_price_fen, allocation=body.allocation, per_member_limit=body.per_member_limit, now=now,
    )
    return listing_out(view)


@router.patch(SESSIONS + "/{session_id}/listings/{listing_id}", response_model=ListingOut, summary="修改直播商品（员工）")
async def update_listing(
    brand_id: IdPath, session_id: IdPath, listing_id: IdPath, body: ListingPatch, user: AuthUser,
    session: WriteSession, now: Now,
) -> ListingOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    patch = listings.ListingPatch(
        live_price_fen=body.live_price_fen, allocation=body.allocation, per_member_limit=body.per_member_limit,
        clear_per_member_limit="per_member_limit" in body.model_fields_set and body.per_member_limit is None,
    )
    view = await listings.update_listing(
        session=session, brand_id=brand_id, session_id=session_id, listing_id=listing_id, patch=patch, now=now
    )
    return listing_out(view)


@router.post(
    SESSIONS + "/{session_id}/listings/{listing_id}/withdraw", response_model=ListingOut, summary="撤下直播商品（员工）"
)
async def withdraw_listing(
    brand_id: IdPath, session_id: IdPath, listing_id: IdPath, user: AuthUser, session: WriteSession, now: Now
) -> ListingOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    view = await listings.withdraw_listing(
        session=session, brand_id=brand_id, session_id=session_id, listing_id=listing_id, now=now
    )
    return listing_out(view)


# --- community offers (staff) ----------------------------------------------------------------


@router.post(
    SESSIONS + "/{session_id}/offers", status_code=201, response_model=OfferOut, summary="新建社区专享价（草稿，员工）"
)
async def create_offer(
    brand_id: IdPath, session_id: IdPath, body: OfferIn, user: AuthUser, session: WriteSession, now: Now
) -> OfferOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    view = await offers.create_offer(
        session=session, brand_id=brand_id, session_id=session_id, data=offers.OfferInput(**body.model_dump()), now=now
    )
    return offer_out(view)


@router.patch(SESSIONS + "/{session_id}/offers/{offer_id}", response_model=OfferOut, summary="修改草稿专享价（员工）")
async def update_offer(
    brand_id: IdPath, session_id: IdPath, offer_id: IdPath, body: OfferPatch, user: AuthUser, session: WriteSession,
    now: Now,
) -> OfferOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    view = await offers.update_offer(
        session=session, brand_id=brand_id, session_id=session_id, offer_id=offer_id,
        patch=offers.OfferPatch(**body.model_dump()), now=now,
    )
    return offer_out(view)


@router.post(SESSIONS + "/{session_id}/offers/{offer_id}/open", response_model=OfferOut, summary="开放专享价（直播中，员工）")
async def open_offer(
    brand_id: IdPath, session_id: IdPath, offer_id: IdPath, user: AuthUser, session: WriteSession, now: Now
) -> OfferOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    view = await offers.open_offer(session=session, brand_id=brand_id, session_id=session_id, offer_id=offer_id, now=now)
    return offer_out(view)


@router.post(SESSIONS + "/{session_id}/offers/{offer_id}/close", response_model=OfferOut, summary="关闭专享价（员工）")
async def close_offer(
    brand_id: IdPath, session_id: IdPath, offer_id: IdPath, user: AuthUser, session: WriteSession, now: Now
) -> OfferOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    view = await offers.close_offer(session=session, brand_id=brand_id, session_id=session_id, offer_id=offer_id, now=now)
    return offer_out(view)


@router.post(
    SESSIONS + "/{session_id}/offers/{offer_id}/announce", status_code=201, response_model=AnnouncementOut,
    summary="向小区播报专享价（带团长名字的横幅，员工）", responses=errors(429),
)
async def announce_offer(
    brand_id: IdPath, session_id: IdPath, offer_id: IdPath, user: AuthUser, session: WriteSession, now: Now,
    body: AnnounceIn | None = None,
) -> AnnouncementOut:
    """Writes `live.offer_announced` on the room's stream; at most once per offer every 30 seconds."""
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    payload = await offers.announce_offer(
        session=session, brand_id=brand_id, session_id=session_id, offer_id=offer_id,
        note=body.note if body else None, now=now,
    )
    return AnnouncementOut(**payload)


@router.get(SESSIONS + "/{session_id}/funnel", response_model=FunnelOut, summary="邀请漏斗：浏览 → 进入 → 下单（员工）")
async def session_funnel(brand_id: IdPath, session_id: IdPath, user: AuthUser, session: ReadSession) -> FunnelOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    result = await visits.funnel(session=session, brand_id=brand_id, session_id=session_id)
    return FunnelOut(
        session_id=result.session_id,
        totals=FunnelRowOut(**vars(result.totals)),
        leaders=[FunnelRowOut(**vars(row)) for row in result.rows],
    )


# --- the room (public) -----------------------------------------------------------------------


@router.get(ROOM, response_model=RoomOut, summary="直播间：场次、在售商品与进行中的专享价（公开；登录后显示能否购买）")
async def get_room(session_id: IdPath, session: ReadSession, user: MaybeUser, now: Now) -> RoomOut:
    state = await service.room_state(
        session=session, session_id=session_id, now=now, user_id=user.user_id if user else None
    )
    return room_out(state)


@router.get(
    ROOM + "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
    summary="直播间实时事件流（SSE，公开）",
)
async def room_events(
    session_id: IdPath,
    request: Request,
    ctx: Ctx,
    max_seconds: Annotated[
        float | None, Query(ge=0, le=86_400, description="最长连接秒数（测试、curl 用）；默认不限")
    ] = None,
    last_event_id_param: Annotated[
        str | None, Query(alias="last_event_id", max_length=32, description="从该事件之后继续（同 Last-Event-ID 头）")
    ] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=32)] = None,
) -> StreamingResponse:
    async with ctx.db.read() as session:
        await service.get_session(session=session, session_id=session_id)  # 404 before the stream starts
    resume = room.parse_last_event_id(last_event_id if last_event_id is not None else last_event_id_param)
    body = room.room_events(
        ctx=ctx, session_id=session_id, last_event_id=resume, max_seconds=max_seconds,
        is_disconnected=request.is_disconnected,
    )
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"},
    )


@router.post(
    ROOM + "/comments", status_code=201, response_model=CommentOut, summary="发表评论（登录用户，直播中）",
    responses=errors(429),
)
async def post_comment(session_id: IdPath, body: CommentIn, user: AuthUser, session: WriteSession, now: Now) -> CommentOut:
    posted = await comments.post_comment(session=session, session_id=session_id, user_id=user.user_id, body=body.body, now=now)
    return CommentOut(**posted.card)


@router.post(
    ROOM + "/visits", status_code=201, response_model=VisitOut, summary="进入直播间（可匿名；带邀请码时计入团长漏斗并绑定）",
    responses=errors(410),
)
async def record_visit(session_id: IdPath, body: VisitIn, user: MaybeUser, session: WriteSession, now: Now) -> VisitOut:
    outcome = await visits.record_visit(
        session=session, session_id=session_id, user_id=user.user_id if user else None, invite_code=body.invite_code,
        now=now,
    )
    leader_out = VisitLeaderOut(**outcome.leader_card) if outcome.leader_card is not None else None
    return VisitOut(
        visit_id=outcome.visit.id, session_id=outcome.visit.session_id, leader=leader_out, entry=_entry_out(outcome)
    )
