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
