"""The catalog: categories, products with images, SKUs with a list price and stock, stock adjustments.

Stock is only ever changed by one guarded statement (here for staff adjustments, in `catalog.stock`
for orders), so it can never go negative, whatever runs concurrently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.catalog.models import Category, Product, Sku, StockAdjustment
from linli.db import insert_unique
from linli.errors import Conflict, InvalidInput, NotFound
from linli.pagination import PageParams, fetch_page

MAX_IMAGES = 9
MAX_URL_LENGTH = 500
MAX_PRICE_FEN = 100_000_000  # 1,000,000 yuan: anything above is a typo, not a price
MAX_STOCK = 10_000_000
MAX_STOCK_DELTA = 1_000_000
MAX_SKUS_PER_PRODUCT = 50
PRODUCT_STATUSES = ("active", "archived")


# ---------------------------------------------------------------------------------------------
# Input checks shared with the API schemas (which refuse the same input earlier, as a 422)


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host, no spaces or control characters, at most 500 characters."""
    if not value or len(value) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def clean_url(value: str, *, label: str, code: str = "url_invalid") -> str:
    value = value.strip()
    if not is_http_url(value):
        raise InvalidInput(f"{label}必须是 http(s) 开头的网址", code=code)
    return value


def clean_images(images: list[str]) -> list[str]:
    if len(images) > MAX_IMAGES:
        raise InvalidInput(f"商品图片最多 {MAX_IMAGES} 张", code="too_many_images")
    return [clean_url(url, label="商品图片地址", code="image_url_invalid") for url in images]


def _text(value: str, *, label: str, code: str, max_length: int, allow_empty: bool = False) -> str:
    value = value.strip()
    if not value and not allow_empty:
        raise InvalidInput(f"{label}不能为空", code=code)
    if len(value) > max_length:
        raise InvalidInput(f"{label}不能超过 {max_length} 个字", code=code)
    return value


def _price(value: int) -> int:
    if not 0 < value <= MAX_PRICE_FEN:
        raise InvalidInput("价格须大于 0 且不超过 100 万元（单位：分）", code="price_invalid")
    return value


def _stock(value: int) -> int:
    if not 0 <= value <= MAX_STOCK:
        raise InvalidInput(f"库存须在 0 到 {MAX_STOCK} 之间", code="stock_invalid")
    return value


# ---------------------------------------------------------------------------------------------
# Categories


async def create_category(*, session: AsyncSession, brand_id: int, name: str, now: datetime) -> Category:
    category = Category(
        brand_id=brand_id, name=_text(name, label="分类名称", code="category_name_invalid", max_length=32), created_at=now
    )
    if not await insert_unique(session, category):
        raise Conflict("同名分类已存在", code="category_exists")
    return category


async def get_category(*, session: AsyncSession, brand_id: int, category_id: int) -> Category:
    category = await session.get(Category, category_id)
    if category is None or category.brand_id != brand_id:
        raise NotFound("分类不存在", code="category_not_found")
    return category


async def rename_category(*, session: AsyncSession, brand_id: int, category_id: int, name: str) -> Category:
    name = _text(name, label="分类名称", code="category_name_invalid", max_length=32)
    category = await get_category(session=session, brand_id=brand_id, category_id=category_id)
    if name != category.name:
        clash = await session.scalar(select(Category.id).where(Category.brand_id == brand_id, Category.name == name))
        if clash is not None:
            raise Conflict("同名分类已存在", code="category_exists")
        category.name = name
        await session.flush()
    return category


async def list_categories(*, session: AsyncSession, brand_id: int) -> list[Category]:
    rows = await session.scalars(select(Category).where(Category.brand_id == brand_id).order_by(Category.id))
    return list(rows)


async def categories_by_ids(*, session: AsyncSession, category_ids: set[int]) -> dict[int, Category]:
    if not category_ids:
        return {}
    rows = await session.scalars(select(Category).where(Category.id.in_(category_ids)))
    return {c.id: c for c in rows}


# ---------------------------------------------------------------------------------------------
# Products and SKUs


@dataclass(frozen=True)
class SkuInput:
    name: str
    list_price_fen: int
    stock_quantity: int = 0


@dataclass(frozen=True)
class ProductInput:
    name: str
    description: str = ""
    category_id: int | None = None
    images: list[str] = field(default_factory=list)
    skus: list[SkuInput] = field(default_factory=list)


@dataclass(frozen=True)
class ProductPatch:
    """The fields to change; None leaves a field as it is. `clear_category` removes the category."""

    name: str | None = None
    description: str | None = None
    category_id: int | None = None
    clear_category: bool = False
    images: list[str] | None = None
    status: str | None = None


def _clean_sku(sku: SkuInput) -> SkuInput:
    return SkuInput(
        name=_text(sku.name, label="规格名称", code="sku_name_invalid", max_length=64),
        list_price_fen=_price(sku.list_price_fen),
        stock_quantity=_stock(sku.stock_quantity),
    )


async def create_product(*, session: AsyncSession, brand_id: int, product: ProductInput, now: datetime) -> tuple[Product, list[Sku]]:
    """A product with its first SKUs (optional); everything is checked before anything is written."""
    name = _text(product.name, label="商品名称", code="product_name_invalid", max_length=64)
    description = _text(
        product.description, label="商品描述", code="product_description_invalid", max_length=2000, allow_empty=True
    )
    images = clean_images(product.images)
    if len(product.skus) > MAX_SKUS_PER_PRODUCT:
        raise InvalidInput(f"一个商品最多 {MAX_SKUS_PER_PRODUCT} 个规格", code="too_many_skus")
    skus = [_clean_sku(s) for s in product.skus]
    if len({s.name for s in skus}) != len(skus):
        raise InvalidInput("同一商品的规格名称不能重复", code="sku_name_duplicate")
    if product.category_id is not None:
        await get_category(session=session, brand_id=brand_id, category_id=product.category_id)
    row = Product(
        brand_id=brand_id, category_id=product.category_id, name=name, description=description, images=images,
        status="active", created_at=now,
    )
    session.add(row)
    await session.flush()
    sku_rows = [
        Sku(
            brand_id=brand_id, product_id=row.id, name=s.name, list_price_fen=s.list_price_fen,
            stock_quantity=s.stock_quantity, created_at=now,
        )
        for s in skus
    ]
    session.add_all(sku_rows)
    await session.flush()
    return row, sku_rows


async def get_product(*, session: AsyncSession, brand_id: int, product_id: int, include_archived: bool = True) -> Product:
    product = await session.get(Product, product_id)
    if product is None or product.brand_id != brand_id or (product.status != "active" and not include_archived):
        raise NotFound("商品不存在", code="product_not_found")
    return product


async def update_product(*, session: AsyncSession, brand_id: int, product_id: int, patch: ProductPatch) -> Product:
    name = _text(patch.name, label="商品名称", code="product_name_invalid", max_length=64) if patch.name is not None else None
    description = (
        _text(patch.description, label="商品描述", code="product_description_invalid", max_length=2000, allow_empty=True)
        if patch.description is not None
        else None
    )
    images = clean_images(patch.images) if patch.images is not None else None
    if patch.status is not None and patch.status not in PRODUCT_STATUSES:
        raise InvalidInput("商品状态只能是 active 或 archived", code="product_status_invalid")
    if patch.clear_category and patch.category_id is not None:
        raise InvalidInput("不能同时设置和清除分类", code="category_invalid")
    product = await get_product(session=session, brand_id=brand_id, product_id=product_id)
    if patch.category_id is not None:
        await get_category(session=session, brand_id=brand_id, category_id=patch.category_id)
        product.category_id = patch.category_id
    if patch.clear_category:
        product.category_id = None
    if name is not None:
        product.name = name
    if description is not None:
        product.description = description
    if images is not None:
        product.images = images
    if patch.status is not None:
        product.status = patch.status
    await session.flush()
    return product


async def list_products(
    *, session: AsyncSession, brand_id: int, params: PageParams, status: str | None = "active", category_id: int | None = None
) -> tuple[list[Product], int]:
    """Products of a brand, newest first; `status=None` lists every status (staff)."""
    query: Select = select(Product).where(Product.brand_id == brand_id).order_by(Product.id.desc())
    if status is not None:
        query = query.where(Product.status == status)
    if category_id is not None:
        query = query.where(Product.category_id == category_id)
    return await fetch_page(session, query, params)


async def skus_of(*, session: AsyncSession, product_ids: set[int]) -> dict[int, list[Sku]]:
    """Each product's SKUs in creation order."""
    result: dict[int, list[Sku]] = {pid: [] for pid in product_ids}
    if not product_ids:
        return result
    rows = await session.scalars(select(Sku).where(Sku.product_id.in_(product_ids)).order_by(Sku.id))
    for sku in rows:
        result[sku.product_id].append(sku)
    return result


async def skus_by_ids(*, session: AsyncSession, sku_ids: set[int]) -> dict[int, Sku]:
    if not sku_ids:
        return {}
    rows = await session.scalars(select(Sku).where(Sku.id.in_(sku_ids)))
    return {s.id: s for s in rows}


async def products_by_ids(*, session: AsyncSession, product_ids: set[int]) -> dict[int, Product]:
    if not product_ids:
        return {}
    rows = await session.scalars(select(Product).where(Product.id.in_(product_ids)))
    return {p.id: p for p in rows}


async def get_sku(*, session: AsyncSession, brand_id: int, sku_id: int, refresh: bool = False) -> Sku:
    sku = await session.get(Sku, sku_id, populate_existing=refresh)
    if sku is None or sku.brand_id != brand_id:
        raise NotFound("商品规格不存在", code="sku_not_found")
    return sku


async def _sku_name_taken(session: AsyncSession, *, product_id: int, name: str, except_id: int | None = None) -> bool:
    query = select(Sku.id).where(Sku.product_id == product_id, Sku.name == name)
    if except_id is not None:
        query = query.where(Sku.id != except_id)
    return await session.scalar(query.limit(1)) is not None


async def add_sku(*, session: AsyncSession, brand_id: int, product_id: int, sku: SkuInput, now: datetime) -> Sku:
    clean = _clean_sku(sku)
    product = await get_product(session=session, brand_id=brand_id, product_id=product_id)
    if await session.scalar(select(func.count()).where(Sku.product_id == product.id)) >= MAX_SKUS_PER_PRODUCT:
        raise Conflict(f"一个商品最多 {MAX_SKUS_PER_PRODUCT} 个规格", code="too_many_skus")
    if await _sku_name_taken(session, product_id=product.id, name=clean.name):
        raise Conflict("该商品已有同名规格", code="sku_exists")
    row = Sku(
        brand_id=brand_id, product_id=product.id, name=clean.name, list_price_fen=clean.list_price_fen,
        stock_quantity=clean.stock_quantity, created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def update_sku(
    *, session: AsyncSession, brand_id: int, sku_id: int, name: str | None, list_price_fen: int | None
) -> Sku:
    """Name and list price only: stock changes go through `adjust_stock` (with a reason) or orders."""
    name = _text(name, label="规格名称", code="sku_name_invalid", max_length=64) if name is not None else None
    price = _price(list_price_fen) if list_price_fen is not None else None
    sku = await get_sku(session=session, brand_id=brand_id, sku_id=sku_id)
    if name is not None and name != sku.name:
        if await _sku_name_taken(session, product_id=sku.product_id, name=name, except_id=sku.id):
            raise Conflict("该商品已有同名规格", code="sku_exists")
        sku.name = name
    if price is not None:
        sku.list_price_fen = price
    await session.flush()
    return sku


# ---------------------------------------------------------------------------------------------
# Stock adjustments


async def adjust_stock(
    *, session: AsyncSession, brand_id: int, sku_id: int, delta: int, reason: str, actor_user_id: int | None,
    now: datetime,
) -> tuple[Sku, StockAdjustment]:
    """Adds `delta` (negative to remove) with one guarded statement: never below 0, never above MAX_STOCK.

    A removal larger than the stock left is refused (409 `stock_insufficient`) and changes nothing, even
    when orders are taking stock at the same moment.
    """
    if delta == 0 or abs(delta) > MAX_STOCK_DELTA:
        raise InvalidInput(f"调整数量须为非零整数，绝对值不超过 {MAX_STOCK_DELTA}", code="stock_delta_invalid")
    reason = _text(reason, label="调整原因", code="reason_required", max_length=200)
    sku = await get_sku(session=session, brand_id=brand_id, sku_id=sku_id)
    left = await session.scalar(
        update(Sku)
        .where(
            Sku.id == sku.id,
            Sku.stock_quantity + delta >= 0,
            Sku.stock_quantity + delta <= MAX_STOCK,
        )
        .values(stock_quantity=Sku.stock_quantity + delta)
        .returning(Sku.stock_quantity)
        .execution_options(synchronize_session=False)
    )
    sku = await get_sku(session=session, brand_id=brand_id, sku_id=sku_id, refresh=True)
    if left is None:
        if delta < 0:
            raise Conflict(
                f"库存不足：当前库存 {sku.stock_quantity}，不能减少 {-delta}",
                code="stock_insufficient",
                details={"stock_quantity": sku.stock_quantity},
            )
        raise Conflict(f"库存不能超过 {MAX_STOCK}", code="stock_too_large", details={"stock_quantity": sku.stock_quantity})
    adjustment = StockAdjustment(
        brand_id=brand_id, sku_id=sku.id, delta=delta, stock_after=left, reason=reason, actor_user_id=actor_user_id,
        created_at=now,
    )
    session.add(adjustment)
    await session.flush()
    return sku, adjustment


async def set_stock(
    *, session: AsyncSession, brand_id: int, sku_id: int, quantity: int, reason: str, actor_user_id: int | None,
    now: datetime,
) -> tuple[Sku, StockAdjustment | None]:
    """A stock take: the stock becomes `quantity`, recorded as the adjustment from what it was.

    Setting the number it already is changes nothing (no adjustment), so a form sent twice counts once. The
    SKU row is locked first, so no order takes stock between reading what it was and writing the difference.
    """
    quantity = _stock(quantity)
    reason = _text(reason, label="调整原因", code="reason_required", max_length=200)
    await get_sku(session=session, brand_id=brand_id, sku_id=sku_id)
    sku = await session.get(Sku, sku_id, with_for_update=True, populate_existing=True)
    assert sku is not None  # found just above, in this transaction
    if quantity == sku.stock_quantity:
        return sku, None
    return await adjust_stock(
        session=session, brand_id=brand_id, sku_id=sku_id, delta=quantity - sku.stock_quantity, reason=reason,
        actor_user_id=actor_user_id, now=now,
    )


async def list_stock_adjustments(
    *, session: AsyncSession, brand_id: int, sku_id: int, params: PageParams
) -> tuple[list[StockAdjustment], int]:
    sku = await get_sku(session=session, brand_id=brand_id, sku_id=sku_id)
    query = select(StockAdjustment).where(StockAdjustment.sku_id == sku.id).order_by(StockAdjustment.id.desc())
    return await fetch_page(session, query, params)
