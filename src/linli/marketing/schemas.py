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
