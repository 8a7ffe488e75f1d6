from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SchedulePolicyIn(BaseModel):
    settle_at: str = Field(
        max_length=5, examples=["00:10"], description="每日佣金结算时间 HH:MM（品牌时区）；每个自然日结算一次"
    )


class SchedulePolicyOut(BaseModel):
    settle_at: str = Field(description="每日佣金结算时间 HH:MM（品牌时区）")
    timezone: str = Field(description="品牌时区")
    is_default: bool = Field(description="品牌从未设置过时为 true（默认 00:10）")
    updated_at: datetime | None
    updated_by_user_id: int | None
