from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from linli.brands.schemas import MAX_ID
from linli.catalog.service import (
    MAX_IMAGES,
    MAX_PRICE_FEN,
    MAX_SKUS_PER_PRODUCT,
    MAX_STOCK,
    MAX_STOCK_DELTA,
    is_http_url,
)


def _http_url(value: str) -> str:
    value = value.strip()
    if not is_http_url(value):
        raise ValueError("必须是 http(s) 开头的网址")
    return value


HttpUrlText = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_http_url)]
PriceFen = Annotated[int, Field(gt=0, le=MAX_PRICE_FEN, description="单位：分", examples=[6800])]
Name64 = Annotated[str, Field(min_length=1, max_length=64)]


class CategoryIn(BaseModel):
    name: str = Field(min_length=1, max_length=32, examples=["时令鲜果"])


class CategoryOut(BaseModel):
    id: int
    brand_id: int
    name: str


class SkuIn(BaseModel):
    name: Name64 = Field(examples=["500g×2 盒"])
    list_price_fen: PriceFen
    stock_quantity: int = Field(default=0, ge=0, le=MAX_STOCK)


class SkuPatch(BaseModel):
    name: Name64 | None = None
    list_price_fen: PriceFen | None = None


class SkuOut(BaseModel):
    id: int
    product_id: int
    name: str
    list_price_fen: int
    stock_quantity: int


class ProductIn(BaseModel):
    name: Name64 = Field(examples=["黄金奶油草莓"])
    description: str = Field(default="", max_length=2000)
    category_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    images: list[HttpUrlText] = Field(default_factory=list, max_length=MAX_IMAGES)
    skus: list[SkuIn] = Field(default_factory=list, max_length=MAX_SKUS_PER_PRODUCT)


class ProductPatch(BaseModel):
    """Only the fields sent are changed; `"category_id": null` removes the category."""

    name: Name64 | None = None
    description: str | None = Field(default=None, max_length=2000)
    category_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    images: list[HttpUrlText] | None = Field(default=None, max_length=MAX_IMAGES)
    status: Literal["active", "archived"] | None = None


class ProductOut(BaseModel):
    id: int
    brand_id: int
    name: str
    description: str
    category_id: int | None
    category_name: str | None
    images: list[str]
    status: str
    skus: list[SkuOut]
    created_at: datetime


class StockAdjustIn(BaseModel):
    delta: int = Field(ge=-MAX_STOCK_DELTA, le=MAX_STOCK_DELTA, description="正数入库，负数出库", examples=[100])
    reason: str = Field(min_length=1, max_length=200, examples=["农场到货"])

    @model_validator(mode="after")
    def _non_zero(self) -> StockAdjustIn:
        if self.delta == 0:
            raise ValueError("调整数量不能为 0")
        return self


class StockAdjustmentOut(BaseModel):
    id: int
    sku_id: int
    delta: int
    stock_after: int
    reason: str
    actor_user_id: int | None
    created_at: datetime


class StockAdjustedOut(BaseModel):
    sku: SkuOut
    adjustment: StockAdjustmentOut
