from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from linli.replica import staleness_field

# Ranges are checked by rules.validate (with their own error codes), so every caller gets them.


class ProductOverride(BaseModel):
    product_id: int = Field(ge=1)
    rate_bp: int = Field(description="基点，1500 = 15%")


class SessionOverride(BaseModel):
    session_id: int = Field(ge=1)
    product_id: int | None = Field(default=None, ge=1, description="为空表示本场所有商品")
    rate_bp: int


class TierIn(BaseModel):
    threshold_fen: int = Field(description="月销售额门槛（分，扣除退款）")
    bonus_fen: int = Field(default=0, description="现金奖励（分）")
    reward: str = Field(default="", max_length=100, description="实物奖励说明")


class RulesIn(BaseModel):
    live_rate_bp: int = Field(examples=[1500], description="直播间订单基础佣金率（基点）")
    off_session_rate_bp: int = Field(examples=[1000], description="非直播订单佣金率（基点）")
    product_overrides: list[ProductOverride] = Field(default_factory=list, max_length=500)
    session_overrides: list[SessionOverride] = Field(default_factory=list, max_length=500)
    referral_rate_bp: int = Field(examples=[200], description="拉新奖励：额外佣金率（基点）")
    referral_months: int = Field(examples=[12], description="拉新奖励期（月）")
    self_purchase_counts: bool = Field(description="团长本人购买是否计佣")
    tier_bonuses: list[TierIn] = Field(default_factory=list, max_length=10)
    settlement_window_days: int = Field(examples=[1], description="售后期（天）：0 = 完成即可提现，1 = T+1")
    note: str = Field(default="", max_length=200, description="修改说明")


class TierOut(BaseModel):
    threshold_fen: int
    bonus_fen: int
    reward: str


class RulesOut(BaseModel):
    id: int | None = Field(description="规则版本 id；从未修改过的品牌为 null（默认规则）")
    version: int
    is_default: bool
    live_rate_bp: int
    off_session_rate_bp: int
    product_overrides: list[ProductOverride]
    session_overrides: list[SessionOverride]
    referral_rate_bp: int
    referral_months: int
    self_purchase_counts: bool
    tier_bonuses: list[TierOut]
    settlement_window_days: int
    note: str
    created_at: datetime
    created_by_user_id: int | None


class BalancesOut(BaseModel):
    pending_fen: int = Field(description="待结算：已支付、未过售后期")
    available_fen: int = Field(description="可提现（扣回已提现的佣金后可能为负，之后的收入会先补上）")
    withdrawing_fen: int = Field(description="提现中")


class CommissionLineOut(BaseModel):
    order_id: int
    member_name: str = Field(description="脱敏昵称")
    member_phone: str = Field(description="脱敏手机号")
    product_name: str
    quantity: int
    paid_fen: int
    rule: str
    rule_text: str
    rule_version: int
    rule_version_id: int
    rate_bp: int
    referral_bp: int
    commission_fen: int
    refunded_fen: int
    clawed_back_fen: int
    net_fen: int
    settled_fen: int
    status: str
    status_text: str
    paid_at: datetime
    completed_at: datetime | None
    available_from: datetime | None = Field(description="可提现时间（订单完成后才确定）")
    available_from_date: date | None = Field(description="可提现日期（品牌时区）")
    settled_at: datetime | None


class CommissionOut(BaseModel):
    leader_id: int
    balances: BalancesOut
    items: list[CommissionLineOut]
    total: int
    page: int
    page_size: int


class StatementOrderOut(BaseModel):
    order_id: int
    commission_line_id: int
    member_name: str = Field(description="脱敏昵称")
    member_phone: str = Field(description="脱敏手机号")
    product_name: str
    quantity: int
    paid_fen: int = Field(description="实付（分）")
    rule: str
    rule_text: str
    rule_version: int
    rate_bp: int
    referral_bp: int
    status: str = Field(description="这一单佣金的当前状态")
    status_text: str
    available_from_date: date | None = Field(description="可提现日期（品牌时区）；提货前为空")


class SettledOrderOut(BaseModel):
    order: StatementOrderOut
    settled_fen: int = Field(description="本单转为可提现的佣金（分）")


class StatementLineOut(BaseModel):
    transaction_id: int
    posted_at: datetime
    kind: str
    kind_text: str
    memo: str
    order_id: int | None
    refund_id: int | None
    order: StatementOrderOut | None = Field(description="佣金相关的行（入账、扣回、结算）对应的订单；其他行为空")
    moved: BalancesOut = Field(description="这一笔在待结算、可提现、提现中各变动多少（分，带正负）")
    balance_after: BalancesOut = Field(description="这一笔之后的余额")
    settled_orders: list[SettledOrderOut] = Field(
        default_factory=list, description="结算行：这笔结算转为可提现的各笔订单及其金额（合计等于本行可提现变动）"
    )


class StatementOut(BaseModel):
    brand_id: int
    leader_id: int
    period: str = Field(description="day 或 month")
    on: date
    label: str = Field(examples=["2026-11"])
    timezone: str
    starts_at: datetime
    ends_at: datetime = Field(description="不含")
    opening: BalancesOut = Field(description="期初余额")
    moved: BalancesOut = Field(description="本期合计变动")
    closing: BalancesOut = Field(description="期末余额 = 期初 + 本期变动")
    items: list[StatementLineOut] = Field(description="按记账顺序")
    total: int
    page: int
    page_size: int


class ReportRowOut(BaseModel):
    key: int | None = Field(description="社区 id 或直播场次 id；非直播订单、合计行为空")
    name: str
    orders: int
    paid_fen: int
    refunded_fen: int
    accrued_fen: int = Field(description="佣金（入账）")
    clawed_back_fen: int
    net_fen: int = Field(description="净佣金 = 佣金 − 扣回")
    settled_fen: int = Field(description="已结算转入可提现")
    pending_fen: int = Field(description="仍在待结算")


class CommissionReportOut(BaseModel):
    brand_id: int
    date_from: date
    date_to: date
    timezone: str
    starts_at: datetime
    ends_at: datetime
    by_community: list[ReportRowOut]
    by_session: list[ReportRowOut]
    total: ReportRowOut
    staleness_seconds: float | None = staleness_field()
