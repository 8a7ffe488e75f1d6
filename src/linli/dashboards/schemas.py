from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from linli.replica import staleness_field


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
    pending_fen: int = Field(description="待结算佣金（佣金四项总读自主库，不受数据延迟影响）")
    available_fen: int = Field(description="可提现佣金")
    withdrawing_fen: int = Field(description="提现中")
    withdrawn_fen: int = Field(description="已提现")
    rank: int | None = Field(description="本期成交额在品牌团长中的名次（1 为最高）；本期无成交时为空")
    ranked_leaders: int = Field(description="本期有成交的团长数")
    staleness_seconds: float | None = staleness_field()


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


class CommunityOut(BaseModel):
    community_id: int | None = Field(description="订单记录的自提小区；为空时是未记录小区的订单")
    name: str
    orders: int
    paid_fen: int
    refunded_fen: int
    gmv_fen: int


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
    staleness_seconds: float | None = staleness_field()
    communities: list[CommunityOut] = Field(
        description="范围内有成交的小区（订单的自提小区）及其成交额，从高到低；随团长、小区筛选变化"
    )


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
    staleness_seconds: float | None = staleness_field()


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
    staleness_seconds: float | None = staleness_field()


class FunnelOut(BaseModel):
    views: int = Field(description="进入直播间次数（经团长邀请码或直接进入）")
    entries: int = Field(description="登录后进入的不同用户数（按团长分别去重后相加）")
    orders: int = Field(description="场次内下单数（含未支付）")
    paid_orders: int = Field(description="其中已支付的订单数（含之后退款的）")


class LeaderFunnelOut(FunnelOut):
    leader_id: int
    name: str = Field(description="团长真实姓名")


class SessionCommunityOut(FiguresOut):
    community_id: int
    name: str
    baseline_fen: int = Field(description="该小区开播日前 28 天的非直播成交额（合计，不是日均）")


class SessionKpiOut(FiguresOut):
    session_id: int
    title: str
    status: str = Field(description="live（直播中，漏斗为实时数）或 ended")
    started_at: datetime
    start_day: date = Field(description="开播日（品牌时区）")
    communities: list[SessionCommunityOut] = Field(description="本场有已支付订单的自提小区，按成交额从高到低")
    baseline_fen: int = Field(description="这些小区开播日前 28 天的非直播成交额合计")
    baseline_day_fen: int = Field(description="基线日均 = baseline_fen ÷ 28，向下取整")
    multiple_bp: int | None = Field(
        description="本场成交额是基线日均的多少倍，基点，10000 = 1 倍（按 成交额 × 28 × 10000 ÷ baseline_fen 向下取整）；基线为 0 时为空"
    )
    funnel: FunnelOut


class CommunityGmvOut(FiguresOut):
    community_id: int
    name: str
    session_gmv_fen: int = Field(description="其中直播场次订单的成交额")


class CommunityTotalsOut(FiguresOut):
    session_gmv_fen: int


class SessionsDashboardOut(BaseModel):
    first_day: date = Field(description="开始日期（含，品牌时区）")
    last_day: date = Field(description="结束日期（含）")
    today: date
    session_id: int | None = Field(description="只看这一场时为其 id")
    sessions: list[SessionKpiOut] = Field(description="范围内开播的场次（按开播时间），或只有所选场次")
    funnel: FunnelOut = Field(description="这些场次的漏斗合计")
    leaders: list[LeaderFunnelOut] = Field(description="按团长的漏斗（这些场次相加），已支付订单最多的前 50 位")
    unattributed: FunnelOut = Field(description="未经团长邀请码的进入、未绑定用户的订单")
    communities: list[CommunityGmvOut] = Field(description="范围内成交额前 20 的自提小区（按支付日，不随场次筛选变化）")
    community_totals: CommunityTotalsOut = Field(description="范围内所有小区合计")
    staleness_seconds: float | None = staleness_field()


class ClaimFiguresOut(BaseModel):
    paid_lines: int = Field(description="范围内支付的订单行数（一单一行）")
    claimed_lines: int = Field(description="其中提交过售后申请的订单行数")
    claims: int = Field(description="这些订单上提交的售后申请数")
    rate_bp: int | None = Field(description="售后率 = claimed_lines × 10000 ÷ paid_lines，基点，向下取整；无支付时为空")


class NamedClaimFiguresOut(ClaimFiguresOut):
    id: int = Field(description="商品 id 或团长 id")
    name: str


class ClaimsDashboardOut(BaseModel):
    first_day: date
    last_day: date
    today: date
    totals: ClaimFiguresOut
    products: list[NamedClaimFiguresOut] = Field(description="范围内有支付的每个商品，售后订单多的在前")
    leaders: list[NamedClaimFiguresOut] = Field(description="售后订单最多的前 50 位团长")
    staleness_seconds: float | None = staleness_field()
