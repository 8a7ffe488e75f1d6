from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SmsCodeRequest(BaseModel):
    phone: str = Field(max_length=20, examples=["13812341234"])


class SmsCodeSent(BaseModel):
    sent: bool
    expires_in_seconds: int
    resend_after_seconds: int


class SmsLoginRequest(BaseModel):
    phone: str = Field(max_length=20)
    code: str = Field(min_length=1, max_length=12)


class PasswordLoginRequest(BaseModel):
    login_name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class WeChatLoginRequest(BaseModel):
    code: str = Field(min_length=1, max_length=128)


class UserOut(BaseModel):
    id: int
    phone: str | None
    login_name: str | None
    display_name: str
    has_wechat: bool


class MyLeaderOut(BaseModel):
    leader_id: int
    status: str = Field(description="applied, rejected, active, suspended or exited: the latest application")
    community_id: int


class MyBrandOut(BaseModel):
    brand_id: int
    name: str
    slug: str
    timezone: str
    staff_role: str | None = Field(description="owner or operator; null when not staff of this brand")
    member_id: int | None = Field(description="the caller as a member of this brand; null when not a member")
    leader: MyLeaderOut | None


class MeOut(UserOut):
    brands: list[MyBrandOut] = Field(description="every brand the caller has a role in, by brand id")


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: UserOut


class ProfileUpdate(BaseModel):
    display_name: str = Field(min_length=1, max_length=32)


class DevSmsOut(BaseModel):
    phone: str
    body: str
    created_at: datetime
