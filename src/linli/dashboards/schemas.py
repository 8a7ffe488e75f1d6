from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class RepurchaseOut(BaseModel):
    month: date = Field(description="该月付款的成员中，次月再次付款的比例（次月进行中时为截至今日）")
    paying_members: int
    bought_again_next_month: int
    rate_bp: int | None = Field(description="基点，8500 = 85%；该月无人付款时为空")


class LeaderDashboardOut(BaseModel):
    period: str = Field(description="today、week、month 或 YYYY-MM")
    first_day: date
    last_day: date
    today: date = Field(description="品牌时区的今天")
    orders: int = Field(description="已支付订单数")
    paid_fen: int
    refunded_fen: int = Field(description="这些订单的退款（计入原订单支付日）")
    gmv_fen: int = Field(description="成交额 = 已付 − 已退")
    paying_members: int = Field(description="付款成员数（去重）")
    new_members: int = Field(description="新绑定成员数")
    repurchase: RepurchaseOut
    pending_fen: int = Field(description="待结算佣金")
    available_fen: int = Field(description="可提现佣金")
    withdrawing_fen: int = Field(description="提现中")
    withdrawn_fen: int = Field(description="已提现")
    rank: int | None = Field(description="本期成交额在品牌团长中的名次（1 为最高）；本期无成交时为空")
    ranked_leaders: int = Field(description="本期有成交的团长数")


class FiguresOut(BaseModel):
    orders: int = Field(description="已支付订单数")
    paid_fen: int
    refunded_fen: int = Field(description="这些订单的退款（计入原订单支付日）")
    gmv_fen: int = Field(description="成交额 = 已付 − 已退")


class DayOut(FiguresOut):
    day: date = Field(description="品牌时区的日期；无成交的日子为 0")


class TopLeaderOut(BaseModel):
    leader_id: int
    name: str = Field(description="团长真实姓名")
    orders: int
    gmv_fen: int


class MonthOut(BaseModel):
    month: date = Field(description="该月第一天（品牌时区）")
    paying_members: int = Field(description="该月付款成员数（去重）")
    bought_again_next_month: int = Field(description="其中次月再次付款的人数（次月进行中时为截至今日）")
    rate_bp: int | None = Field(description="复购率，基点，8500 = 85%；该月无人付款时为空")


class BrandDashboardOut(BaseModel):
    first_day: date = Field(description="开始日期（含，品牌时区）")
    last_day: date = Field(description="结束日期（含）")
    today: date = Field(description="品牌时区的今天")
    leader_id: int | None = Field(description="只看这位团长时为其 id")
    community_id: int | None = Field(description="只看这个小区（订单的自提小区）时为其 id")
    totals: FiguresOut
    days: list[DayOut] = Field(description="范围内每一天，含无成交的日子")
    leaders: list[TopLeaderOut] = Field(description="范围内成交额前 20 的团长（全品牌，不随筛选变化）")
    months: list[MonthOut] = Field(description="范围涉及的每个自然月的复购")


class IncomeBucketOut(BaseModel):
    key: str = Field(description="negative（<0）、zero（0）、under_100（0–100 元）、100_500、500_1000、1000_3000、3000_plus（≥3000 元）")
    low_fen: int | None = Field(description="下限（含）；空为无下限")
    high_fen: int | None = Field(description="上限（不含）；空为无上限")
    leaders: int


class IncomeOut(BaseModel):
    leaders: int = Field(description="计入的团长数：该月有已支付订单或有佣金入账/扣回的本品牌团长")
    total_fen: int = Field(description="该月佣金入账 − 该月扣回（按记账时间，品牌时区）")
    mean_fen: int | None = Field(description="平均，四舍五入到分；无团长时为空")
    median_fen: int | None = Field(description="中位数（偶数个时取中间两个的平均，四舍五入）")
    buckets: list[IncomeBucketOut]


class ChurnOut(BaseModel):
    core_leaders: int = Field(description="该月的核心团长：前三个完整月每月成交额均在前 20%")
    churned: int = Field(description="其中次月没有已支付订单的人数")
    rate_bp: int | None = Field(description="流失率，基点；无核心团长时为空")
    final: bool = Field(description="次月已结束（否则为截至今日）")


class LeaderMonthOut(BaseModel):
    month: date = Field(description="该月第一天（品牌时区）")
    income: IncomeOut
    churn: ChurnOut


class LeaderKpisOut(BaseModel):
    month: date = Field(description="所选月份（默认本月）")
    today: date = Field(description="品牌时区的今天")
    months: list[LeaderMonthOut] = Field(description="所选月份及之前 6 个月，由远到近")


class GrowthDayOut(BaseModel):
    day: date
    leaders_approved: int = Field(description="当天审核通过的新团长（恢复任职不算）")
    members_bound: int = Field(description="当天首次绑定本品牌团长的新成员（转移、改判、过期后重绑不算）")


class GrowthOut(BaseModel):
    first_day: date
    last_day: date
    today: date
    leaders_approved: int
    members_bound: int
    days: list[GrowthDayOut] = Field(description="范围内每一天，含为 0 的日子")
