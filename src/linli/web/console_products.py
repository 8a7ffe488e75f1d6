"""The brand console: 商品库存 — the brand's products with their SKUs, list prices and stock; forms to create a
product with its first SKU, add a SKU, take stock (set the number there is), and take a product off sale or back.

The same service calls and the same check as the catalog API (`brands.require_staff`, then `catalog.*`). The
catalog keeps one stock figure per SKU, what can still be sold (orders take from it when they reserve), so that is
the figure shown. A stock take sets an absolute number (`catalog.set_stock`): sent twice it counts once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.catalog import service as catalog
from linli.context import AppContext
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.pagination import PageParams
from linli.web.console import staff_view
from linli.web import receipts
from linli.web.forms import count_of, fen_of, new_key
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

SHOWN = PageParams(page=1, page_size=100)
Text = Annotated[str, Form(max_length=2100)]
ChosenId = Annotated[int | None, Form(ge=1, le=MAX_ID)]
Done = Annotated[str | None, Query(max_length=16)]
PRODUCT_STATUS_TEXT = {"active": "在售", "archived": "已下架"}
DONE = {
    "product": "商品已创建",
    "sku": "规格已添加",
    "stock": "库存已更新",
    "same": "库存已是这个数量，未做调整",
    "status": "商品状态已更新",
}
# Which field a service's refusal is shown beside, by its code, per form.
PRODUCT_FIELDS = {
    "product_name_invalid": "name", "product_description_invalid": "description", "sku_name_invalid": "first_sku_name",
    "price_invalid": "first_price", "stock_invalid": "first_stock",
}
SKU_FIELDS = {
    "sku_name_invalid": "sku_name", "sku_exists": "sku_name", "price_invalid": "sku_price", "stock_invalid": "sku_stock",
}
STOCK_FIELDS = {
    "reason_required": "stock_reason", "stock_invalid": "stock_quantity", "stock_delta_invalid": "stock_quantity",
}


def console_path(brand_id: int, page: str) -> str:
    return f"/brands/{brand_id}/console/{page}"


def poster_id(visitor: Visitor, back: str) -> int:
    """The signed-in user behind a console POST; anyone else goes to sign in and then back to `back`."""
    if not visitor.signed_in:
        raise SignInRequired(back)
    return user_id_of(visitor)


def page_refusal(exc: DomainError) -> bool:
    """Refusals that are the whole page's (not this brand's staff, no such brand), never a field's."""
    return exc.status_code == 403 or exc.code == "brand_not_found"


def chosen(value: int | None, message: str, code: str) -> int:
    if value is None:
        raise InvalidInput(message, code=code)
    return value


async def render_products(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState, done: str | None = None
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        products, total = await catalog.list_products(session=session, brand_id=brand_id, params=SHOWN, status=None)
        skus = await catalog.skus_of(session=session, product_ids={p.id for p in products})
    form.values.setdefault("stock_reason", "盘点")
    form.values.setdefault("form_key", new_key())  # 新建商品 creates once however often it is sent
    return render(
        request, visitor, "console_products.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="products", form=form, products=products, total=total, skus=skus, status_text=PRODUCT_STATUS_TEXT,
        done=DONE.get(done or ""),
    )


def back_to_products(brand_id: int, done: str) -> RedirectResponse:
    # After a post, a get: reloading the page sends nothing again.
    return RedirectResponse(console_path(brand_id, f"products?done={done}"), status_code=303)


@router.get("/brands/{brand_id}/console/products")
async def products_page(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Done = None) -> Response:
    return await render_products(request, visitor, ctx, brand_id, FormState(), done)


@router.post("/brands/{brand_id}/console/products")
async def create_product(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, name: Text = "", description: Text = "",
    first_sku_name: Text = "", first_price: Text = "", first_stock: Text = "", form_key: Text = "",
) -> Response:
    user_id = poster_id(visitor, console_path(brand_id, "products"))
    form = FormState(values={
        "name": name, "description": description, "first_sku_name": first_sku_name, "first_price": first_price,
        "first_stock": first_stock, "form_key": form_key,
    })
    field = "name"
    try:
        field = "first_price"
        price = fen_of(first_price, what="标价")
        field = "first_stock"
        stock = count_of(first_stock, label="库存")
        field = "name"
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await receipts.check(session, user_id=user_id, form_key=form_key)
            await catalog.create_product(
                session=session, brand_id=brand_id, now=ctx.clock.now(),
                product=catalog.ProductInput(
                    name=name, description=description,
                    skus=[catalog.SkuInput(name=first_sku_name, list_price_fen=price, stock_quantity=stock)],
                ),
            )
            await receipts.seal(
                session, user_id=user_id, form_key=form_key, now=ctx.clock.now(),
                result_path=console_path(brand_id, "products?done=product"),
            )
    except receipts.AlreadySubmitted as done:
        return RedirectResponse(done.result_path, status_code=303)
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, PRODUCT_FIELDS.get(exc.code, field))
        return await render_products(request, visitor, ctx, brand_id, form)
    return back_to_products(brand_id, "product")


@router.post("/brands/{brand_id}/console/skus")
async def add_sku(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, sku_product_id: ChosenId = None,
    sku_name: Text = "", sku_price: Text = "", sku_stock: Text = "",
) -> Response:
    user_id = poster_id(visitor, console_path(brand_id, "products"))
    form = FormState(values={
        "sku_product_id": str(sku_product_id or ""), "sku_name": sku_name, "sku_price": sku_price,
        "sku_stock": sku_stock,
    })
    field = "sku_product_id"
    try:
        product_id = chosen(sku_product_id, "请选择商品", "product_required")
        field = "sku_price"
        price = fen_of(sku_price, what="标价")
        field = "sku_stock"
        stock = count_of(sku_stock, label="库存")
        field = "sku_product_id"  # the product (unknown, another brand's, too many SKUs) is the rest
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await catalog.add_sku(
                session=session, brand_id=brand_id, product_id=product_id, now=ctx.clock.now(),
                sku=catalog.SkuInput(name=sku_name, list_price_fen=price, stock_quantity=stock),
            )
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, SKU_FIELDS.get(exc.code, field))
        return await render_products(request, visitor, ctx, brand_id, form)
    return back_to_products(brand_id, "sku")


@router.post("/brands/{brand_id}/console/stock")
async def set_stock(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, stock_sku_id: ChosenId = None,
    stock_quantity: Text = "", stock_reason: Text = "",
) -> Response:
    user_id = poster_id(visitor, console_path(brand_id, "products"))
    form = FormState(values={
        "stock_sku_id": str(stock_sku_id or ""), "stock_quantity": stock_quantity, "stock_reason": stock_reason,
    })
    field = "stock_sku_id"
    try:
        sku_id = chosen(stock_sku_id, "请选择规格", "sku_required")
        field = "stock_quantity"
        quantity = count_of(stock_quantity, label="库存")
        field = "stock_sku_id"
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            _, adjustment = await catalog.set_stock(
                session=session, brand_id=brand_id, sku_id=sku_id, quantity=quantity, reason=stock_reason,
                actor_user_id=user_id, now=ctx.clock.now(),
            )
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, STOCK_FIELDS.get(exc.code, field))
        return await render_products(request, visitor, ctx, brand_id, form)
    return back_to_products(brand_id, "stock" if adjustment is not None else "same")


@router.post("/brands/{brand_id}/console/products/{product_id}/status")
async def set_product_status(
    brand_id: IdPath, product_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, status: Text = ""
) -> Response:
    """上架 / 下架: setting a status is the same whatever it was, so a second click changes nothing more."""
    user_id = poster_id(visitor, console_path(brand_id, "products"))
    async with ctx.db.transaction() as session:  # an unknown product or a bad status is the whole page's refusal
        await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
        await catalog.update_product(
            session=session, brand_id=brand_id, product_id=product_id, patch=catalog.ProductPatch(status=status)
        )
    return back_to_products(brand_id, "status")
