from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class OrderCreate(BaseModel):
    listing_id: int | None = Field(default=None, ge=1)
    offer_id: int | None = Field(default=None, ge=1)
    quantity: int = Field(ge=1, le=99)
    pickup_community_id: int | None = Field(default=None, ge=1, description="未绑定团长的用户须选择自提小区")
    coupon_id: int | None = Field(default=None, ge=1, le=2**63 - 1, description="使用的优惠券（本人的、可用的、适用于该商品）")


class StatusChangeOut(BaseModel):
    from_status: str | None
    to_status: str
    reason: str | None
    changed_at: datetime


class OrderOut(BaseModel):
    id: int
    brand_id: int
    status: str
    session_id: int | None
    listing_id: int
    offer_id: int | None
    product_name: str
    sku_name: str
    quantity: int
    unit_price_fen: int
    total_fen: int = Field(description="商品金额：单价 × 数量")
    discount_fen: int = Field(description="优惠券减免（未用券为 0）")
    payable_fen: int = Field(description="实付：商品金额 − 优惠券减免，至少 1 分；支付、佣金、退款都按它计算")
    coupon_id: int | None
    leader_id: int | None
    community_id: int | None
    pickup_point_id: int | None
    placed_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None


class OrderDetail(OrderOut):
    history: list[StatusChangeOut]


class BrandOrderOut(OrderOut):
    """An order in the brand's list: the buyer named, masked as on pick lists."""

    member_name: str = Field(description="下单用户昵称（脱敏，如 张**）")
    member_phone: str = Field(description="下单用户手机号（脱敏，如 138****1234）")


class LeaderOrderOut(BaseModel):
    """An attributed order as its leader sees it: the neighbour masked, the money exact."""

    id: int
    status: str
    member_phone: str
    member_name: str
    product_name: str
    sku_name: str
    quantity: int
    total_fen: int
    payable_fen: int = Field(description="实付（优惠券后），团长佣金按它计算")
    session_id: int | None
    placed_at: datetime
    paid_at: datetime | None
