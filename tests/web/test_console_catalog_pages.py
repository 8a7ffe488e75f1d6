"""The console's 商品库存 over HTTP on the demo: who may open it and post its forms, CSRF, what each form writes,
and the service's refusals beside their fields with what was typed kept."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from linli.catalog import service as catalog
from linli.catalog.models import Product, Sku, StockAdjustment
from linli.demo.cast import OPERATOR_LOGIN
from tests.web.conftest import csrf_of
from tests.web.test_workbench_pages import other_brand_leader, text_of
from tests.web.workbench_scene import become, load, sign_in_as

WHO_MAY_NOT = ["anonymous", "member", "leader", "other-brand-staff"]


def products_path(brand_id: int) -> str:
    return f"/brands/{brand_id}/console/products"


def error_for(html: str, name: str) -> str:
    found = re.search(rf'data-error-for="{name}">([^<]*)<', html)
    assert found is not None, f"no message beside {name}"
    return found.group(1)


def kept(html: str, name: str) -> str:
    found = re.search(rf'id="f-{name}" name="{name}" type="[a-z-]+" value="([^"]*)"', html)
    assert found is not None, f"no input {name}"
    return found.group(1)




async def token_for(client, who: str) -> str:
    """A valid CSRF token of whoever the client is, from a page they may open."""
    return csrf_of((await client.get("/signin" if who == "anonymous" else "/me")).text)


def assert_refused(response, who: str, path: str) -> None:
    if who == "anonymous":
        assert response.status_code == 303 and response.headers["location"] == f"/signin?next={path}"
        return
    assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    assert "仅限本品牌员工操作" in text_of(response.text)


async def counts(ctx) -> tuple[int, int, int]:
    async with ctx.db.read() as s:
        return tuple([int(await s.scalar(select(func.count()).select_from(m)) or 0) for m in (Product, Sku, StockAdjustment)])


async def a_sku(ctx, brand_id: int) -> Sku:
    async with ctx.db.read() as s:
        sku = await s.scalar(select(Sku).where(Sku.brand_id == brand_id).order_by(Sku.id).limit(1))
        assert sku is not None
        return sku


async def stock_of(ctx, sku_id: int) -> int:
    async with ctx.db.read() as s:
        return (await s.get(Sku, sku_id)).stock_quantity


def post_bodies(sku: Sku) -> dict[str, dict[str, str]]:
    return {
        "products": {"name": "赣南脐橙", "first_sku_name": "5斤装", "first_price": "39.9", "first_stock": "200"},
        "skus": {"sku_product_id": str(sku.product_id), "sku_name": "新规格", "sku_price": "10", "sku_stock": "5"},
        "stock": {"stock_sku_id": str(sku.id), "stock_quantity": "7", "stock_reason": "盘点"},
        f"products/{sku.product_id}/status": {"status": "archived"},
    }


async def test_staff_see_products_skus_prices_and_stock(client, ctx):
    demo = await load(ctx)
    sku = await a_sku(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login="youlin-owner")
    page = await client.get(products_path(demo.brand_id))
    assert page.status_code == 200
    assert 'aria-current="page">商品库存' in page.text  # the console's tab
    row = re.search(rf'data-testid="sku-{sku.id}">(.*?)</tr>', page.text, re.S)
    assert row is not None
    cells = text_of(row.group(1))
    assert sku.name in cells and f"¥{sku.list_price_fen // 100}." in cells and str(sku.stock_quantity) in cells
    assert "在售" in text_of(page.text) and "可售库存" in page.text


@pytest.mark.parametrize("who", WHO_MAY_NOT)
async def test_who_may_not_open_the_products_or_post_its_forms(client, ctx, world, who):
    demo = await load(ctx)
    sku = await a_sku(ctx, demo.brand_id)
    await become(client, ctx, world, who)
    path = products_path(demo.brand_id)
    assert_refused(await client.get(path), who, path)
    before = (await counts(ctx), await stock_of(ctx, sku.id))
    token = await token_for(client, who)
    for action, body in post_bodies(sku).items():
        posted = await client.post(f"/brands/{demo.brand_id}/console/{action}", data={"csrf_token": token, **body})
        assert_refused(posted, who, path)
    assert (await counts(ctx), await stock_of(ctx, sku.id)) == before
    async with ctx.db.read() as s:
        assert (await s.get(Product, sku.product_id)).status == "active"


async def test_unknown_brand_and_product_are_the_404_page(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    missing = await client.get(products_path(999999))
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    token = csrf_of((await client.get(products_path(demo.brand_id))).text)
    gone = await client.post(
        f"/brands/{demo.brand_id}/console/products/999999/status", data={"csrf_token": token, "status": "archived"}
    )
    assert gone.status_code == 404 and "商品不存在" in text_of(gone.text)


@pytest.mark.parametrize("token", ["", "forged"])
async def test_a_post_without_a_valid_token_changes_nothing(client, ctx, token):
    demo = await load(ctx)
    sku = await a_sku(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login="youlin-owner")
    before = (await counts(ctx), await stock_of(ctx, sku.id))
    for action, body in post_bodies(sku).items():
        posted = await client.post(f"/brands/{demo.brand_id}/console/{action}", data={"csrf_token": token, **body})
        assert posted.status_code == 403 and "页面已过期或来源不明" in text_of(posted.text)
    assert (await counts(ctx), await stock_of(ctx, sku.id)) == before


async def test_an_operator_creates_a_product_with_its_first_sku(client, ctx):
    """The catalog API lets any staff role (owner or operator) manage products; so does the page."""
    demo = await load(ctx)
    await sign_in_as(client, ctx, login=OPERATOR_LOGIN)
    token = csrf_of((await client.get(products_path(demo.brand_id))).text)
    body = {"name": "赣南脐橙", "description": "果园直发", "first_sku_name": "5斤装", "first_price": "39.9", "first_stock": "200"}
    created = await client.post(products_path(demo.brand_id), data={"csrf_token": token, **body})
    assert created.status_code == 303 and created.headers["location"] == products_path(demo.brand_id) + "?done=product"
    async with ctx.db.read() as s:
        product = await s.scalar(select(Product).where(Product.brand_id == demo.brand_id, Product.name == "赣南脐橙"))
        [sku] = (await s.scalars(select(Sku).where(Sku.product_id == product.id))).all()
    assert (product.description, product.status) == ("果园直发", "active")
    assert (sku.name, sku.list_price_fen, sku.stock_quantity) == ("5斤装", 3990, 200)
    page = await client.get(created.headers["location"])
    assert "商品已创建" in text_of(page.text) and f'data-testid="sku-{sku.id}"' in page.text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": "  "}, "name", "商品名称不能为空"),
        ({"first_price": "39.999"}, "first_price", "请输入标价（元），最多两位小数"),
        ({"first_price": "0"}, "first_price", "价格须大于 0 且不超过 100 万元（单位：分）"),
        ({"first_stock": "-3"}, "first_stock", "库存须为整数"),
        ({"first_sku_name": ""}, "first_sku_name", "规格名称不能为空"),
    ],
)
async def test_a_refused_product_says_why_beside_the_field_and_keeps_the_form(client, ctx, change, field, message):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    token = csrf_of((await client.get(products_path(demo.brand_id))).text)
    before = await counts(ctx)
    body = {"name": "赣南脐橙", "first_sku_name": "5斤装", "first_price": "39.90", "first_stock": "200", **change}
    refused = await client.post(products_path(demo.brand_id), data={"csrf_token": token, **body})
    assert refused.status_code == 422
    assert error_for(refused.text, field) == message
    assert kept(refused.text, "first_price") == body["first_price"] and kept(refused.text, "first_sku_name") == body["first_sku_name"]
    assert await counts(ctx) == before


async def test_adding_a_sku_and_its_refusals(client, ctx, world):
    demo = await load(ctx)
    sku = await a_sku(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login="youlin-owner")
    token = csrf_of((await client.get(products_path(demo.brand_id))).text)
    body = {"csrf_token": token, "sku_product_id": str(sku.product_id), "sku_name": "尝鲜装", "sku_price": "19.9", "sku_stock": "30"}
    added = await client.post(f"/brands/{demo.brand_id}/console/skus", data=body)
    assert added.status_code == 303 and added.headers["location"].endswith("?done=sku")
    async with ctx.db.read() as s:
        new = await s.scalar(select(Sku).where(Sku.product_id == sku.product_id, Sku.name == "尝鲜装"))
    assert (new.list_price_fen, new.stock_quantity) == (1990, 30)
    other, _ = await other_brand_leader(world)
    async with ctx.db.transaction() as s:
        theirs, _ = await catalog.create_product(
            session=s, brand_id=other, product=catalog.ProductInput(name="别家的橙子"), now=ctx.clock.now()
        )
    before = await counts(ctx)
    twice = await client.post(f"/brands/{demo.brand_id}/console/skus", data=body)  # the same SKU name again
    assert twice.status_code == 409 and error_for(twice.text, "sku_name") == "该商品已有同名规格"
    assert kept(twice.text, "sku_price") == "19.9"
    foreign = await client.post(f"/brands/{demo.brand_id}/console/skus", data={**body, "sku_product_id": str(theirs.id), "sku_name": "x"})
    assert foreign.status_code == 404 and error_for(foreign.text, "sku_product_id") == "商品不存在"
    unchosen = await client.post(f"/brands/{demo.brand_id}/console/skus", data={**body, "sku_product_id": ""})
    assert unchosen.status_code == 422 and error_for(unchosen.text, "sku_product_id") == "请选择商品"
    assert await counts(ctx) == before


async def test_a_stock_take_sent_twice_counts_once(client, ctx):
    demo = await load(ctx)
    sku = await a_sku(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login="youlin-owner")
    token = csrf_of((await client.get(products_path(demo.brand_id))).text)
    target = sku.stock_quantity + 40
    body = {"csrf_token": token, "stock_sku_id": str(sku.id), "stock_quantity": str(target), "stock_reason": "到货盘点"}
    first = await client.post(f"/brands/{demo.brand_id}/console/stock", data=body)
    second = await client.post(f"/brands/{demo.brand_id}/console/stock", data=body)  # a double click
    assert first.headers["location"].endswith("?done=stock") and second.headers["location"].endswith("?done=same")
    assert await stock_of(ctx, sku.id) == target
    async with ctx.db.read() as s:
        rows = (await s.scalars(select(StockAdjustment).where(StockAdjustment.sku_id == sku.id))).all()
    assert [(r.delta, r.stock_after, r.reason) for r in rows] == [(40, target, "到货盘点")]
    page = await client.get(second.headers["location"])
    assert "库存已是这个数量，未做调整" in text_of(page.text)
    assert re.search(rf'data-testid="sku-{sku.id}">.*?data-testid="sku-stock">{target}<', page.text, re.S)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"stock_quantity": "-5"}, "stock_quantity", "库存须为整数"),
        ({"stock_quantity": "20000000"}, "stock_quantity", "库存须在 0 到 10000000 之间"),
        ({"stock_reason": " "}, "stock_reason", "调整原因不能为空"),
        ({"stock_sku_id": ""}, "stock_sku_id", "请选择规格"),
    ],
)
async def test_a_refused_stock_take_says_why_and_changes_nothing(client, ctx, change, field, message):
    demo = await load(ctx)
    sku = await a_sku(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login="youlin-owner")
    token = csrf_of((await client.get(products_path(demo.brand_id))).text)
    body = {"csrf_token": token, "stock_sku_id": str(sku.id), "stock_quantity": "12", "stock_reason": "盘点", **change}
    refused = await client.post(f"/brands/{demo.brand_id}/console/stock", data=body)
    assert refused.status_code == 422 and error_for(refused.text, field) == message
    assert kept(refused.text, "stock_quantity") == body["stock_quantity"]
    assert await stock_of(ctx, sku.id) == sku.stock_quantity


async def test_taking_a_product_off_sale_and_back(client, ctx):
    demo = await load(ctx)
    sku = await a_sku(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login="youlin-owner")
    token = csrf_of((await client.get(products_path(demo.brand_id))).text)
    path = f"/brands/{demo.brand_id}/console/products/{sku.product_id}/status"
    for status in ("archived", "archived", "active"):  # the same status twice is the same product
        posted = await client.post(path, data={"csrf_token": token, "status": status})
        assert posted.status_code == 303
        async with ctx.db.read() as s:
            assert (await s.get(Product, sku.product_id)).status == status
        if status == "archived":
            page = await client.get(products_path(demo.brand_id))
            row = re.search(rf'data-testid="product-{sku.product_id}">(.*?)</tbody>', page.text, re.S)
            assert "已下架" in text_of(row.group(1)) and "重新上架" in row.group(1)


def form_key_of(html: str, form: str) -> str:
    found = re.search(rf'data-testid="{form}">.*?name="form_key" value="([^"]+)"', html, re.S)
    assert found is not None, f"the {form} carries no form key"
    return found.group(1)


async def test_a_double_click_on_create_product_creates_one(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    page = (await client.get(products_path(demo.brand_id))).text
    body = {"csrf_token": csrf_of(page), "form_key": form_key_of(page, "product-form"), "name": "赣南脐橙",
            "first_sku_name": "5斤装", "first_price": "39.9", "first_stock": "200"}
    before = await counts(ctx)
    first = await client.post(products_path(demo.brand_id), data=body)
    second = await client.post(products_path(demo.brand_id), data=body)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"] == products_path(demo.brand_id) + "?done=product"
    assert await counts(ctx) == (before[0] + 1, before[1] + 1, before[2])
    again = (await client.get(first.headers["location"])).text  # a new form: a new key, a second product if asked
    assert form_key_of(again, "product-form") != body["form_key"]
