from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

# Ranges are checked by service.validate_policy (with their own error code), so every caller gets them.


class PolicyIn(BaseModel):
    window_hours: int = Field(examples=[48], description="提货后多少小时内可申请售后")
    instant_enabled: bool = Field(description="是否开启小额极速退款")
    instant_max_fen: int = Field(examples=[3000], description="极速退款的最高金额（分）")
    instant_lookback_days: int = Field(examples=[90], description="统计用户售后记录的天数")
    instant_max_recent_claims: int = Field(examples=[3], description="统计期内售后次数少于此数才可极速退款")
    instant_max_claim_rate_bp: int = Field(examples=[2000], description="统计期内 售后次数 ÷ 提货订单数 不超过此值（基点）")
    note: str = Field(default="", max_length=200, description="修改说明")


class PolicyOut(BaseModel):
    version: int
    is_default: bool
    window_hours: int
    instant_enabled: bool
    instant_max_fen: int
    instant_lookback_days: int
    instant_max_recent_claims: int
    instant_max_claim_rate_bp: int
    note: str
    created_at: datetime | None
    created_by_user_id: int | None


class ClaimPhotoOut(BaseModel):
    id: int
    content_type: str
    size_bytes: int
    url: str = Field(description="带登录凭证访问：仅本人、自提点团长与品牌员工可见")


class ClaimOut(BaseModel):
    id: int
    order_id: int
    brand_id: int
    product_name: str
    sku_name: str
    ordered_quantity: int
    paid_fen: int
    wave_id: int | None
    reason: str = Field(description="bad 坏果/破损，missing 少件/漏发，wrong 发错货，other 其他")
    reason_text: str
    quantity: int
    amount_asked_fen: int
    description: str
    status: str = Field(description="reviewing 待审核，refunding 退款中，refunded 已退款，refund_failed 退款失败，rejected 已驳回")
    status_text: str
    decision: str | None = Field(description="instant 极速退款，approved 同意，partial 部分同意，rejected 驳回")
    decision_reason: str | None
    approved_fen: int
    refunded_fen: int
    filed_by: str = Field(description="member 用户本人，leader 团长代提交")
    filed_at: datetime
    received_at: datetime = Field(description="提货时间（少件且未提货时为到站时间），售后期从此开始")
    decided_at: datetime | None
    refunded_at: datetime | None
    member_name: str | None = Field(default=None, description="团长看到的是脱敏姓名")
    member_phone: str | None = Field(default=None, description="团长看到的是脱敏手机号")
    photos: list[ClaimPhotoOut]


class ClaimChangeOut(BaseModel):
    from_status: str | None
    to_status: str
    note: str | None
    changed_at: datetime


class ClaimDetail(ClaimOut):
    history: list[ClaimChangeOut]


class ClaimSummaryOut(BaseModel):
    claim_id: int
    filed_at: datetime
    reason: str
    reason_text: str
    status: str
    status_text: str
    amount_asked_fen: int
    approved_fen: int
    refunded_fen: int
    decided_at: datetime | None
    refunded_at: datetime | None


class DecisionIn(BaseModel):
    decision: Literal["approve", "partial", "reject"] = Field(description="approve 同意，partial 部分同意，reject 驳回")
    amount_fen: int | None = Field(default=None, ge=1, le=100_000_000, description="部分同意的金额（分）")
    reason: str | None = Field(default=None, max_length=200, description="部分同意与驳回须填写原因")


class ClaimRateOut(BaseModel):
    key: int | None = Field(description="商品、配送批次或团长的 id；为空表示无批次或无团长的订单")
    name: str | None = Field(description="商品名称、配送批次的小区名称或团长姓名；key 为空时为空")
    delivered_orders: int
    paid_fen: int
    claims: int
    refunded_claims: int
    refunded_fen: int
    claim_rate_bp: int | None = Field(description="售后次数 ÷ 提货订单数（基点，四舍五入）；无提货订单时为空")
    refund_rate_bp: int | None = Field(description="退款金额 ÷ 实付金额（基点，四舍五入）")


class ClaimRatesOut(BaseModel):
    by: str
    start: date
    end: date
    items: list[ClaimRateOut]
