"""`catalog.set_stock`: a stock take sets the number, records the difference, and counts once when sent twice."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from linli.catalog import service as catalog
from linli.catalog.models import StockAdjustment
from linli.errors import InvalidInput, NotFound
from tests.catalog.conftest import Scene


async def a_sku(ctx, brand: int, stock: int = 10) -> int:
    async with ctx.db.transaction() as s:
        _, [sku] = await catalog.create_product(
            session=s, brand_id=brand, now=ctx.clock.now(),
            product=catalog.ProductInput(name="赣南脐橙", skus=[catalog.SkuInput(name="5斤装", list_price_fen=3990, stock_quantity=stock)]),
        )
    return sku.id


async def set_to(ctx, scene: Scene, sku_id: int, quantity: int, brand: int | None = None):
    async with ctx.db.transaction() as s:
        return await catalog.set_stock(
            session=s, brand_id=brand or scene.brand, sku_id=sku_id, quantity=quantity, reason="盘点",
            actor_user_id=scene.owner.user_id, now=ctx.clock.now(),
        )


async def adjustments(ctx, sku_id: int) -> list[tuple[int, int]]:
    async with ctx.db.read() as s:
        rows = await s.scalars(select(StockAdjustment).where(StockAdjustment.sku_id == sku_id).order_by(StockAdjustment.id))
        return [(r.delta, r.stock_after) for r in rows]


async def test_a_stock_take_records_the_difference_and_twice_counts_once(ctx, scene: Scene):
    sku_id = await a_sku(ctx, scene.brand, stock=10)
    sku, adjustment = await set_to(ctx, scene, sku_id, 25)
    assert sku.stock_quantity == 25 and adjustment is not None and adjustment.delta == 15
    again, none = await set_to(ctx, scene, sku_id, 25)
    assert again.stock_quantity == 25 and none is None
    lower, _ = await set_to(ctx, scene, sku_id, 3)
    assert lower.stock_quantity == 3
    assert await adjustments(ctx, sku_id) == [(15, 25), (-22, 3)]


async def test_a_stock_take_refuses_bad_numbers_and_another_brands_sku(ctx, scene: Scene):
    sku_id = await a_sku(ctx, scene.brand)
    with pytest.raises(InvalidInput) as bad:
        await set_to(ctx, scene, sku_id, -1)
    assert bad.value.code == "stock_invalid"
    with pytest.raises(NotFound):
        await set_to(ctx, scene, sku_id, 5, brand=scene.other_brand)
    async with ctx.db.transaction() as s:
        with pytest.raises(InvalidInput) as no_reason:
            await catalog.set_stock(
                session=s, brand_id=scene.brand, sku_id=sku_id, quantity=5, reason=" ", actor_user_id=None,
                now=ctx.clock.now(),
            )
    assert no_reason.value.code == "reason_required"
    assert await adjustments(ctx, sku_id) == []
