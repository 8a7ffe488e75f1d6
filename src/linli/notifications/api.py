"""The caller's own inbox (list, unread count, mark read: nobody reads another person's messages) and the
channels the caller muted for a brand's pushes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from linli.brands.schemas import IdPath
from linli.notifications import preferences, service
from linli.notifications.channels import CHANNEL_TEXT, MUTABLE_CHANNELS
from linli.notifications.schemas import (
    ChannelPreferenceOut,
    InboxOut,
    MarkedOut,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    UnreadOut,
)
from linli.pagination import PageParams, page_params
from linli.http import AuthUser, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["notifications"])
Paging = Annotated[PageParams, Depends(page_params)]


def _out(row) -> NotificationOut:  # noqa: ANN001
    return NotificationOut.model_validate(row, from_attributes=True)


@router.get("/me/notifications", response_model=InboxOut, summary="我的消息（站内信，最新在前）")
async def inbox(
    user: AuthUser,
    session: ReadSession,
    paging: Paging,
    unread: Annotated[bool, Query(description="只看未读")] = False,
) -> InboxOut:
    rows, total = await service.list_inbox(session=session, user_id=user.user_id, unread_only=unread, params=paging)
    return InboxOut(
        items=[_out(r) for r in rows], total=total, page=paging.page, page_size=paging.page_size,
        unread=await service.unread_count(session=session, user_id=user.user_id),
    )


@router.get("/me/notifications/unread-count", response_model=UnreadOut, summary="未读消息数")
async def unread_count(user: AuthUser, session: ReadSession) -> UnreadOut:
    return UnreadOut(unread=await service.unread_count(session=session, user_id=user.user_id))


@router.post("/me/notifications/{notification_id}/read", response_model=NotificationOut, summary="标记一条消息已读")
async def mark_read(notification_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> NotificationOut:
    return _out(await service.mark_read(session=session, user_id=user.user_id, notification_id=notification_id, now=now))


@router.post("/me/notifications/read-all", response_model=MarkedOut, summary="全部标记已读")
async def mark_all_read(user: AuthUser, session: WriteSession, now: Now) -> MarkedOut:
    return MarkedOut(marked=await service.mark_all_read(session=session, user_id=user.user_id, now=now))


# --- muting a brand's pushes -----------------------------------------------------------------------------


def _preferences(brand_id: int, muted: set[str]) -> PreferencesOut:
    return PreferencesOut(brand_id=brand_id, channels=[
        ChannelPreferenceOut(channel=c, label=CHANNEL_TEXT[c], muted=c in muted) for c in MUTABLE_CHANNELS
    ])


@router.get("/brands/{brand_id}/me/push-preferences", response_model=PreferencesOut,
            summary="我在该品牌静音的推送渠道（站内信、短信；交易消息不可静音）")
async def my_preferences(brand_id: IdPath, user: AuthUser, session: ReadSession) -> PreferencesOut:
    await preferences.require_member(session=session, brand_id=brand_id, user_id=user.user_id)
    muted = await preferences.muted_channels(session=session, brand_id=brand_id, user_id=user.user_id)
    return _preferences(brand_id, muted)


@router.put("/brands/{brand_id}/me/push-preferences", response_model=PreferencesOut, summary="设置我静音的推送渠道")
async def set_my_preferences(
    brand_id: IdPath, body: PreferencesIn, user: AuthUser, session: WriteSession, now: Now
) -> PreferencesOut:
    muted = await preferences.set_muted(
        session=session, brand_id=brand_id, user_id=user.user_id, muted=set(body.muted), now=now
    )
    return _preferences(brand_id, muted)
