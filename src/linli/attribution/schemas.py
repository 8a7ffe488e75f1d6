from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class PolicyIn(BaseModel):
    # Ranges are checked by the service (with their own error codes), so that every caller gets them.
    mode: str = Field(max_length=16, examples=["permanent"], description="permanent / validity / last_touch")
    validity_days: int = Field(examples=[30], description="validity 模式下绑定有效天数，1–3650")
    protection_days: int = Field(examples=[0], description="绑定后的保护期天数，0–3650")
    only_new_members: bool = Field(description="仅绑定由本次进入新成为品牌用户的人")


class PolicyOut(BaseModel):
    mode: str
    validity_days: int
    protection_days: int
    only_new_members: bool
    is_default: bool
    updated_at: datetime | None
    updated_by_user_id: int | None


class EntryIn(BaseModel):
    invite_code: str = Field(min_length=1, max_length=64, examples=["K7QM3TXA"])


class LeaderCard(BaseModel):
    id: int
    name: str
    badge: str
    community_id: int
    community_name: str


class BindingOut(BaseModel):
    bound: bool
    leader: LeaderCard | None = None
    source: str | None = None
    bound_at: datetime | None = None
    expires_at: datetime | None = None
    protected_until: datetime | None = None


class EntryOut(BaseModel):
    result: Literal["bound", "rebound", "already_yours", "refused"]
    reason: str
    message: str
    brand_id: int
    member_id: int
    binding: BindingOut


class MemberBrief(BaseModel):
    member_id: int
    phone: str = Field(description="脱敏手机号，如 138****1234")
    display_name: str


class BoundMemberOut(MemberBrief):
    source: str
    bound_at: datetime
    expires_at: datetime | None
    protected_until: datetime | None


class LeaderBrief(BaseModel):
    id: int
    name: str
    community_name: str


class TrailEventOut(BaseModel):
    id: int
    kind: str
    reason: str
    reason_text: str
    occurred_at: datetime
    member: MemberBrief
    leader: LeaderBrief | None
    previous_leader: LeaderBrief | None
    direction: Literal["in", "out"] | None = Field(
        None, description="团长视角：in 表示事件后归属（或试图归属）本人，out 表示从本人处离开"
    )
    invite_code: str | None
    actor_user_id: int | None
    note: str | None


class TransferIn(BaseModel):
    successor_leader_id: int


class TransferOut(BaseModel):
    transferred: int


class DisputeIn(BaseModel):
    member_id: int
    reason: str = Field(min_length=1, max_length=500)


class ResolveIn(BaseModel):
    decision: str = Field(max_length=16, examples=["upheld"], description="upheld / rejected")
    reason: str = Field(min_length=1, max_length=500)


class DisputeOut(BaseModel):
    id: int
    member: MemberBrief
    claimant: LeaderBrief | None
    bound_leader: LeaderBrief | None
    reason: str
    status: str
    resolution_reason: str | None
    resolved_by_user_id: int | None
    opened_at: datetime
    resolved_at: datetime | None
