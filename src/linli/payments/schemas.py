from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class PaymentCreate(BaseModel):
    provider: str | None = Field(default=None, max_length=16, description="支付方式：simulator（默认）或 wechatpay")


class RefundOut(BaseModel):
    id: int
    out_refund_no: str
    amount_fen: int
    reason: str
    status: str
    created_at: datetime
    completed_at: datetime | None


class PaymentOut(BaseModel):
    id: int
    order_id: int
    provider: str
    out_trade_no: str
    amount_fen: int
    status: str = Field(
        description="pending 待支付，succeeded 已支付，failed 支付失败；已支付的款项退回后为 partially_refunded 部分退款、refunded 已全额退款"
    )
    refunded_fen: int = Field(description="已退回的金额（分）：渠道确认成功的退款之和，处理中的不算")
    prepay: dict[str, Any] = Field(description="客户端发起支付所需参数：模拟器为 pay_url，微信支付为 wx.requestPayment 参数")
    created_at: datetime
    succeeded_at: datetime | None
    refunds: list[RefundOut] = []


class SimulatorComplete(BaseModel):
    outcome: Literal["success", "fail"] = "success"
    delay_ms: int = Field(default=0, ge=0, le=60_000, description="延迟多少毫秒后发送通知")
    duplicates: int = Field(default=0, ge=0, le=5, description="额外重复发送同一通知的次数")


class SignedNotificationOut(BaseModel):
    headers: dict[str, str]
    body: str


class SimulatorCompleted(BaseModel):
    out_trade_no: str
    outcome: str
    scheduled: bool = Field(description="true：通知将在 delay_ms 后异步送达")
    outcomes: list[str] = Field(description="每次送达的处理结果（同步送达时）")
    message: str = Field(description="给付款人看的结果：支付成功、超时但名额仍在、名额已售罄将原路退回、支付失败……")
    notifications: list[SignedNotificationOut]


class NotifyResult(BaseModel):
    outcome: str
