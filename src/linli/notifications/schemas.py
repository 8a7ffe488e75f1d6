from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from linli.pagination import Page


class NotificationOut(BaseModel):
    id: int
    brand_id: int | None
    kind: str
    title: str
    body: str
    order_id: int | None
    link: str | None
    created_at: datetime
    read_at: datetime | None


class InboxOut(Page[NotificationOut]):
    unread: int


class UnreadOut(BaseModel):
    unread: int


class MarkedOut(BaseModel):
    marked: int


class ChannelPreferenceOut(BaseModel):
    channel: Literal["inbox", "sms"]
    label: str
    muted: bool


class PreferencesOut(BaseModel):
    brand_id: int
    channels: list[ChannelPreferenceOut]


class PreferencesIn(BaseModel):
    muted: list[Literal["inbox", "sms"]] = Field(
        max_length=2, description="要静音的渠道（该品牌的营销推送）：inbox 站内信、sms 短信；空列表为全部接收"
    )


class PushOut(BaseModel):
    """One push: a content to one recipient on one channel (for a robot: its text, or its image)."""

    id: int
    content_id: int
    kind: str
    tag: Literal["value", "commerce"]
    title: str
    channel: str
    channel_text: str
    part: str
    state: str
    state_text: str
    recipient_user_id: int | None
    recipient: str = Field(description="接收人（手机号脱敏），或群机器人")
    group_id: int | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    reason: str | None = Field(description="发送失败、跳过或暂扣的原因")
    held_share_bp: int | None = Field(description="暂扣时的商业内容占比（基点）")
    created_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None


class PushPage(Page[PushOut]):
    counts: dict[str, int] = Field(description="各状态的推送数：pending、sent、failed、held、skipped、discarded")


class PushSettingsOut(BaseModel):
    brand_id: int
    wecom_webhook: str = Field(description="品牌自己的企业微信群机器人地址（脱敏）；空为未设置")


class PushSettingsIn(BaseModel):
    wecom_webhook_url: str = Field(
        max_length=500, description="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…；空字符串为移除"
    )
