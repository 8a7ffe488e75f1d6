from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from linli.brands.schemas import MAX_ID
from linli.notifications.schemas import PushOut


class ShareOut(BaseModel):
    commerce: int = Field(description="最近 N 条消息中的商业内容条数")
    counted: int = Field(description="计入的消息条数（不足 N 条时为已有条数）")
    share_bp: int = Field(description="商业内容占比（基点，3000 = 30%）")


class GroupOut(BaseModel):
    id: int
    brand_id: int
    community_id: int
    community_name: str
    name: str
    join_url: str | None
    wecom_webhook: str = Field(description="群机器人地址（脱敏）；空为未设置")
    commerce_ceiling_bp: int = Field(description="商业内容上限（基点），默认 3000 = 30%")
    window_messages: int = Field(description="按最近多少条消息计算占比，默认 10")
    ready_at: datetime | None = Field(description="第一次有入群链接的时间（此前付款的邻居此时收到邀请）")
    invited: int = Field(description="已邀请的邻居数")
    share: ShareOut


class GroupCreateIn(BaseModel):
    community_id: int = Field(ge=1, le=MAX_ID)
    name: str | None = Field(default=None, min_length=1, max_length=64, description="默认：小区·品牌品质生活圈")


class GroupPatchIn(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    join_url: str | None = Field(default=None, max_length=500, description="微信群邀请链接（https）；空字符串为清除")
    wecom_webhook_url: str | None = Field(
        default=None, max_length=500, description="企业微信群机器人 https://qyapi.weixin.qq.com/…；空字符串为移除"
    )
    commerce_ceiling_bp: int | None = Field(default=None, ge=0, le=10_000)
    window_messages: int | None = Field(default=None, ge=1, le=100)


class GroupPushIn(BaseModel):
    title: str = Field(min_length=1, max_length=64)
    body: str = Field(min_length=1, max_length=2000)
    markdown: str | None = Field(default=None, max_length=8192, description="企业微信 markdown（≤ 4096 字节）")
    tag: Literal["value", "commerce"]
    link: str | None = Field(default=None, max_length=255, description="本站页面路径（/…）或 https 地址")
    dedupe_key: str | None = Field(default=None, min_length=1, max_length=100, description="同一键只推送一次；默认每次新推送")


class GroupPushOut(BaseModel):
    content_id: int
    created: bool = Field(description="false：该 dedupe_key 已推送过，未重复写入")
    held: bool = Field(description="true：超过 70/30 上限，已暂扣，等待品牌放行或丢弃")
    held_share_bp: int | None
    hold_note: str | None
    pushes: list[PushOut]


class DecisionOut(BaseModel):
    content_id: int
    changed: int = Field(description="改变状态的推送行数")


class LeaderGroupIn(BaseModel):
    join_url: str = Field(max_length=500, description="微信群邀请链接（https）；空字符串为清除")


class LeaderGroupOut(BaseModel):
    community_id: int
    community_name: str
    group: GroupOut | None


class MyGroupOut(BaseModel):
    group_id: int
    brand_id: int
    name: str
    community_name: str
    join_url: str | None
    invited_at: datetime


class PostOut(BaseModel):
    id: int
    brand_id: int
    community_id: int
    kind: Literal["show", "recipe"] = Field(description="show 晒单，recipe 食谱")
    tag: Literal["value", "commerce"] = Field(description="70/30 标签：关联订单的晒单为 commerce，其余为 value")
    title: str
    body: str
    author: str = Field(description="作者昵称（对其他邻居脱敏，如 小*）")
    order_id: int | None
    status: Literal["pending", "approved", "hidden"]
    hide_reason: str | None
    featured: bool
    reward_coupon_id: int | None
    created_at: datetime
    approved_at: datetime | None
    photo_urls: list[str]


class HideIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200, description="隐藏原因（会告知作者）")


class FeatureOut(BaseModel):
    post: PostOut
    changed: bool = Field(description="false：之前已设为精选，未再次发券")


class UgcSettingsIn(BaseModel):
    reward_template_id: int | None = Field(ge=1, le=MAX_ID, description="精选奖励的优惠券模板；null 为不设置")


class UgcSettingsOut(BaseModel):
    reward_template_id: int | None


class ValueShareOut(BaseModel):
    community_id: int
    community_name: str
    value_posts: int = Field(description="最近 30 天通过的价值内容帖子数")
    approved_posts: int = Field(description="最近 30 天通过的帖子数")
    share_bp: int | None = Field(description="价值内容占比（基点，7000 = 70%）；无帖子为 null")
    group_value: int | None = Field(description="社区群最近 N 条消息中的价值内容条数；无群为 null")
    group_counted: int | None
