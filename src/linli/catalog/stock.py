"""Taking and returning SKU stock with one guarded statement each: stock can never go negative."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.catalog.models import Sku


async def take_stock(*, session: AsyncSession, sku_id: int, quantity: int) -> int | None:
    """Takes `quantity` units; the stock left, or None when there are not enough (nothing changes)."""
    left = await session.scalar(
        update(Sku)
        .where(Sku.id == sku_id, Sku.stock_quantity >= quantity)
        .values(stock_quantity=Sku.stock_quantity - quantity)
        .returning(Sku.stock_quantity)
    )
    return left


async def return_stock(*, session: AsyncSession, sku_id: int, quantity: int) -> int:
    left = await session.scalar(
        update(Sku).where(Sku.id == sku_id).values(stock_quantity=Sku.stock_quantity + quantity).returning(Sku.stock_quantity)
    )
    assert left is not None, "returning stock to a SKU that does not exist"
    return left
