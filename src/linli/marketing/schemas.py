from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from linli.pagination import Page


class CopyTemplateIn(BaseModel):
    name: str = Field(max_length=200, description="模板名称（1–32 字）")
    body: str = Field(max_length=5000, description="话术（1–1000 字），占位符见 placeholders，{{ 与 }} 为花括号本身")
    is_default: bool = Field(False, description="设为品牌默认：未指定模板的直播用它")


class CopyTemplatePatch(BaseModel):
    name: str | None = Field(None, max_length=200)
    body: str | None = Field(None, max_length=5000)
    is_default: bool | None = None


class CopyTemplateOut(BaseModel):
    id: int
    brand_id: int
    name: str
    body: str
    is_default: bool
    created_at: datetime
    updated_at: datetime


class CopyTemplatesOut(Page[CopyTemplateOut]):
    placeholders: dict[str, str]  # name → what it is filled with


class TemplateChoiceIn(BaseModel):
    copy_template_id: int | None = Field(None, ge=1, description="本场作战包用的话术模板；null 为品牌默认")


class CampaignSettingsOut(BaseModel):
    session_id: int
    copy_template_id: int | None
    has_cover: bool
    template_body: str


class KitOut(BaseModel):
    id: int
    session_id: int
    session_title: str
    session_status: str
    scheduled_start_at: datetime
    starts_text: str  # the start in the brand's time: 12月5日（周六）19:30
    badge: str
    leader_name: str
    invite_code: str
    invite_link: str
    copy_text: str
    version: int
    made_at: datetime
    remade_at: datetime
    poster_url: str


class KitsOut(Page[KitOut]):
    pass


class SessionKitOut(BaseModel):
    id: int
    leader_id: int
    leader_name: str
    status: str
    invite_code: str
    version: int
    made_at: datetime
    remade_at: datetime


class SessionKitsOut(Page[SessionKitOut]):
    pass


class InterestGroupIn(BaseModel):
    name: str = Field(max_length=200, description="小组名称（1–32 字），如 健身轻食组")
    description: str = Field("", max_length=1000)
    category_ids: list[int] = Field(default_factory=list, max_length=100, description="关注的品类（与 product_ids 二选一）")
    product_ids: list[int] = Field(default_factory=list, max_length=100, description="关注的商品")
    window_days: int = Field(90, ge=-1_000_000, le=1_000_000, description="统计最近多少天（7–365）")
    min_share_bp: int = Field(3000, ge=-1_000_000, le=1_000_000, description="关注品类占其消费的最低比例，基点（3000 = 30%）")
    min_focus_fen: int = Field(0, ge=-10**15, le=10**15, description="在关注品类上至少消费（分）")
    min_focus_orders: int = Field(1, ge=-1_000_000, le=1_000_000, description="在关注品类上至少几单")


class InterestGroupOut(BaseModel):
    id: int
    brand_id: int
    name: str
    description: str
    status: str
    category_ids: list[int]
    product_ids: list[int]
    window_days: int
    min_share_bp: int
    min_focus_fen: int
    min_focus_orders: int
    rule_text: str
    member_count: int
    computed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class InterestGroupsOut(Page[InterestGroupOut]):
    pass


class InterestMemberOut(BaseModel):
    member_id: int
    name: str  # masked for nobody but staff of the brand, who see it whole
    phone: str | None
    joined_at: datetime


class InterestMembersOut(Page[InterestMemberOut]):
    group: InterestGroupOut


class InterestPushIn(BaseModel):
    title: str = Field(max_length=200, description="标题（站内信最多 64 字）")
    body: str = Field(max_length=5000, description="内容（站内信最多 500 字）")
    tag: str = Field(max_length=16, description="value（有价值的内容）或 commerce（商业推广）")
    link: str | None = Field(None, max_length=500, description="本站页面路径（/…）或 https 地址")


class InterestPushOut(BaseModel):
    content_id: int
    created: bool  # False: this Idempotency-Key was used before; nothing more was sent
    recipients: int


# --- automated care -----------------------------------------------------------------------------


class BirthdayIn(BaseModel):
    month: int = Field(description="月（1–12）")
    day: int = Field(description="日；2 月 29 日可填，平年在 2 月 28 日祝福")
    year: int | None = Field(default=None, description="出生年份，可不填")


class BirthdayOut(BaseModel):
    brand_id: int
    month: int | None
    day: int | None
    year: int | None


class CareOccasionIn(BaseModel):
    greeting: str = Field(max_length=500, description="祝福语，可用 {昵称}、{品牌}")
    coupon_template_id: int | None = Field(default=None, description="随祝福发放的优惠券模板；不填则只发祝福")
    enabled: bool = True


class CareHolidayIn(CareOccasionIn):
    name: str = Field(max_length=32, description="节日名称，如 中秋节")
    month: int
    day: int
    year: int | None = Field(default=None, description="只在这一年（农历节日每年填当年的公历日期）；不填则每年")


class CareOccasionOut(BaseModel):
    id: int | None = Field(description="生日关怀从未保存过时为 null")
    kind: str  # birthday, holiday
    name: str
    month: int | None
    day: int | None
    year: int | None
    enabled: bool
    coupon_template_id: int | None
    greeting: str
    greeted_this_year: int


class CareOut(BaseModel):
    brand_id: int
    birthday: CareOccasionOut
    holidays: list[CareOccasionOut]
    members_with_birthday: int = Field(description="填写了生日的会员数（员工只看数量）")
