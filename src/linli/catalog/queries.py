"""Read access to the catalog for other contexts."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from linli.catalog.models import Product, Sku
from linli.errors import NotFound


async def get_sku(*, session: AsyncSession, sku_id: int, brand_id: int | None = None) -> Sku:
    sku = await session.get(Sku, sku_id)
    if sku is None or (brand_id is not None and sku.brand_id != brand_id):
        raise NotFound("商品规格不存在", code="sku_not_found")
    return sku


async def get_product(*, session: AsyncSession, product_id: int) -> Product:
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound("商品不存在", code="product_not_found")
    return product
