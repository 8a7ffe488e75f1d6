from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from linli.accounts import service
from linli.accounts.models import User
from linli.accounts.schemas import (
    DevSmsOut,
    MeOut,
    MyBrandOut,
    MyLeaderOut,
    PasswordLoginRequest,
    ProfileUpdate,
    SmsCodeRequest,
    SmsCodeSent,
    SmsLoginRequest,
    TokenOut,
    UserOut,
    WeChatLoginRequest,
)
from linli.errors import InvalidInput, NotFound
from linli.leaders.roles import roles_of_user
from linli.openapi import errors
from linli.pagination import Page, PageParams, fetch_page, page_params
from linli.security import is_valid_phone
from linli.http import AuthUser, Ctx, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["accounts"])
Paging = Annotated[PageParams, Depends(page_params)]


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        phone=user.phone,
        login_name=user.login_name,
        display_name=user.display_name,
        has_wechat=user.wechat_openid is not None,
    )


def _token_out(issued: service.IssuedToken) -> TokenOut:
    return TokenOut(token=issued.token, expires_at=issued.auth_session.expires_at, user=user_out(issued.user))


@router.post(
    "/auth/sms-codes", status_code=202, response_model=SmsCodeSent, summary="发送登录验证码", responses=errors(429)
)
async def send_sms_code(body: SmsCodeRequest, ctx: Ctx, session: WriteSession, now: Now) -> SmsCodeSent:
    await service.request_sms_code(session=session, settings=ctx.settings, sender=ctx.sms_sender, phone=body.phone, now=now)
    return SmsCodeSent(
        sent=True,
        expires_in_seconds=ctx.settings.sms_code_ttl_seconds,
        resend_after_seconds=ctx.settings.sms_resend_interval_seconds,
    )


@router.post(
    "/auth/sms-login", response_model=TokenOut, summary="手机号验证码登录（用户、团长）", responses=errors(401, 429)
)
async def sms_login(body: SmsLoginRequest, ctx: Ctx, now: Now) -> TokenOut:
    # Own transaction: a failed attempt must be committed (it counts towards the lock-out) and then refused.
    async with ctx.db.transaction() as session:
        outcome = await service.login_with_sms(
            session=session, settings=ctx.settings, phone=body.phone, code=body.code, now=now
        )
    if outcome.error:
        raise outcome.error
    assert outcome.issued is not None
    return _token_out(outcome.issued)


@router.post("/auth/password-login", response_model=TokenOut, summary="品牌员工密码登录", responses=errors(401, 429))
async def password_login(body: PasswordLoginRequest, ctx: Ctx, now: Now) -> TokenOut:
    async with ctx.db.transaction() as session:
        outcome = await service.login_with_password(
            session=session, settings=ctx.settings, login_name=body.login_name, password=body.password, now=now
        )
    if outcome.error:
        raise outcome.error
    assert outcome.issued is not None
    return _token_out(outcome.issued)


@router.post(
    "/auth/wechat-login", response_model=TokenOut, summary="微信小程序登录（code2session）", responses=errors(403, 502)
)
async def wechat_login(body: WeChatLoginRequest, ctx: Ctx, now: Now) -> TokenOut:
    # Ask WeChat first, outside any transaction: a slow WeChat must not hold a database connection
    # (or, on SQLite, the single write lock) for up to the client timeout.
    identity = await service.resolve_wechat_code(wechat=ctx.wechat, code=body.code)
    async with ctx.db.transaction() as session:
        issued = await service.login_with_wechat_identity(
            session=session, settings=ctx.settings, identity=identity, now=now
        )
    return _token_out(issued)


@router.post("/auth/logout", status_code=204, summary="注销当前登录凭证")
async def logout(user: AuthUser, session: WriteSession, now: Now) -> Response:
    await service.revoke_session(session=session, auth_session_id=user.auth_session_id, now=now)
    return Response(status_code=204)


@router.post("/auth/logout-all", status_code=204, summary="注销本人所有登录凭证")
async def logout_all(user: AuthUser, session: WriteSession, now: Now) -> Response:
    await service.revoke_all_sessions(session=session, user_id=user.user_id, now=now)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, summary="当前登录用户及其所在品牌与角色")
async def me(user: AuthUser, session: ReadSession) -> MeOut:
    brands = [
        MyBrandOut(
            brand_id=r.brand.id, name=r.brand.name, slug=r.brand.slug, timezone=r.brand.timezone,
            staff_role=r.staff_role, member_id=r.member_id,
            leader=MyLeaderOut(leader_id=r.leader.leader_id, status=r.leader.status, community_id=r.leader.community_id)
            if r.leader else None,
        )
        for r in await roles_of_user(session=session, user_id=user.user_id)
    ]
    found = user_out(await service.get_user(session=session, user_id=user.user_id))
    return MeOut(**found.model_dump(), brands=brands)


@router.patch("/me", response_model=UserOut, summary="修改昵称")
async def update_me(body: ProfileUpdate, user: AuthUser, session: WriteSession) -> UserOut:
    return user_out(await service.update_display_name(session=session, user_id=user.user_id, display_name=body.display_name))


@router.get(
    "/dev/sms-inbox", response_model=Page[DevSmsOut], summary="开发模式：本地短信收件箱", responses=errors(404)
)
async def sms_inbox(
    ctx: Ctx, session: ReadSession, paging: Paging, phone: Annotated[str | None, Query(max_length=20)] = None
) -> Page[DevSmsOut]:
    if not ctx.settings.dev_mode:
        raise NotFound("接口不存在")
    if phone is not None and phone.strip() and not is_valid_phone(phone.strip()):
        raise InvalidInput("手机号格式不正确", code="phone_invalid")
    messages, total = await fetch_page(session, service.dev_inbox_query(phone=phone), paging)
    items = [DevSmsOut(phone=m.phone, body=m.body, created_at=m.created_at) for m in messages]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)
