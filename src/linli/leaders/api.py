from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli import qrcodes
from linli.brands import service as brands
from linli.brands.models import Community
from linli.brands.schemas import IdPath
from linli.config import Settings
from linli.leaders import invite_codes, service, share_image
from linli.leaders.models import InviteCode, Leader
from linli.leaders.schemas import (
    ApplicationIn,
    ApplicationOut,
    BrandRefOut,
    GraceCodeOut,
    InviteCodeOut,
    InviteResolutionOut,
    LeaderDetailOut,
    LeaderLevelOut,
    LeaderProfileOut,
    LeaderStatus,
    LeaderSummaryOut,
    LevelOut,
    NextLevelOut,
    ProgramIn,
    ProgramOut,
    ReasonIn,
    RevokedOut,
    RotatedOut,
    StatusChangeOut,
)
from linli.openapi import errors
from linli.pagination import Page, PageParams, page_params
from linli.security import mask_name, mask_phone
from linli.http import AuthUser, Ctx, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["leaders"], responses=errors(409))

Paging = Annotated[PageParams, Depends(page_params)]
# Long enough for a code with stray spaces; the exact format is checked by invite_codes.normalize (422).
CodePath = Annotated[str, Path(min_length=1, max_length=64, description="邀请码（不区分大小写）")]
PNG = {200: {"content": {"image/png": {}}, "description": "二维码 PNG 图片"}}
POSTER_PNG = {200: {"content": {"image/png": {}}, "description": "邀请海报 PNG 图片（750×1334）"}, **errors(503)}
OWNER = ("owner",)


# --- Output builders ---------------------------------------------------------------------------


def application_out(leader: Leader, community: Community) -> ApplicationOut:
    return ApplicationOut(
        id=leader.id,
        brand_id=leader.brand_id,
        community_id=community.id,
        community_name=community.name,
        status=leader.status,  # type: ignore[arg-type]
        real_name=leader.real_name,
        note=leader.application_note,
        decision_reason=leader.decision_reason,
        applied_at=leader.applied_at,
        activated_at=leader.activated_at,
        exited_at=leader.exited_at,
    )


def _level_out(progress: service.LevelProgress) -> LeaderLevelOut:
    level = progress.level
    return LeaderLevelOut(code=level["code"], name=level["name"], rights=list(level.get("rights", [])))


def _next_level_out(progress: service.LevelProgress) -> NextLevelOut | None:
    if progress.next_level is None or progress.members_to_next_level is None:
        return None
    nxt = progress.next_level
    return NextLevelOut(
        code=nxt["code"],
        name=nxt["name"],
        min_bound_members=nxt["min_bound_members"],
        members_needed=progress.members_to_next_level,
        required_course_ids=service.required_courses(nxt),
        courses_needed=progress.courses_to_next_level,
    )


def _summary_fields(view: service.LeaderView) -> dict:
    leader = view.leader
    return {
        "id": leader.id,
        "community_id": view.community.id,
        "community_name": view.community.name,
        "status": leader.status,
        "real_name": leader.real_name,
        "phone_masked": mask_phone(view.phone),
        "level": _level_out(view.progress),
        "bound_members": view.progress.bound_members,
        "applied_at": leader.applied_at,
        "activated_at": leader.activated_at,
        "exited_at": leader.exited_at,
    }


def leader_detail_out(detail: service.LeaderDetail) -> LeaderDetailOut:
    leader = detail.view.leader
    return LeaderDetailOut(
        **_summary_fields(detail.view),
        phone=detail.view.phone,
        application_note=leader.application_note,
        decision_reason=leader.decision_reason,
        badge=detail.badge,
        next_level=_next_level_out(detail.view.progress),
        current_invite_code=detail.current_code.code if detail.current_code is not None else None,
        history=[
            StatusChangeOut(
                from_status=h.from_status,
                to_status=h.to_status,
                reason=h.reason,
                actor_user_id=h.actor_user_id,
                changed_at=h.changed_at,
            )
            for h in detail.history
        ],
    )


def qr_url(settings: Settings, code: str) -> str:
    return f"{settings.public_base_url}/api/v1/invite-codes/{code}/qr.png"


def invite_out(settings: Settings, invite: InviteCode) -> InviteCodeOut:
    return InviteCodeOut(
        code=invite.code,
        link=invite_codes.invite_link(base_url=settings.public_base_url, code=invite.code),
        qr_url=qr_url(settings, invite.code),
        created_at=invite.created_at,
    )


def _grace_out(invite: InviteCode) -> GraceCodeOut | None:
    if invite.grace_until is None:
        return None
    return GraceCodeOut(code=invite.code, grace_until=invite.grace_until)


def profile_out(settings: Settings, profile: service.LeaderProfile) -> LeaderProfileOut:
    view = profile.view
    leader = view.leader
    # A suspended leader's codes do not work, so none is handed out to share.
    usable = leader.status == "active"
    return LeaderProfileOut(
        leader_id=leader.id,
        brand=BrandRefOut(id=profile.brand.id, name=profile.brand.name),
        community_id=view.community.id,
        community_name=view.community.name,
        status=leader.status,  # type: ignore[arg-type]
        real_name=leader.real_name,
        decision_reason=leader.decision_reason,
        badge=profile.badge,
        level=_level_out(view.progress),
        bound_members=view.progress.bound_members,
        next_level=_next_level_out(view.progress),
        invite=invite_out(settings, profile.current_code) if usable and profile.current_code is not None else None,
        codes_in_grace=[
            GraceCodeOut(code=c.code, grace_until=c.grace_until)
            for c in profile.codes_in_grace
            if usable and c.grace_until is not None
        ],
    )


def program_out(program: service.Program) -> ProgramOut:
    return ProgramOut(
        levels=[LevelOut(**lv) for lv in program.levels],
        invite_grace_hours=program.invite_grace_hours,
        updated_at=program.updated_at,
    )


# --- Applications (any logged-in user) ---------------------------------------------------------


@router.post(
    "/brands/{brand_id}/leader-applications",
    status_code=201,
    response_model=ApplicationOut,
    summary="申请成为小区团长（登录用户）",
)
async def apply(brand_id: IdPath, body: ApplicationIn, user: AuthUser, session: WriteSession, now: Now) -> ApplicationOut:
    leader = await service.apply(
        session=session,
        brand_id=brand_id,
        user_id=user.user_id,
        community_id=body.community_id,
        real_name=body.real_name,
        note=body.note,
        now=now,
    )
    community = await brands.get_community(session=session, brand_id=brand_id, community_id=leader.community_id)
    return application_out(leader, community)


@router.get(
    "/brands/{brand_id}/leader-applications/mine",
    response_model=ApplicationOut,
    summary="我的团长申请（含驳回原因）",
)
async def my_application(brand_id: IdPath, user: AuthUser, session: ReadSession) -> ApplicationOut:
    leader, community = await service.latest_application(session=session, brand_id=brand_id, user_id=user.user_id)
    return application_out(leader, community)


# --- Staff: leaders of the brand ----------------------------------------------------------------


@router.get("/brands/{brand_id}/leaders", response_model=Page[LeaderSummaryOut], summary="团长列表（员工）")
async def list_leaders(
    brand_id: IdPath,
    user: AuthUser,
    session: ReadSession,
    now: Now,
    params: Paging,
    status: Annotated[LeaderStatus | None, Query(description="按状态筛选")] = None,
) -> Page[LeaderSummaryOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await service.list_leaders(session=session, brand_id=brand_id, status=status, params=params)
    views = await service.describe_leaders(session=session, brand_id=brand_id, leaders=rows, now=now)
    return Page(
        items=[LeaderSummaryOut(**_summary_fields(v)) for v in views],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@router.get("/brands/{brand_id}/leaders/{leader_id}", response_model=LeaderDetailOut, summary="团长详情与状态记录（员工）")
async def get_leader(brand_id: IdPath, leader_id: IdPath, user: AuthUser, session: ReadSession, now: Now) -> LeaderDetailOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return leader_detail_out(await service.leader_detail(session=session, brand_id=brand_id, leader_id=leader_id, now=now))


async def _detail_after_change(session: AsyncSession, brand_id: int, leader_id: int, now: datetime) -> LeaderDetailOut:
    await session.flush()
    return leader_detail_out(await service.leader_detail(session=session, brand_id=brand_id, leader_id=leader_id, now=now))


@router.post(
    "/brands/{brand_id}/leaders/{leader_id}/approve", response_model=LeaderDetailOut, summary="通过团长申请（员工）"
)
async def approve(brand_id: IdPath, leader_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> LeaderDetailOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    await service.approve(session=session, brand_id=brand_id, leader_id=leader_id, actor_user_id=user.user_id, now=now)
    return await _detail_after_change(session, brand_id, leader_id, now)


@router.post(
    "/brands/{brand_id}/leaders/{leader_id}/reject", response_model=LeaderDetailOut, summary="驳回团长申请（员工，须填原因）"
)
async def reject(
    brand_id: IdPath, leader_id: IdPath, body: ReasonIn, user: AuthUser, session: WriteSession, now: Now
) -> LeaderDetailOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    await service.reject(
        session=session, brand_id=brand_id, leader_id=leader_id, reason=body.reason, actor_user_id=user.user_id, now=now
    )
    return await _detail_after_change(session, brand_id, leader_id, now)


@router.post(
    "/brands/{brand_id}/leaders/{leader_id}/suspend", response_model=LeaderDetailOut, summary="暂停团长（员工，须填原因）"
)
async def suspend(
    brand_id: IdPath, leader_id: IdPath, body: ReasonIn, user: AuthUser, session: WriteSession, now: Now
) -> LeaderDetailOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    await service.suspend(
        session=session, brand_id=brand_id, leader_id=leader_id, reason=body.reason, actor_user_id=user.user_id, now=now
    )
    return await _detail_after_change(session, brand_id, leader_id, now)


@router.post(
    "/brands/{brand_id}/leaders/{leader_id}/reinstate", response_model=LeaderDetailOut, summary="恢复被暂停的团长（员工）"
)
async def reinstate(
    brand_id: IdPath, leader_id: IdPath, user: AuthUser, session: WriteSession, now: Now
) -> LeaderDetailOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    await service.reinstate(session=session, brand_id=brand_id, leader_id=leader_id, actor_user_id=user.user_id, now=now)
    return await _detail_after_change(session, brand_id, leader_id, now)


@router.post(
    "/brands/{brand_id}/leaders/{leader_id}/exit", response_model=LeaderDetailOut, summary="团长退出（员工，须填原因；邀请码立即作废）"
)
async def exit_leader(
    brand_id: IdPath, leader_id: IdPath, body: ReasonIn, user: AuthUser, session: WriteSession, now: Now
) -> LeaderDetailOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    await service.exit_leader(
        session=session, brand_id=brand_id, leader_id=leader_id, reason=body.reason, actor_user_id=user.user_id, now=now
    )
    return await _detail_after_change(session, brand_id, leader_id, now)


@router.post(
    "/brands/{brand_id}/leaders/{leader_id}/invite-code/revoke",
    response_model=RevokedOut,
    summary="作废团长的全部邀请码（员工）",
)
async def staff_revoke_codes(
    brand_id: IdPath, leader_id: IdPath, user: AuthUser, session: WriteSession, now: Now
) -> RevokedOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    count = await service.revoke_invite_codes(session=session, brand_id=brand_id, leader_id=leader_id, now=now)
    return RevokedOut(revoked_count=count)


# --- Staff: the leader programme ----------------------------------------------------------------


@router.get("/brands/{brand_id}/leader-program", response_model=ProgramOut, summary="团长等级与权益方案（员工）")
async def get_program(brand_id: IdPath, user: AuthUser, session: ReadSession) -> ProgramOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return program_out(await service.get_program(session=session, brand_id=brand_id))


@router.put("/brands/{brand_id}/leader-program", response_model=ProgramOut, summary="修改团长等级与权益方案（仅负责人）")
async def put_program(brand_id: IdPath, body: ProgramIn, user: AuthUser, session: WriteSession, now: Now) -> ProgramOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id, roles=OWNER)
    program = await service.update_program(
        session=session,
        brand_id=brand_id,
        levels=[lv.model_dump() for lv in body.levels],
        invite_grace_hours=body.invite_grace_hours,
        actor_user_id=user.user_id,
        now=now,
    )
    return program_out(program)


# --- The leader themself --------------------------------------------------------------------------


@router.get("/brands/{brand_id}/leader", response_model=LeaderProfileOut, summary="我的团长主页：徽章、等级、邀请码（团长本人）")
async def my_profile(brand_id: IdPath, user: AuthUser, ctx: Ctx, session: ReadSession, now: Now) -> LeaderProfileOut:
    profile = await service.leader_profile(session=session, brand_id=brand_id, user_id=user.user_id, now=now)
    return profile_out(ctx.settings, profile)


@router.post(
    "/brands/{brand_id}/leader/invite-code/rotate",
    response_model=RotatedOut,
    summary="更换邀请码（旧码在宽限期内仍可用；作废后用它重新生成）",
)
async def rotate_code(brand_id: IdPath, user: AuthUser, ctx: Ctx, session: WriteSession, now: Now) -> RotatedOut:
    leader = await service.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    new, previous = await service.rotate_invite_code(session=session, brand_id=brand_id, leader_id=leader.id, now=now)
    return RotatedOut(invite=invite_out(ctx.settings, new), previous=_grace_out(previous) if previous else None)


@router.post(
    "/brands/{brand_id}/leader/invite-code/revoke", response_model=RevokedOut, summary="作废我的全部邀请码（团长本人）"
)
async def revoke_my_codes(brand_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> RevokedOut:
    leader = await service.require_leader_self(session=session, brand_id=brand_id, user_id=user.user_id)
    count = await service.revoke_invite_codes(session=session, brand_id=brand_id, leader_id=leader.id, now=now)
    return RevokedOut(revoked_count=count)


@router.get(
    "/brands/{brand_id}/leader/invite-code/qr.png",
    response_class=Response,
    responses=PNG,
    summary="我的邀请码二维码（团长本人）",
)
async def my_qr(brand_id: IdPath, user: AuthUser, ctx: Ctx, session: ReadSession) -> Response:
    leader = await service.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    invite = await service.current_invite_code(session=session, leader_id=leader.id)
    return _qr_response(ctx.settings, invite.code, cache="private, no-store")


@router.get(
    "/brands/{brand_id}/leader/share-image.png",
    response_class=Response,
    responses=POSTER_PNG,
    summary="我的邀请海报：徽章、邀请码和二维码（团长本人，可下载分享）",
)
async def my_share_image(brand_id: IdPath, user: AuthUser, ctx: Ctx, session: ReadSession) -> Response:
    poster = await share_image.invite_poster_file(session=session, brand_id=brand_id, user_id=user.user_id, settings=ctx.settings)
    return Response(
        content=poster.png, media_type="image/png",
        headers={"Cache-Control": "private, no-store", "Content-Disposition": f'attachment; filename="{poster.filename}"'},
    )


# --- Public: what a code stands for -------------------------------------------------------------


def _qr_response(settings: Settings, code: str, *, cache: str) -> Response:
    link = invite_codes.invite_link(base_url=settings.public_base_url, code=code)
    return Response(content=qrcodes.qr_png(link), media_type="image/png", headers={"Cache-Control": cache})


@router.get(
    "/invite-codes/{code}", response_model=InviteResolutionOut, summary="查询邀请码对应的团长（公开）", responses=errors(410)
)
async def resolve_code(code: CodePath, session: ReadSession, now: Now) -> InviteResolutionOut:
    found = await service.resolve_invite(session=session, raw_code=code, now=now)
    return InviteResolutionOut(
        code=found.invite.code,
        brand_id=found.brand.id,
        brand_name=found.brand.name,
        community_id=found.community.id,
        community_name=found.community.name,
        leader_display_name=mask_name(found.leader.real_name),
        badge=found.badge,
        grace_until=found.invite.grace_until if found.invite.status == "rotated" else None,
    )


@router.get(
    "/invite-codes/{code}/qr.png",
    response_class=Response,
    responses={**PNG, **errors(410)},
    summary="邀请码二维码（公开，仅限可用的码）",
)
async def code_qr(code: CodePath, ctx: Ctx, session: ReadSession, now: Now) -> Response:
    found = await service.resolve_invite(session=session, raw_code=code, now=now)
    # Short cache: a revoked code must stop rendering soon.
    return _qr_response(ctx.settings, found.invite.code, cache="public, max-age=300")
