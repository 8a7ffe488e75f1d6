"""Community groups: brand staff make and change them, push to them under 70/30 and release or discard what was
held; the leader reads and sets their own group's join link; a member reads the groups they were invited into."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli import qrcodes
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.community import balance, group_pushes, invites
from linli.community import service as community
from linli.community.models import CommunityGroup
from linli.community.schemas import (
    DecisionOut,
    GroupCreateIn,
    GroupOut,
    GroupPatchIn,
    GroupPushIn,
    GroupPushOut,
    LeaderGroupIn,
    LeaderGroupOut,
    MyGroupOut,
    ShareOut,
)
from linli.errors import Conflict, NotFound
from linli.http import AuthUser, Ctx, Now, ReadSession, WriteSession
from linli.leaders import service as leaders
from linli.notifications import pushes, robots
from linli.notifications.pushes import PushRow
from linli.notifications.pushes_api import push_out
from linli.openapi import errors
from linli.pagination import Page, PageParams, page_of, page_params

router = APIRouter(prefix="/api/v1", tags=["community"], responses=errors(409))
Paging = Annotated[PageParams, Depends(page_params)]


async def group_out(session: AsyncSession, group: CommunityGroup) -> GroupOut:
    place = await brands.get_community(session=session, brand_id=group.brand_id, community_id=group.community_id)
    robot = (await robots.get_robot(session=session, brand_id=group.brand_id, robot_id=group.robot_id)
             if group.robot_id else None)
    share = await balance.current_share(session=session, group=group)
    return GroupOut(
        id=group.id, brand_id=group.brand_id, community_id=group.community_id, community_name=place.name,
        name=group.name, join_url=group.join_url,
        wecom_webhook=robots.mask_webhook(robot.webhook_url if robot else None),
        commerce_ceiling_bp=group.commerce_ceiling_bp, window_messages=group.window_messages, ready_at=group.ready_at,
        invited=await community.invited_count(session=session, group_id=group.id),
        share=ShareOut(commerce=share.commerce, counted=share.counted, share_bp=share.share_bp),
    )


# --- brand staff ----------------------------------------------------------------------------------------


@router.get("/brands/{brand_id}/community-groups", response_model=Page[GroupOut], summary="品牌的社区群（员工）")
async def list_groups(brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> Page[GroupOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    groups, total = await community.brand_groups(session=session, brand_id=brand_id, params=paging)
    return Page(items=[await group_out(session, g) for g in groups], total=total, page=paging.page,
                page_size=paging.page_size)


@router.post("/brands/{brand_id}/community-groups", response_model=GroupOut, status_code=201,
             summary="为小区建社区群（员工；默认名称：小区·品牌品质生活圈）")
async def create_group(
    brand_id: IdPath, body: GroupCreateIn, user: AuthUser, session: WriteSession, now: Now
) -> GroupOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    group = await community.create_group(
        session=session, brand_id=brand_id, community_id=body.community_id, name=body.name, now=now
    )
    return await group_out(session, group)


@router.get("/brands/{brand_id}/community-groups/{group_id}", response_model=GroupOut,
            summary="社区群详情与最近 N 条消息的商业内容占比（员工）")
async def get_group(brand_id: IdPath, group_id: IdPath, user: AuthUser, session: ReadSession) -> GroupOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return await group_out(session, await community.get_group(session=session, brand_id=brand_id, group_id=group_id))


@router.patch("/brands/{brand_id}/community-groups/{group_id}", response_model=GroupOut,
              summary="修改社区群：名称、入群链接、群机器人、70/30 上限（员工）")
async def update_group(
    brand_id: IdPath, group_id: IdPath, body: GroupPatchIn, user: AuthUser, session: WriteSession, ctx: Ctx, now: Now
) -> GroupOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    patch = community.GroupPatch(
        name=body.name, join_url=body.join_url, webhook_url=body.wecom_webhook_url,
        commerce_ceiling_bp=body.commerce_ceiling_bp, window_messages=body.window_messages,
    )
    group = await community.update_group(
        session=session, brand_id=brand_id, group_id=group_id, patch=patch,
        policy=robots.WebhookPolicy.of(ctx.settings), now=now,
    )
    return await group_out(session, group)


@router.post("/brands/{brand_id}/community-groups/{group_id}/pushes", response_model=GroupPushOut, status_code=201,
             summary="向社区群推送（员工；须标注价值或商业内容，超过 70/30 上限的商业内容被暂扣）")
async def push_to_group(
    brand_id: IdPath, group_id: IdPath, body: GroupPushIn, user: AuthUser, session: WriteSession, ctx: Ctx, now: Now
) -> GroupPushOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    done = await group_pushes.enqueue_for_group(
        session=session, brand_id=brand_id, group_id=group_id, title=body.title, body=body.body, markdown=body.markdown,
        tag=body.tag, kind="group_post", link=body.link, dedupe_key=body.dedupe_key or f"staff:{uuid.uuid4().hex}",
        now=now, base_url=ctx.settings.public_base_url, created_by_user_id=user.user_id,
    )
    rows = [PushRow(push=p, content=done.content) for p in done.pushes]
    labels = await pushes.recipient_labels(session=session, rows=rows)
    return GroupPushOut(
        content_id=done.content.id, created=done.created, held=done.held, held_share_bp=done.content.held_share_bp,
        hold_note=done.content.hold_note, pushes=[push_out(r, labels) for r in rows],
    )


@router.post("/brands/{brand_id}/pushes/{push_id}/release", response_model=DecisionOut,
             summary="放行被 70/30 暂扣的推送（员工；重新计算占比，仍超上限则 409）")
async def release(brand_id: IdPath, push_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> DecisionOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    done = await group_pushes.release(session=session, brand_id=brand_id, push_id=push_id, actor_user_id=user.user_id,
                                      now=now)
    return DecisionOut(content_id=done.content_id, changed=done.changed)


@router.post("/brands/{brand_id}/pushes/{push_id}/discard", response_model=DecisionOut,
             summary="丢弃被 70/30 暂扣的推送（员工）")
async def discard(brand_id: IdPath, push_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> DecisionOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    done = await group_pushes.discard(session=session, brand_id=brand_id, push_id=push_id, actor_user_id=user.user_id,
                                      now=now)
    return DecisionOut(content_id=done.content_id, changed=done.changed)


# --- the leader -----------------------------------------------------------------------------------------


async def _leader_group(session: AsyncSession, leader) -> LeaderGroupOut:  # noqa: ANN001
    place = await brands.get_community(session=session, brand_id=leader.brand_id, community_id=leader.community_id)
    group = await community.group_of_community(session=session, community_id=leader.community_id)
    return LeaderGroupOut(community_id=place.id, community_name=place.name,
                          group=await group_out(session, group) if group else None)


@router.get("/brands/{brand_id}/leader/community-group", response_model=LeaderGroupOut, summary="我的小区社区群（团长）")
async def my_community_group(brand_id: IdPath, user: AuthUser, session: ReadSession) -> LeaderGroupOut:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    return await _leader_group(session, leader)


@router.put("/brands/{brand_id}/leader/community-group", response_model=LeaderGroupOut,
            summary="设置我的小区社区群的入群链接（团长；还没有群时按默认名称建群）")
async def set_my_join_link(
    brand_id: IdPath, body: LeaderGroupIn, user: AuthUser, session: WriteSession, ctx: Ctx, now: Now
) -> LeaderGroupOut:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    await community.set_join_url_as_leader(session=session, leader=leader, join_url=body.join_url,
                                           allow_loopback=ctx.settings.dev_mode, now=now)
    return await _leader_group(session, leader)


# --- the member -----------------------------------------------------------------------------------------


@router.get("/me/community-groups", response_model=Page[MyGroupOut], summary="邀请我加入的社区群（首单后）")
async def my_groups(user: AuthUser, session: ReadSession, paging: Paging) -> Page[MyGroupOut]:
    rows = await invites.invitations_of(session=session, user_id=user.user_id)
    places = await brands.communities_by_ids(session=session, community_ids={g.community_id for _, g in rows})
    return page_of([
        MyGroupOut(group_id=g.id, brand_id=g.brand_id, name=g.name, community_name=places[g.community_id].name,
                   join_url=g.join_url, invited_at=i.invited_at)
        for i, g in rows
    ], paging)


@router.get("/me/community-groups/{group_id}/qr.png", summary="入群二维码（受邀的邻居本人）",
            responses={200: {"content": {"image/png": {}}, "description": "入群链接的二维码"}})
async def my_group_qr(group_id: IdPath, user: AuthUser, session: ReadSession) -> Response:
    group = await invites.invitation_to(session=session, user_id=user.user_id, group_id=group_id)
    if group is None:
        raise NotFound("社区群不存在", code="community_group_not_found")
    if not group.join_url:
        raise Conflict("该群暂未设置入群链接", code="join_url_missing")
    return Response(qrcodes.qr_png(group.join_url), media_type="image/png",
                    headers={"Cache-Control": "private, no-store"})
