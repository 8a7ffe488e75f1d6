from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from linli.brands.schemas import MAX_ID

LeaderStatus = Literal["applied", "rejected", "active", "suspended", "exited"]


class ApplicationIn(BaseModel):
    community_id: int = Field(ge=1, le=MAX_ID)
    real_name: str = Field(min_length=1, max_length=32, examples=["李晓"])
    note: str = Field(default="", max_length=500, examples=["在小区住了 8 年，业主群群主"])


class ApplicationOut(BaseModel):
    id: int
    brand_id: int
    community_id: int
    community_name: str
    status: LeaderStatus
    real_name: str
    note: str
    # Why it was rejected (or, later, why the leader was suspended or exited).
    decision_reason: str | None
    applied_at: datetime
    activated_at: datetime | None
    exited_at: datetime | None


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500, examples=["该小区已有合适人选"])


RightText = Annotated[str, StringConstraints(min_length=1, max_length=32)]


CourseId = Annotated[int, Field(ge=1, le=MAX_ID)]


class LevelIn(BaseModel):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", examples=["gold"])
    name: str = Field(min_length=1, max_length=16, examples=["金牌"])
    min_bound_members: int = Field(ge=0, le=10_000_000)
    rights: list[RightText] = Field(default_factory=list, max_length=20)
    required_course_ids: list[CourseId] = Field(
        default_factory=list, max_length=10, description="还须完成的成长中心课程（本品牌已发布的课程；第一级不能要求）",
    )


class ProgramIn(BaseModel):
    levels: list[LevelIn] = Field(min_length=1, max_length=10)
    invite_grace_hours: int = Field(ge=0, le=24 * 90, description="旧邀请码更换后的宽限小时数")


class LevelOut(BaseModel):
    code: str
    name: str
    min_bound_members: int
    rights: list[str]
    required_course_ids: list[int] = []


class ProgramOut(BaseModel):
    levels: list[LevelOut]
    invite_grace_hours: int
    updated_at: datetime | None


class LeaderLevelOut(BaseModel):
    code: str
    name: str
    rights: list[str]


class NextLevelOut(BaseModel):
    code: str
    name: str
    min_bound_members: int
    members_needed: int
    required_course_ids: list[int]
    # The required courses not completed yet: the level is reached when members_needed is 0 and this is empty.
    courses_needed: list[int]


class LeaderSummaryOut(BaseModel):
    id: int
    community_id: int
    community_name: str
    status: LeaderStatus
    real_name: str
    phone_masked: str
    level: LeaderLevelOut
    bound_members: int
    applied_at: datetime
    activated_at: datetime | None
    exited_at: datetime | None


class StatusChangeOut(BaseModel):
    from_status: str | None
    to_status: str
    reason: str | None
    actor_user_id: int | None
    changed_at: datetime


class LeaderDetailOut(LeaderSummaryOut):
    """What brand staff see of one leader: everything, including the full phone and the status history."""

    phone: str | None
    application_note: str
    decision_reason: str | None
    badge: str | None
    next_level: NextLevelOut | None
    current_invite_code: str | None
    history: list[StatusChangeOut]


class InviteCodeOut(BaseModel):
    code: str
    link: str
    qr_url: str
    created_at: datetime


class GraceCodeOut(BaseModel):
    code: str
    grace_until: datetime


class BrandRefOut(BaseModel):
    id: int
    name: str


class LeaderProfileOut(BaseModel):
    """A leader's own profile: identity, badge, level and progress, invite code."""

    leader_id: int
    brand: BrandRefOut
    community_id: int
    community_name: str
    status: LeaderStatus
    real_name: str
    decision_reason: str | None
    badge: str | None
    level: LeaderLevelOut
    bound_members: int
    next_level: NextLevelOut | None
    invite: InviteCodeOut | None
    codes_in_grace: list[GraceCodeOut]


class RotatedOut(BaseModel):
    invite: InviteCodeOut
    previous: GraceCodeOut | None


class RevokedOut(BaseModel):
    revoked_count: int


class InviteResolutionOut(BaseModel):
    code: str
    brand_id: int
    brand_name: str
    community_id: int
    community_name: str
    leader_display_name: str
    badge: str
    # Set when this is an old code still inside its grace period after a rotation.
    grace_until: datetime | None
