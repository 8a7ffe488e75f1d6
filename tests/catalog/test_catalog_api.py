"""Categories, products, SKUs and stock through the HTTP API."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from linli.catalog.models import Category, Product, Sku, StockAdjustment
from tests.catalog.conftest import Scene, error_code

IMG = "https://img.example.com/strawberry-1.jpg"


def product_body(**overrides) -> dict:
    body = {
        "name": "黄金奶油草莓",
        "description": "清晨采摘，本地农场直供",
        "images": [IMG, "http://img.example.com/strawberry-2.jpg"],
        "skus": [
            {"name": "500g×2 盒", "list_price_fen": 8800, "stock_quantity": 500},
            {"name": "1kg 礼盒", "list_price_fen": 16800},
        ],
    }
    body.update(overrides)
    return body


async def counts(ctx) -> dict[str, int]:
    async with ctx.db.read() as s:
        return {
            m.__tablename__: int(await s.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Category, Product, Sku, StockAdjustment)
        }


async def stock_of(ctx, sku_id: int) -> int:
    async with ctx.db.read() as s:
        return (await s.get(Sku, sku_id)).stock_quantity


async def create_product(client, scene: Scene, **overrides) -> dict:
    response = await client.post(f"{scene.base}/products", json=product_body(**overrides), headers=scene.operator.headers)
    assert response.status_code == 201, response.text
    return response.json()


# --- categories ------------------------------------------------------------------------------


async def test_categories_are_created_listed_and_renamed(client, scene: Scene, ctx):
    response = await client.post(f"{scene.base}/categories", json={"name": " 时令鲜果 "}, headers=scene.owner.headers)
    assert response.status_code == 201, response.text
    fruit = response.json()
    assert fruit["name"] == "时令鲜果" and fruit["brand_id"] == scene.brand
    await client.post(f"{scene.base}/categories", json={"name": "乳制品"}, headers=scene.operator.headers)

    before = await counts(ctx)
    dup = await client.post(f"{scene.base}/categories", json={"name": "时令鲜果"}, headers=scene.owner.headers)
    assert dup.status_code == 409 and error_code(dup) == "category_exists"
    assert await counts(ctx) == before

    listed = await client.get(f"{scene.base}/categories")  # public
    assert [c["name"] for c in listed.json()["items"]] == ["时令鲜果", "乳制品"]
    assert listed.json()["total"] == 2
    paged = await client.get(f"{scene.base}/categories", params={"page": 2, "page_size": 1})
    assert ([c["name"] for c in paged.json()["items"]], paged.json()["total"]) == (["乳制品"], 2)

    renamed = await client.patch(
        f"{scene.base}/categories/{fruit['id']}", json={"name": "应季水果"}, headers=scene.owner.headers
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "应季水果"
    clash = await client.patch(f"{scene.base}/categories/{fruit['id']}", json={"name": "乳制品"}, headers=scene.owner.headers)
    assert clash.status_code == 409 and error_code(clash) == "category_exists"


async def test_category_names_are_checked(client, scene: Scene):
    for name in ("", "   ", "分" * 33, None):
        response = await client.post(f"{scene.base}/categories", json={"name": name}, headers=scene.owner.headers)
        assert response.status_code == 422, name
        assert error_code(response) in ("invalid_request", "category_name_invalid")


# --- products --------------------------------------------------------------------------------


async def test_product_with_skus_is_created_and_readable_by_anyone(client, scene: Scene):
    category = (await client.post(f"{scene.base}/categories", json={"name": "时令鲜果"}, headers=scene.owner.headers)).json()
    product = await create_product(client, scene, category_id=category["id"])
    assert product["status"] == "active"
    assert product["category_name"] == "时令鲜果"
    assert product["images"][0] == IMG
    assert [(s["name"], s["list_price_fen"], s["stock_quantity"]) for s in product["skus"]] == [
        ("500g×2 盒", 8800, 500),
        ("1kg 礼盒", 16800, 0),
    ]

    listed = await client.get(f"{scene.base}/products")
    assert listed.status_code == 200
    assert listed.json()["total"] == 1 and listed.json()["items"][0] == product
    detail = await client.get(f"{scene.base}/products/{product['id']}", headers=scene.member.headers)
    assert detail.status_code == 200 and detail.json() == product

    by_category = await client.get(f"{scene.base}/products", params={"category_id": category["id"]})
    assert by_category.json()["total"] == 1
    other = await client.get(f"{scene.base}/products", params={"category_id": category["id"] + 100})
    assert other.json()["total"] == 0
    # Another brand's catalogue does not show it, nor does its detail path.
    assert (await client.get(f"/api/v1/brands/{scene.other_brand}/products")).json()["total"] == 0
    response = await client.get(f"/api/v1/brands/{scene.other_brand}/products/{product['id']}")
    assert response.status_code == 404 and error_code(response) == "product_not_found"


BAD_PRODUCTS = [
    {"name": ""},
    {"name": "名" * 65},
    {"description": "长" * 2001},
    {"images": ["ftp://img.example.com/a.jpg"]},
    {"images": ["javascript:alert(1)"]},
    {"images": ["not a url"]},
    {"images": ["https://"]},
    {"images": [f"https://img.example.com/{i}.jpg" for i in range(10)]},
    {"skus": [{"name": "盒", "list_price_fen": 0}]},
    {"skus": [{"name": "盒", "list_price_fen": -100}]},
    {"skus": [{"name": "盒", "list_price_fen": 10**12}]},
    {"skus": [{"name": "盒", "list_price_fen": 100, "stock_quantity": -1}]},
    {"skus": [{"name": "盒", "list_price_fen": 100, "stock_quantity": 10**9}]},
    {"skus": [{"name": "", "list_price_fen": 100}]},
    {"skus": [{"name": "盒", "list_price_fen": 100}, {"name": "盒", "list_price_fen": 200}]},
    {"category_id": 0},
    {"category_id": 2**70},
    ]


async def test_bad_product_input_is_422_and_writes_nothing(client, scene: Scene, ctx):
    before = await counts(ctx)
    for overrides in BAD_PRODUCTS:
        response = await client.post(f"{scene.base}/products", json=product_body(**overrides), headers=scene.owner.headers)
        assert response.status_code == 422, (overrides, response.text)
        assert error_code(response) in ("invalid_request", "sku_name_duplicate"), overrides
    assert await counts(ctx) == before


async def test_category_of_another_brand_is_refused(client, scene: Scene, ctx):
    theirs = (
        await client.post(
            f"/api/v1/brands/{scene.other_brand}/categories", json={"name": "鲜果"}, headers=scene.other_owner.headers
        )
    ).json()
    before = await counts(ctx)
    response = await client.post(
        f"{scene.base}/products", json=product_body(category_id=theirs["id"]), headers=scene.owner.headers
    )
    assert response.status_code == 404 and error_code(response) == "category_not_found"
    assert await counts(ctx) == before


async def test_product_is_patched_and_archived(client, scene: Scene):
    category = (await client.post(f"{scene.base}/categories", json={"name": "时令鲜果"}, headers=scene.owner.headers)).json()
    product = await create_product(client, scene, category_id=category["id"])
    url = f"{scene.base}/products/{product['id']}"

    patched = await client.patch(
        url, json={"name": "红颜草莓", "images": [], "category_id": None}, headers=scene.owner.headers
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["images"], body["category_id"], body["description"]) == (
        "红颜草莓", [], None, product["description"],
    )
    bad = await client.patch(url, json={"images": ["file:///etc/passwd"]}, headers=scene.owner.headers)
    assert bad.status_code == 422

    archived = await client.patch(url, json={"status": "archived"}, headers=scene.owner.headers)
    assert archived.json()["status"] == "archived"
    # Gone for the public, still there for staff.
    assert (await client.get(f"{scene.base}/products")).json()["total"] == 0
    for headers in ({}, scene.member.headers, scene.other_owner.headers):
        response = await client.get(url, headers=headers)
        assert response.status_code == 404 and error_code(response) == "product_not_found"
    assert (await client.get(url, headers=scene.operator.headers)).json()["status"] == "archived"
    staff_list = await client.get(f"{scene.base}/products", params={"status": "archived"}, headers=scene.owner.headers)
    assert staff_list.json()["total"] == 1
    everything = await client.get(f"{scene.base}/products", params={"status": "all"}, headers=scene.owner.headers)
    assert everything.json()["total"] == 1
    # Archived listings are for staff only.
    response = await client.get(f"{scene.base}/products", params={"status": "archived"})
    assert response.status_code == 401
    response = await client.get(f"{scene.base}/products", params={"status": "all"}, headers=scene.member.headers)
    assert response.status_code == 403 and error_code(response) == "staff_only"


async def test_unknown_brand_and_product(client, scene: Scene):
    assert (await client.get("/api/v1/brands/999999/products")).status_code == 404
    response = await client.get(f"{scene.base}/products/999999")
    assert response.status_code == 404 and error_code(response) == "product_not_found"
    response = await client.patch(f"{scene.base}/products/999999", json={"name": "x"}, headers=scene.owner.headers)
    assert response.status_code == 404


# --- SKUs ------------------------------------------------------------------------------------


async def test_skus_are_added_and_changed(client, scene: Scene):
    product = await create_product(client, scene, skus=[])
    url = f"{scene.base}/products/{product['id']}/skus"
    response = await client.post(url, json={"name": "500g", "list_price_fen": 3900, "stock_quantity": 20}, headers=scene.owner.headers)
    assert response.status_code == 201, response.text
    sku = response.json()
    assert (sku["name"], sku["list_price_fen"], sku["stock_quantity"], sku["product_id"]) == ("500g", 3900, 20, product["id"])

    dup = await client.post(url, json={"name": "500g", "list_price_fen": 100}, headers=scene.owner.headers)
    assert dup.status_code == 409 and error_code(dup) == "sku_exists"
    for bad in ({"name": "1kg", "list_price_fen": 0}, {"name": "1kg"}, {"name": "1kg", "list_price_fen": "abc"}):
        assert (await client.post(url, json=bad, headers=scene.owner.headers)).status_code == 422

    changed = await client.patch(
        f"{scene.base}/skus/{sku['id']}", json={"list_price_fen": 4200, "name": "500g 装"}, headers=scene.owner.headers
    )
    assert changed.status_code == 200
    assert (changed.json()["list_price_fen"], changed.json()["name"], changed.json()["stock_quantity"]) == (4200, "500g 装", 20)
    # Stock is not a PATCH field: it changes with a reason through /stock.
    ignored = await client.patch(f"{scene.base}/skus/{sku['id']}", json={"stock_quantity": 999}, headers=scene.owner.headers)
    assert ignored.json()["stock_quantity"] == 20
    bad = await client.patch(f"{scene.base}/skus/{sku['id']}", json={"list_price_fen": -1}, headers=scene.owner.headers)
    assert bad.status_code == 422


# --- stock -----------------------------------------------------------------------------------


async def test_stock_adjustments_never_go_negative(client, scene: Scene, ctx):
    product = await create_product(client, scene)
    sku_id = product["skus"][0]["id"]
    url = f"{scene.base}/skus/{sku_id}/stock"

    added = await client.post(url, json={"delta": 100, "reason": "农场到货"}, headers=scene.operator.headers)
    assert added.status_code == 200, added.text
    assert added.json()["sku"]["stock_quantity"] == 600
    assert added.json()["adjustment"]["stock_after"] == 600
    removed = await client.post(url, json={"delta": -550, "reason": "盘点损耗"}, headers=scene.owner.headers)
    assert removed.json()["sku"]["stock_quantity"] == 50

    before = await counts(ctx)
    too_many = await client.post(url, json={"delta": -51, "reason": "出库"}, headers=scene.owner.headers)
    assert too_many.status_code == 409 and error_code(too_many) == "stock_insufficient"
    assert too_many.json()["error"]["details"] == {"stock_quantity": 50}
    for bad in (
        {"delta": 0, "reason": "无"},
        {"delta": 10},
        {"delta": 10, "reason": ""},
        {"delta": 10**7, "reason": "太多"},
        {"delta": 1.5, "reason": "小数"},
    ):
        response = await client.post(url, json=bad, headers=scene.owner.headers)
        assert response.status_code == 422, bad
    assert await counts(ctx) == before
    assert await stock_of(ctx, sku_id) == 50

    history = await client.get(f"{scene.base}/skus/{sku_id}/stock-adjustments", headers=scene.owner.headers)
    assert [(a["delta"], a["stock_after"], a["reason"]) for a in history.json()["items"]] == [
        (-550, 50, "盘点损耗"),
        (100, 600, "农场到货"),
    ]
    unknown = await client.post(f"{scene.base}/skus/999999/stock", json={"delta": 1, "reason": "x"}, headers=scene.owner.headers)
    assert unknown.status_code == 404 and error_code(unknown) == "sku_not_found"


async def test_concurrent_removals_stop_at_zero(client, scene: Scene, ctx):
    product = await create_product(client, scene, skus=[{"name": "盒", "list_price_fen": 100, "stock_quantity": 5}])
    sku_id = product["skus"][0]["id"]
    responses = await asyncio.gather(
        *[
            client.post(f"{scene.base}/skus/{sku_id}/stock", json={"delta": -1, "reason": "出库"}, headers=scene.owner.headers)
            for _ in range(12)
        ]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [409] * 7
    assert await stock_of(ctx, sku_id) == 0
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(StockAdjustment)) == 5


# --- access ----------------------------------------------------------------------------------


async def _staff_requests(client, scene: Scene) -> list[tuple[str, str, dict | None]]:
    product = await create_product(client, scene)
    category = (await client.post(f"{scene.base}/categories", json={"name": "鲜果"}, headers=scene.owner.headers)).json()
    sku_id = product["skus"][0]["id"]
    return [
        ("POST", "/categories", {"name": "乳品"}),
        ("PATCH", f"/categories/{category['id']}", {"name": "乳品"}),
        ("POST", "/products", product_body()),
        ("PATCH", f"/products/{product['id']}", {"name": "x"}),
        ("POST", f"/products/{product['id']}/skus", {"name": "新规格", "list_price_fen": 100}),
        ("PATCH", f"/skus/{sku_id}", {"list_price_fen": 100}),
        ("POST", f"/skus/{sku_id}/stock", {"delta": 1, "reason": "到货"}),
        ("GET", f"/skus/{sku_id}/stock-adjustments", None),
    ]


async def test_staff_routes_refuse_everyone_else(client, scene: Scene, ctx):
    requests = await _staff_requests(client, scene)
    before = await counts(ctx)
    for method, path, body in requests:
        url = scene.base + path
        kwargs = {"json": body} if body is not None else {}
        anonymous = await client.request(method, url, **kwargs)
        assert anonymous.status_code == 401, (method, path)
        for actor in (scene.member, scene.leader.actor, scene.other_owner):
            response = await client.request(method, url, headers=actor.headers, **kwargs)
            assert response.status_code == 403, (method, path, response.text)
            assert error_code(response) == "staff_only"
        # Another brand's staff on their own brand's path reach nothing of ours.
        if "{" not in path and path not in ("/categories", "/products"):
            theirs = await client.request(
                method, f"/api/v1/brands/{scene.other_brand}{path}", headers=scene.other_owner.headers, **kwargs
            )
            assert theirs.status_code == 404, (method, path, theirs.text)
    assert await counts(ctx) == before
