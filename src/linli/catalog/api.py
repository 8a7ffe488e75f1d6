"""Catalog routes: staff of the brand manage categories, products, SKUs and stock; anyone reads active products."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.catalog import service
from linli.catalog.models import Category, Product, Sku, StockAdjustment
from linli.catalog.schemas import (
    CategoryIn,
    CategoryOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    SkuIn,
    SkuOut,
    SkuPatch,
    StockAdjustedOut,
    StockAdjustIn,
    StockAdjustmentOut,
)
from linli.errors import Unauthorized
from linli.openapi import errors
from linli.pagination import Page, PageParams, page_of, page_params
from linli.http import AuthUser, CurrentUser, MaybeUser, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["catalog"], responses=errors(409))
Paging = Annotated[PageParams, Depends(page_params)]




# --- presenters ------------------------------------------------------------------------------


def category_out(category: Category) -> CategoryOut:
    return CategoryOut(id=category.id, brand_id=category.brand_id, name=category.name)


def sku_out(sku: Sku) -> SkuOut:
    return SkuOut(
        id=sku.id, product_id=sku.product_id, name=sku.name, list_price_fen=sku.list_price_fen,
        stock_quantity=sku.stock_quantity,
    )


def adjustment_out(row: StockAdjustment) -> StockAdjustmentOut:
    return StockAdjustmentOut(
        id=row.id, sku_id=row.sku_id, delta=row.delta, stock_after=row.stock_after, reason=row.reason,
        actor_user_id=row.actor_user_id, created_at=row.created_at,
    )


async def products_out(session: AsyncSession, products: list[Product]) -> list[ProductOut]:
    skus = await service.skus_of(session=session, product_ids={p.id for p in products})
    categories = await service.categories_by_ids(
        session=session, category_ids={p.category_id for p in products if p.category_id is not None}
    )
    return [
        ProductOut(
            id=p.id, brand_id=p.brand_id, name=p.name, description=p.description, category_id=p.category_id,
            category_name=categories[p.category_id].name if p.category_id in categories else None,
            images=list(p.images or []), status=p.status, skus=[sku_out(s) for s in skus[p.id]], created_at=p.created_at,
        )
        for p in products
    ]


async def _is_staff(session: AsyncSession, brand_id: int, user: CurrentUser | None) -> bool:
    if user is None:
        return False
    return await brands.staff_role(session=session, brand_id=brand_id, user_id=user.user_id) is not None


# --- categories ------------------------------------------------------------------------------


@router.get("/brands/{brand_id}/categories", response_model=Page[CategoryOut], summary="商品分类（公开）")
async def list_categories(brand_id: IdPath, session: ReadSession, paging: Paging) -> Page[CategoryOut]:
    await brands.get_brand(session=session, brand_id=brand_id)
    return page_of([category_out(c) for c in await service.list_categories(session=session, brand_id=brand_id)], paging)


@router.post("/brands/{brand_id}/categories", status_code=201, response_model=CategoryOut, summary="新建商品分类（员工）")
async def create_category(brand_id: IdPath, body: CategoryIn, user: AuthUser, session: WriteSession, now: Now) -> CategoryOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return category_out(await service.create_category(session=session, brand_id=brand_id, name=body.name, now=now))


@router.patch("/brands/{brand_id}/categories/{category_id}", response_model=CategoryOut, summary="重命名商品分类（员工）")
async def rename_category(
    brand_id: IdPath, category_id: IdPath, body: CategoryIn, user: AuthUser, session: WriteSession
) -> CategoryOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    category = await service.rename_category(session=session, brand_id=brand_id, category_id=category_id, name=body.name)
    return category_out(category)


# --- products --------------------------------------------------------------------------------


@router.get(
    "/brands/{brand_id}/products",
    response_model=Page[ProductOut],
    summary="商品列表（公开：在售商品；员工可用 status 查看已下架商品）",
)
async def list_products(
    brand_id: IdPath,
    session: ReadSession,
    params: Paging,
    user: MaybeUser,
    category_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[Literal["active", "archived", "all"], Query(description="archived / all 仅限员工")] = "active",
) -> Page[ProductOut]:
    if status == "active":
        await brands.get_brand(session=session, brand_id=brand_id)
    elif user is None:
        raise Unauthorized()
    else:
        await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await service.list_products(
        session=session, brand_id=brand_id, params=params, status=None if status == "all" else status,
        category_id=category_id,
    )
    return Page(items=await products_out(session, rows), total=total, page=params.page, page_size=params.page_size)


@router.get(
    "/brands/{brand_id}/products/{product_id}", response_model=ProductOut, summary="商品详情（公开；已下架商品仅员工可见）"
)
async def get_product(brand_id: IdPath, product_id: IdPath, session: ReadSession, user: MaybeUser) -> ProductOut:
    await brands.get_brand(session=session, brand_id=brand_id)
    product = await service.get_product(
        session=session, brand_id=brand_id, product_id=product_id,
        include_archived=await _is_staff(session, brand_id, user),
    )
    [out] = await products_out(session, [product])
    return out


@router.post("/brands/{brand_id}/products", status_code=201, response_model=ProductOut, summary="新建商品及规格（员工）")
async def create_product(brand_id: IdPath, body: ProductIn, user: AuthUser, session: WriteSession, now: Now) -> ProductOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    product, _ = await service.create_product(
        session=session,
        brand_id=brand_id,
        product=service.ProductInput(
            name=body.name, description=body.description, category_id=body.category_id, images=body.images,
            skus=[service.SkuInput(**s.model_dump()) for s in body.skus],
        ),
        now=now,
    )
    [out] = await products_out(session, [product])
    return out


@router.patch("/brands/{brand_id}/products/{product_id}", response_model=ProductOut, summary="修改商品、上下架（员工）")
async def update_product(
    brand_id: IdPath, product_id: IdPath, body: ProductPatch, user: AuthUser, session: WriteSession
) -> ProductOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    clear_category = "category_id" in body.model_fields_set and body.category_id is None
    product = await service.update_product(
        session=session,
        brand_id=brand_id,
        product_id=product_id,
        patch=service.ProductPatch(
            name=body.name, description=body.description, category_id=body.category_id,
            clear_category=clear_category, images=body.images, status=body.status,
        ),
    )
    [out] = await products_out(session, [product])
    return out


# --- SKUs and stock --------------------------------------------------------------------------


@router.post(
    "/brands/{brand_id}/products/{product_id}/skus", status_code=201, response_model=SkuOut, summary="新增商品规格（员工）"
)
async def add_sku(
    brand_id: IdPath, product_id: IdPath, body: SkuIn, user: AuthUser, session: WriteSession, now: Now
) -> SkuOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    sku = await service.add_sku(
        session=session, brand_id=brand_id, product_id=product_id, sku=service.SkuInput(**body.model_dump()), now=now
    )
    return sku_out(sku)


@router.patch("/brands/{brand_id}/skus/{sku_id}", response_model=SkuOut, summary="修改规格名称或标价（员工）")
async def update_sku(brand_id: IdPath, sku_id: IdPath, body: SkuPatch, user: AuthUser, session: WriteSession) -> SkuOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    sku = await service.update_sku(
        session=session, brand_id=brand_id, sku_id=sku_id, name=body.name, list_price_fen=body.list_price_fen
    )
    return sku_out(sku)


@router.post(
    "/brands/{brand_id}/skus/{sku_id}/stock", response_model=StockAdjustedOut, summary="调整库存（员工；不会减到负数）"
)
async def adjust_stock(
    brand_id: IdPath, sku_id: IdPath, body: StockAdjustIn, user: AuthUser, session: WriteSession, now: Now
) -> StockAdjustedOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    sku, adjustment = await service.adjust_stock(
        session=session, brand_id=brand_id, sku_id=sku_id, delta=body.delta, reason=body.reason,
        actor_user_id=user.user_id, now=now,
    )
    return StockAdjustedOut(sku=sku_out(sku), adjustment=adjustment_out(adjustment))


@router.get(
    "/brands/{brand_id}/skus/{sku_id}/stock-adjustments",
    response_model=Page[StockAdjustmentOut],
    summary="库存调整记录（员工）",
)
async def list_stock_adjustments(
    brand_id: IdPath, sku_id: IdPath, user: AuthUser, session: ReadSession, params: Paging
) -> Page[StockAdjustmentOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await service.list_stock_adjustments(session=session, brand_id=brand_id, sku_id=sku_id, params=params)
    return Page(items=[adjustment_out(r) for r in rows], total=total, page=params.page, page_size=params.page_size)
