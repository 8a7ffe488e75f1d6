from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

# Ranges are checked by the service (with their own error codes), so every caller gets them.


class PolicyIn(BaseModel):
    min_amount_fen: int = Field(examples=[1000], description="单笔最低提现金额（分）")
    fee_bp: int = Field(examples=[0], description="手续费率（基点，60 = 0.6%）；手续费四舍五入到分")
    daily_cap_fen: int = Field(examples=[500000], description="每位团长每个自然日（品牌时区）最多申请的提现金额（分）")


class PolicyOut(BaseModel):
    min_amount_fen: int
    fee_bp: int
    daily_cap_fen: int
    is_default: bool = Field(description="品牌从未设置过时为 true（使用默认值）")
    updated_at: datetime | None
    updated_by_user_id: int | None


class LeaderPolicyOut(BaseModel):
    policy: PolicyOut
    available_fen: int = Field(description="可提现余额（扣回已提现的佣金后可能为负）")
    withdrawing_fen: int = Field(description="提现中")
    today_requested_fen: int = Field(description="今天（品牌时区）已申请、未退回的提现金额")
    today_remaining_fen: int = Field(description="今天还能申请的额度")
    withdrawable_now_fen: int = Field(description="现在单笔最多可申请的金额（低于最低金额时为 0）")


class WithdrawalIn(BaseModel):
    amount_fen: int = Field(gt=0, le=100_000_000, examples=[10000], description="提现金额（分），手续费从中扣除")


class RejectIn(BaseModel):
    reason: str = Field(max_length=200, examples=["收款信息有误，请核对后重新申请"])


class WithdrawalOut(BaseModel):
    id: int
    leader_id: int
    leader_name: str | None = Field(default=None, description="团长姓名（团长本人与品牌员工都能看到）")
    amount_fen: int
    fee_bp: int
    fee_fen: int
    net_fen: int = Field(description="实际到账金额 = 提现金额 − 手续费")
    status: str = Field(description="requested / approved / paid / failed / rejected / returned")
    status_text: str
    business_date: date
    provider: str | None
    out_batch_no: str | None
    out_detail_no: str | None
    provider_state: str | None
    failure_reason: str | None
    reject_reason: str | None
    requested_at: datetime
    approved_at: datetime | None
    finished_at: datetime | None
    returned_at: datetime | None


class WithdrawalPage(BaseModel):
    items: list[WithdrawalOut]
    total: int
    page: int
    page_size: int


class SimulatorComplete(BaseModel):
    outcome: str = Field(pattern="^(paid|failed|returned)$", description="paid / failed / returned")
    delay_ms: int = Field(default=0, ge=0, le=60_000)
    duplicates: int = Field(default=0, ge=0, le=5)


class SignedNotificationOut(BaseModel):
    headers: dict[str, str]
    body: str


class SimulatorCompleted(BaseModel):
    out_detail_no: str
    outcome: str
    scheduled: bool
    outcomes: list[str]
    notifications: list[SignedNotificationOut]


class NotifyResult(BaseModel):
    outcome: str
