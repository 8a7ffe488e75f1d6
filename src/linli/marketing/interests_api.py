"""Interest groups over HTTP (brand staff): the rules, their members, a recomputation now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.http import AuthUser, Ctx, Now, ReadSession, WriteSession
from linli.marketing import interests
from linli.marketing.schemas import (
    InterestGroupIn,
    InterestGroupOut,
    InterestGroupsOut,
    InterestMemberOut,
    InterestMembersOut,
    InterestPushIn,
    InterestPushOut,
)
from linli.openapi import errors
from linli.pagination import PageParams, page_of, page_params

router = APIRouter(prefix="/api/v1", tags=["marketing"], responses=errors(409))
Paging = Annotated[PageParams, Depends(page_params)]


def group_out(view: interests.GroupView) -> InterestGroupOut:
    g = view.group
    return InterestGroupOut(
        id=g.id, brand_id=g.brand_id, name=g.name, description=g.description, status=g.status,
        category_ids=g.category_ids, product_ids=g.product_ids, window_days=g.window_days, min_share_bp=g.min_share_bp,
        min_focus_fen=g.min_focus_fen, min_focus_orders=g.min_focus_orders, rule_text=view.rule_text,
        member_count=g.member_count, computed_at=g.computed_at, created_at=g.created_at, updated_at=g.updated_at,
    )


def _input(body: InterestGroupIn) -> interests.GroupInput:
    return interests.GroupInput(**body.model_dump())


async def _out(session, group) -> InterestGroupOut:  # noqa: ANN001
    [view] = await interests.group_views(session=session, groups=[group])
    return group_out(view)


@router.get("/brands/{brand_id}/interest-groups", response_model=InterestGroupsOut, summary="兴趣小组（品牌员工）")
async def list_groups(brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> InterestGroupsOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    views = await interests.group_views(session=session, groups=await interests.list_groups(session=session, brand_id=brand_id))
    return InterestGroupsOut(**page_of([group_out(v) for v in views], paging).model_dump())


@router.post(
    "/brands/{brand_id}/interest-groups", response_model=InterestGroupOut, status_code=201,
    summary="新建兴趣小组（品牌员工；成员随后由系统按规则算出）",
)
async def create_group(brand_id: IdPath, body: InterestGroupIn, user: AuthUser, session: WriteSession, now: Now) -> InterestGroupOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    group = await interests.create_group(session=session, brand_id=brand_id, data=_input(body), now=now)
    return await _out(session, group)


@router.put("/brands/{brand_id}/interest-groups/{group_id}", response_model=InterestGroupOut, summary="修改兴趣小组的规则（品牌员工）")
async def update_group(
    brand_id: IdPath, group_id: IdPath, body: InterestGroupIn, user: AuthUser, session: WriteSession, now: Now
) -> InterestGroupOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    group = await interests.update_group(session=session, brand_id=brand_id, group_id=group_id, data=_input(body), now=now)
    return await _out(session, group)


@router.post("/brands/{brand_id}/interest-groups/{group_id}/archive", response_model=InterestGroupOut, summary="停用兴趣小组（品牌员工）")
async def archive_group(brand_id: IdPath, group_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> InterestGroupOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return await _out(session, await interests.archive_group(session=session, brand_id=brand_id, group_id=group_id, now=now))


@router.post(
    "/brands/{brand_id}/interest-groups/{group_id}/recompute", response_model=InterestGroupOut,
    summary="立即按规则重算成员（品牌员工；每天 03:30 也会自动重算）",
)
async def recompute(brand_id: IdPath, group_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> InterestGroupOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    group = await interests.get_group(session=session, brand_id=brand_id, group_id=group_id, for_update=True)
    await interests.recompute_group(session=session, group=group, as_of=now)
    return await _out(session, group)


@router.get(
    "/brands/{brand_id}/interest-groups/{group_id}/members", response_model=InterestMembersOut,
    summary="兴趣小组的成员（品牌员工；手机号打码）",
)
async def group_members(brand_id: IdPath, group_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> InterestMembersOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    group, rows, total = await interests.group_members(session=session, brand_id=brand_id, group_id=group_id, params=paging)
    cards = await interests.member_cards(session=session, rows=rows)
    return InterestMembersOut(
        items=[InterestMemberOut(member_id=c.member_id, name=c.name, phone=c.phone, joined_at=c.joined_at) for c in cards],
        total=total, page=paging.page, page_size=paging.page_size, group=await _out(session, group),
    )


@router.post(
    "/brands/{brand_id}/interest-groups/{group_id}/pushes", response_model=InterestPushOut, status_code=201,
    summary="给兴趣小组的成员推送（品牌员工；同一 Idempotency-Key 只推一次）",
)
async def push_to_group(
    brand_id: IdPath, group_id: IdPath, body: InterestPushIn, response: Response, user: AuthUser, ctx: Ctx,
    session: WriteSession, now: Now,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=64)],
) -> InterestPushOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    done = await interests.push_to_group(
        session=session, brand_id=brand_id, group_id=group_id, title=body.title, body=body.body, tag=body.tag,
        dedupe_key=f"interest_group:{group_id}:{idempotency_key}", base_url=ctx.settings.public_base_url, now=now,
        actor_user_id=user.user_id, link=body.link,
    )
    if not done.created:
        response.status_code = 200
    return InterestPushOut(content_id=done.content.id, created=done.created, recipients=len(done.pushes))
