from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from linli.brands.schemas import MAX_ID
from linli.catalog.service import MAX_PRICE_FEN
from linli.coupons.issuing import MAX_RECIPIENTS


class TemplateIn(BaseModel):
    """A coupon template. Fixed: `amount_fen`; percent: `percent_off_bp` and `cap_fen`. Validity: `valid_from` and
    `valid_until`, or `valid_days` from issuing. Scope `all`, or one category, product, session or community
    (`scope_id`, the brand's own)."""

    name: str = Field(max_length=64, description="券名称，如 草莓满50减10", examples=["草莓满50减10"])
    kind: Literal["fixed", "percent"] = Field(description="fixed 满减 / percent 折扣")
    amount_fen: int | None = Field(default=None, ge=1, le=MAX_PRICE_FEN, description="满减：减免金额（分）")
    percent_off_bp: int | None = Field(default=None, ge=1, le=9999, description="折扣：减免比例，基点（1000 = 减 10%，即 9 折）")
    cap_fen: int | None = Field(default=None, ge=1, le=MAX_PRICE_FEN, description="折扣：最多减免（分）")
    threshold_fen: int = Field(default=0, ge=0, le=MAX_PRICE_FEN, description="使用门槛：订单商品金额满多少（分），0 为无门槛")
    valid_from: AwareDatetime | None = Field(default=None, description="固定有效期：开始")
    valid_until: AwareDatetime | None = Field(default=None, description="固定有效期：结束（不含）")
    valid_days: int | None = Field(default=None, ge=1, le=366, description="或：领取后有效天数")
    per_member_limit: int = Field(default=1, ge=1, le=100, description="每人限领张数")
    issue_quota: int | None = Field(default=None, ge=1, le=10_000_000, description="发放总量，不填为不限")
    scope: Literal["all", "category", "product", "session", "community"] = "all"
    scope_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="适用的分类、商品、直播场次或小区")


class TemplateOut(BaseModel):
    id: int
    brand_id: int
    name: str
    kind: str
    amount_fen: int | None
    percent_off_bp: int | None
    cap_fen: int | None
    threshold_fen: int
    discount_text: str = Field(description="给人看的优惠，如 满50减10、9折（最高减20元）")
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    per_member_limit: int
    issue_quota: int | None
    scope: str
    scope_id: int | None
    scope_text: str = Field(description="适用范围，如 全场通用、限「时令水果」类商品")
    status: str = Field(description="active 发放中 / disabled 已停发（已发出的券仍可使用至过期）")
    issued: int = Field(description="已发放张数")
    used: int = Field(description="已被订单使用（订单取消、超时或整单退款后退回的不计）")
    expired: int = Field(description="过期未使用")
    discount_fen: int = Field(description="使用中的券为订单减免的总额（分）")
    created_at: datetime
    disabled_at: datetime | None


class RecipientsIn(BaseModel):
    member_ids: list[int] = Field(default_factory=list, max_length=MAX_RECIPIENTS, description="本品牌用户 id")
    phones: list[str] = Field(default_factory=list, max_length=MAX_RECIPIENTS, description="或手机号（须为本品牌用户）")


class IssuedCouponOut(BaseModel):
    id: int
    template_id: int
    member_id: int
    source: str
    valid_from: datetime
    valid_until: datetime


class SkippedOut(BaseModel):
    member_id: int | None
    phone: str | None
    code: str = Field(description="未发放的原因代码，如 coupon_member_limit_reached、coupon_quota_exhausted、member_not_found")
    message: str


class IssueOut(BaseModel):
    issued: list[IssuedCouponOut] = Field(description="本次发出的券")
    already: list[IssuedCouponOut] = Field(description="同一幂等键此前已发出的券（不重复发放）")
    skipped: list[SkippedOut] = Field(description="未发放的用户及原因")


class RuleIn(BaseModel):
    trigger: Literal["member_bound"] = Field(description="member_bound：邻居首次绑定团长后发放（欢迎券）")
    template_id: int = Field(ge=1, le=MAX_ID)


class RuleOut(BaseModel):
    id: int
    trigger: str
    template_id: int
    status: str
    created_at: datetime
    disabled_at: datetime | None


class CampaignIn(RecipientsIn):
    template_id: int = Field(ge=1, le=MAX_ID)
    name: str = Field(max_length=64, examples=["云顶华府开团福利"])
    audience: Literal["community", "members", "interest_group"] = Field(
        description="community：该小区团长的全部邻居；interest_group：某个兴趣小组此刻的成员；members：指定用户"
    )
    community_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    interest_group_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class CampaignOut(BaseModel):
    id: int
    template_id: int
    name: str
    audience: str
    community_id: int | None
    interest_group_id: int | None
    issued: int = Field(description="历次执行共发出的券")
    created_at: datetime
    last_run_at: datetime | None


class CampaignRunOut(BaseModel):
    campaign: CampaignOut
    issued: list[IssuedCouponOut] = Field(description="本次执行发出的券（重放为空）")
    skipped: list[SkippedOut]


class MyCouponOut(BaseModel):
    id: int
    template_id: int
    name: str
    discount_text: str
    kind: str
    amount_fen: int | None
    percent_off_bp: int | None
    cap_fen: int | None
    threshold_fen: int
    scope: str
    scope_id: int | None
    scope_text: str
    status: str = Field(description="available 可用 / not_yet_valid 未生效 / used 已使用 / expired 已过期（按有效期实时计算）")
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    used_at: datetime | None
    order_id: int | None = Field(description="使用这张券的订单（已使用时）")
