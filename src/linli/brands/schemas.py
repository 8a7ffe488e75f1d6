from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field

# Ids are 64-bit in the database; anything larger (or not positive) is refused as a 422, not a 500.
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
PhoneField = Annotated[str, Field(min_length=11, max_length=20, examples=["13812341234"])]


class BrandOut(BaseModel):
    id: int
    name: str
    slug: str
    timezone: str


class PickupPointIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, examples=["云顶华府自提点"])
    address: str = Field(min_length=1, max_length=255, examples=["云顶华府 3 号楼便利店"])
    opening_hours: str = Field(min_length=1, max_length=64, examples=["09:00-21:00"])
    contact_name: str = Field(min_length=1, max_length=32)
    contact_phone: PhoneField


class PickupPointPatchIn(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    address: str | None = Field(default=None, min_length=1, max_length=255)
    opening_hours: str | None = Field(default=None, min_length=1, max_length=64)
    contact_name: str | None = Field(default=None, min_length=1, max_length=32)
    contact_phone: str | None = Field(default=None, min_length=11, max_length=20)


class CommunityIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, examples=["云顶华府"])
    address: str = Field(min_length=1, max_length=255)
    pickup_point: PickupPointIn


class CommunityPatch(BaseModel):
    """Only the fields sent are changed; inside pickup_point too."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    address: str | None = Field(default=None, min_length=1, max_length=255)
    pickup_point: PickupPointPatchIn | None = None


class PickupPointOut(BaseModel):
    name: str
    address: str
    opening_hours: str
    contact_name: str
    # A pickup point's phone is a published business contact, so it is shown in full.
    contact_phone: str


class CommunityOut(BaseModel):
    id: int
    brand_id: int
    name: str
    address: str
    pickup_point: PickupPointOut


class StaffIn(BaseModel):
    login_name: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,31}$")
    password: str = Field(min_length=8, max_length=128)
    display_name: str = Field(min_length=1, max_length=32)
    role: Literal["owner", "operator"]


class StaffOut(BaseModel):
    user_id: int
    login_name: str | None
    display_name: str
    role: str
    created_at: datetime
