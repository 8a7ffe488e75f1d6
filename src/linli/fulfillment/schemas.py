from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from linli.brands.schemas import MAX_ID, PickupPointOut


class PolicyIn(BaseModel):
    remind_after_hours: int = Field(ge=1, le=720, description="到达后多少小时第一次提醒")
    remind_every_hours: int = Field(ge=1, le=720, description="之后每隔多少小时再提醒")
    max_reminders: int = Field(ge=0, le=10, description="最多提醒几次")
    unclaimed_action: Literal["keep_waiting", "return_refund"] = Field(description="逾期处理：继续等待 / 退货退款")
    unclaimed_after_days: int = Field(ge=1, le=60, description="到达后多少天算逾期（退货退款时生效）")


class PolicyOut(PolicyIn):
    is_default: bool
    updated_at: datetime | None


class WaveIn(BaseModel):
    community_id: int = Field(ge=1, le=MAX_ID, description="自提点所在小区")
    cutoff_at: datetime = Field(description="截单时间（须带时区，且已过）：此前支付的待配送订单进入本批次")
    arrive_after: datetime = Field(description="预计到达自提点的时间（之后可提货）")


class WaveStatusIn(BaseModel):
    status: Literal["packed", "in_transit", "arrived"]


class WaveOut(BaseModel):
    id: int
    brand_id: int
    community_id: int
    community_name: str
    pickup_point: PickupPointOut
    cutoff_at: datetime
    arrive_after: datetime
    status: str
    status_name: str
    created_at: datetime
    packed_at: datetime | None
    shipped_at: datetime | None
    arrived_at: datetime | None
    parcels: dict[str, int] = Field(description="各状态的包裹数")


class ParcelOut(BaseModel):
    """A parcel as staff and the leader see it: no pickup code (only the member holds it), phone masked."""

    id: int
    order_id: int
    wave_id: int | None
    bag_no: int | None
    status: str
    status_name: str
    member_name: str
    member_phone: str
    product_name: str
    sku_name: str
    quantity: int
    total_fen: int = Field(description="商品金额：单价 × 数量")
    payable_fen: int = Field(description="实付：商品金额减优惠券")
    paid_at: datetime
    arrived_at: datetime | None
    picked_up_at: datetime | None
    reminders_sent: int


class PickupIn(BaseModel):
    code: str = Field(min_length=1, max_length=16, description="用户出示的 6 位提货码")
    all_of_member: bool = Field(default=False, description="同时核销该用户在本自提点所有已到货的订单")


class PickupOut(BaseModel):
    verified: list[ParcelOut]


class ProductTotalOut(BaseModel):
    product_name: str
    sku_name: str
    quantity: int
    orders: int


class BagItemOut(BaseModel):
    order_id: int
    product_name: str
    sku_name: str
    quantity: int
    status: str


class BagOut(BaseModel):
    bag_no: int
    member_name: str
    member_phone: str
    items: list[BagItemOut]


class PickListOut(BaseModel):
    wave: WaveOut
    products: list[ProductTotalOut]
    bags: list[BagOut]
    cancelled: int = Field(description="已退款取消、不必打包的订单数")


class PickupCodeOut(BaseModel):
    order_id: int
    code: str | None = Field(description="提货码；已提货、退回或取消后为 null")
    status: str
    status_name: str
    qr_url: str | None
    pickup_point: PickupPointOut


class TimelineEntryOut(BaseModel):
    kind: str
    at: datetime
    title: str
    description: str | None


class TimelineOut(BaseModel):
    order_id: int
    order_status: str
    stage: str = Field(description="当前进度：支付后为包裹状态（waiting/packed/in_transit/arrived/picked_up/…）")
    product_name: str
    sku_name: str
    quantity: int
    total_fen: int = Field(description="商品金额：单价 × 数量")
    payable_fen: int = Field(description="实付：商品金额减优惠券")
    pickup_point: PickupPointOut | None
    expected_arrival_after: datetime | None
    entries: list[TimelineEntryOut]


class StaffRefundIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200, description="退款原因（会告知用户），如：缺货、用户不想要了")


class StaffRefundOut(BaseModel):
    id: int
    order_id: int
    order_status: str
    parcel_id: int
    parcel_status: str
    stopped_at: str = Field(description="退款时包裹所处状态：waiting（待配送）或 packed（已打包，需拆袋）")
    refund_id: int
    refund_status: str = Field(description="pending（退款中）/ succeeded / failed")
    amount_fen: int
    reason: str
    refunded_by_user_id: int
    created_at: datetime
