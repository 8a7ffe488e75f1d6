from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field

from linli.brands.schemas import MAX_ID
from linli.catalog.schemas import HttpUrlText, PriceFen
from linli.catalog.service import MAX_PRICE_FEN
from linli.live.listings import MAX_ALLOCATION, MAX_LIMIT_PER_MEMBER
from linli.live.offers import ANNOUNCE_NOTE_MAX_LENGTH
from linli.live.sessions import MAX_PHASE_MINUTES, MAX_PHASES

SessionStatus = Literal["scheduled", "live", "ended", "cancelled"]
OfferStatus = Literal["draft", "open", "closed"]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Allocation = Annotated[int, Field(ge=1, le=MAX_ALLOCATION, examples=[500])]
PerMemberLimit = Annotated[int, Field(ge=1, le=MAX_LIMIT_PER_MEMBER, examples=[2])]


# --- sessions ----------------------------------------------------------------------------------


class PhaseIn(BaseModel):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", examples=["brand_story"])
    title: str = Field(min_length=1, max_length=32, examples=["品牌故事"])
    minutes: int = Field(ge=1, le=MAX_PHASE_MINUTES, examples=[20])


class PhaseOut(BaseModel):
    code: str
    title: str
    minutes: int


class CurrentPhaseOut(PhaseOut):
    index: int
    started_at: AwareDatetime | None


class SessionIn(BaseModel):
    title: str = Field(min_length=1, max_length=100, examples=["黄金奶油草莓·源头直播"])
    scheduled_start_at: AwareDatetime
    stream_url: HttpUrlText | Literal[""] = ""
    cover_url: HttpUrlText | Literal[""] = ""
    phases: list[PhaseIn] | None = Field(
        default=None, min_length=1, max_length=MAX_PHASES,
        description="直播环节；不填则为默认三段式：品牌故事 20 分钟 → 社区专享团购 25 分钟 → 添加团长 5 分钟",
    )


class SessionPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=100)
    scheduled_start_at: AwareDatetime | None = None
    stream_url: HttpUrlText | Literal[""] | None = None
    cover_url: HttpUrlText | Literal[""] | None = None
    phases: list[PhaseIn] | None = Field(default=None, min_length=1, max_length=MAX_PHASES)


class SessionOut(BaseModel):
    id: int
    brand_id: int
    title: str
    status: SessionStatus
    stream_url: str
    cover_url: str
    scheduled_start_at: AwareDatetime
    started_at: AwareDatetime | None
    ended_at: AwareDatetime | None
    phases: list[PhaseOut]
    current_phase: CurrentPhaseOut | None


# --- listings ----------------------------------------------------------------------------------


class ListingIn(BaseModel):
    sku_id: Id
    live_price_fen: PriceFen
    allocation: Allocation = Field(description="本场可售数量上限（库存在下单时扣减）")
    per_member_limit: PerMemberLimit | None = None


class ListingPatch(BaseModel):
    """Only the fields sent are changed; `"per_member_limit": null` removes the limit."""

    live_price_fen: PriceFen | None = None
    allocation: Allocation | None = None
    per_member_limit: PerMemberLimit | None = None


class ListingOut(BaseModel):
    id: int
    session_id: int
    sku_id: int
    product_id: int
    product_name: str
    sku_name: str
    image: str | None
    live_price_fen: int
    list_price_fen: int
    allocation: int
    sold: int
    remaining: int
    per_member_limit: int | None
    status: Literal["active", "withdrawn"]


# --- offers ------------------------------------------------------------------------------------


class OfferIn(BaseModel):
    listing_id: Id
    community_id: Id
    title: str = Field(default="", max_length=100, examples=["云顶华府邻居专享"])
    price_fen: int = Field(gt=0, le=MAX_PRICE_FEN, examples=[6800], description="社区专享价，单位：分")
    quota: int = Field(ge=1, le=MAX_ALLOCATION, examples=[100], description="专享名额，不超过直播商品的分配数量")
    per_member_limit: PerMemberLimit
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class OfferPatch(BaseModel):
    title: str | None = Field(default=None, max_length=100)
    price_fen: int | None = Field(default=None, gt=0, le=MAX_PRICE_FEN)
    quota: int | None = Field(default=None, ge=1, le=MAX_ALLOCATION)
    per_member_limit: PerMemberLimit | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


class AnnounceIn(BaseModel):
    note: str | None = Field(
        default=None, min_length=1, max_length=ANNOUNCE_NOTE_MAX_LENGTH, examples=["今晚现摘，明天到自提点"],
        description="主播补充的一句话（可选，一行，最多 50 字），加在横幅里",
    )


class AnnouncementOut(BaseModel):
    """The `live.offer_announced` event as the room receives it: the member page shows `banner`."""

    session_id: int
    offer_id: int
    listing_id: int
    title: str
    product_name: str
    sku_name: str
    price_fen: int
    quota: int
    remaining: int
    community_id: int
    community_name: str
    leader_id: int
    leader_name: str
    leader_badge: str
    note: str | None
    announced_at: AwareDatetime
    banner: str = Field(examples=["接下来为云顶华府的邻居们带来专享价：黄金奶油草莓 ¥68.00，前 100 份 @小李"])


class OfferOut(BaseModel):
    id: int
    session_id: int
    listing_id: int
    product_name: str
    sku_name: str
    image: str | None
    title: str
    price_fen: int
    live_price_fen: int
    quota: int
    sold: int
    remaining: int
    per_member_limit: int
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    status: OfferStatus
    community_id: int
    community_name: str
    leader_id: int
    leader_name: str
    leader_badge: str
    eligible: bool | None = Field(
        default=None, description="登录用户是否可购买（仅限绑定该小区团长的邻居）；未登录或员工视图为 null"
    )


class RoomOut(BaseModel):
    session: SessionOut
    listings: list[ListingOut]
    offers: list[OfferOut]


# --- comments, visits, funnel ------------------------------------------------------------------


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=400, description="去除首尾空白后 1–100 个字")


class CommentOut(BaseModel):
    comment_id: int
    name: str
    body: str
    created_at: AwareDatetime


class VisitIn(BaseModel):
    invite_code: str | None = Field(default=None, max_length=64, examples=["K7QM3TXA"])


class VisitLeaderOut(BaseModel):
    id: int
    name: str
    community_name: str
    badge: str


class VisitEntryOut(BaseModel):
    result: Literal["bound", "rebound", "already_yours", "refused", "own_code"]
    reason: str
    message: str
    bound_leader_id: int | None


class VisitOut(BaseModel):
    visit_id: int
    session_id: int
    leader: VisitLeaderOut | None
    entry: VisitEntryOut | None = Field(description="登录用户通过邀请码进入时的绑定结果；匿名或无邀请码时为 null")


class FunnelRowOut(BaseModel):
    leader_id: int | None
    leader_name: str
    community_name: str
    views: int
    entries: int
    orders: int
    paid_orders: int


class FunnelOut(BaseModel):
    session_id: int
    totals: FunnelRowOut
    leaders: list[FunnelRowOut]
