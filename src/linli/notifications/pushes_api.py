"""The brand's pushes: every push with its channel, recipient, state, attempts and reason (brand staff), and the
brand's own WeCom robot. Releasing or discarding a held push is the community context's (`community.api`), which
judges the 70/30 guideline again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.http import AuthUser, Ctx, Now, ReadSession, WriteSession
from linli.notifications import pushes, robots
from linli.notifications.channels import CHANNEL_TEXT
from linli.notifications.pushes import STATE_TEXT, PushRow
from linli.notifications.schemas import PushOut, PushPage, PushSettingsIn, PushSettingsOut
from linli.openapi import errors
from linli.pagination import PageParams, page_params

router = APIRouter(prefix="/api/v1", tags=["pushes"])
Paging = Annotated[PageParams, Depends(page_params)]
StateFilter = Annotated[
    str | None, Query(max_length=16, description="pending / sent / failed / held / skipped / discarded")
]
GroupFilter = Annotated[int | None, Query(ge=1, le=2**63 - 1, description="只看发到该社区群的推送")]


def push_out(row: PushRow, labels: dict[int, str]) -> PushOut:
    push, content = row.push, row.content
    return PushOut(
        id=push.id, content_id=content.id, kind=content.kind, tag=content.tag, title=content.title,
        channel=push.channel, channel_text=CHANNEL_TEXT.get(push.channel, push.channel), part=push.part,
        state=push.state, state_text=STATE_TEXT.get(push.state, push.state), recipient_user_id=push.user_id,
        recipient=labels.get(push.id, ""), group_id=content.group_id, attempts=push.attempts,
        next_attempt_at=push.next_attempt_at, last_error=push.last_error, reason=push.reason,
        held_share_bp=content.held_share_bp, created_at=push.created_at, sent_at=push.sent_at,
        finished_at=push.finished_at,
    )


@router.get("/brands/{brand_id}/pushes", response_model=PushPage, summary="品牌的推送与送达状态（员工；最新在前）")
async def list_pushes(
    brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, state: StateFilter = None,
    group_id: GroupFilter = None,
) -> PushPage:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await pushes.list_pushes(
        session=session, brand_id=brand_id, state=state, group_id=group_id, params=paging
    )
    labels = await pushes.recipient_labels(session=session, rows=rows)
    return PushPage(
        items=[push_out(r, labels) for r in rows], total=total, page=paging.page, page_size=paging.page_size,
        counts=await pushes.state_counts(session=session, brand_id=brand_id),
    )


def _settings_out(brand_id: int, robot) -> PushSettingsOut:  # noqa: ANN001
    return PushSettingsOut(brand_id=brand_id, wecom_webhook=robots.mask_webhook(robot.webhook_url if robot else None))


@router.get("/brands/{brand_id}/push-settings", response_model=PushSettingsOut, summary="品牌的企业微信群机器人（员工）")
async def push_settings(brand_id: IdPath, user: AuthUser, session: ReadSession) -> PushSettingsOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return _settings_out(brand_id, await robots.brand_robot(session=session, brand_id=brand_id))


@router.put("/brands/{brand_id}/push-settings", response_model=PushSettingsOut, responses=errors(409),
            summary="设置品牌的企业微信群机器人（员工；空字符串为移除）")
async def set_push_settings(
    brand_id: IdPath, body: PushSettingsIn, user: AuthUser, session: WriteSession, ctx: Ctx, now: Now
) -> PushSettingsOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    robot = await robots.set_brand_robot(
        session=session, brand_id=brand_id, url=body.wecom_webhook_url, policy=robots.WebhookPolicy.of(ctx.settings),
        now=now,
    )
    return _settings_out(brand_id, robot)
