"""The brand's order list (staff): each order names its buyer, masked as on pick lists, and the list
filters by offer and by listing; another brand's ids find nothing."""

from __future__ import annotations

import uuid

from linli.attribution import service as attribution
from linli.catalog.models import Sku
from linli.live.models import Listing
from tests.orders.setup import build_stage


async def _named_member(world, stage, name: str):  # noqa: ANN001, ANN202
    member = await world.user(name=name)
    async with world.ctx.db.transaction() as s:
        await attribution.enter_with_code(session=s, user_id=member.user_id, raw_code=stage.leader.code, now=world.ctx.clock.now())
    return member


async def _order(client, member, body) -> int:  # noqa: ANN001
    response = await client.post("/api/v1/orders", json=body, headers={**member.headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _second_listing(ctx, stage) -> int:  # noqa: ANN001
    async with ctx.db.transaction() as s:
        first = await s.get(Sku, stage.sku_id)
        sku = Sku(brand_id=stage.brand_id, product_id=first.product_id, name="1kg/盒", list_price_fen=18000, stock_quantity=10,
                  created_at=ctx.clock.now())
        s.add(sku)
        await s.flush()
        listing = Listing(brand_id=stage.brand_id, session_id=stage.session_id, sku_id=sku.id, live_price_fen=16000,
                          allocation=10, created_at=ctx.clock.now())
        s.add(listing)
        await s.flush()
        return listing.id


async def test_staff_orders_name_the_buyer_masked_and_filter_by_offer_and_listing(ctx, client, world):
    stage = await build_stage(world)
    other = await build_stage(world)  # another brand, with its own offer and listing
    zhang = await _named_member(world, stage, "张三丰")
    wang = await _named_member(world, stage, "王五")
    second_listing = await _second_listing(ctx, stage)
    by_offer = await _order(client, zhang, {"offer_id": stage.offer_id, "quantity": 1})
    at_live_price = await _order(client, wang, {"listing_id": stage.listing_id, "quantity": 1})
    on_second = await _order(client, wang, {"listing_id": second_listing, "quantity": 1})
    url = f"/api/v1/brands/{stage.brand_id}/orders"

    listed = (await client.get(url, headers=stage.owner.headers)).json()
    assert set(listed) == {"items", "total", "page", "page_size"} and listed["total"] == 3
    buyers = {o["id"]: (o["member_name"], o["member_phone"]) for o in listed["items"]}
    assert buyers == {
        by_offer: ("张**", f"{zhang.phone[:3]}****{zhang.phone[-4:]}"),
        at_live_price: ("王*", f"{wang.phone[:3]}****{wang.phone[-4:]}"),
        on_second: ("王*", f"{wang.phone[:3]}****{wang.phone[-4:]}"),
    }
    assert zhang.phone not in str(listed) and wang.phone not in str(listed)

    async def ids(query: str) -> list[int]:
        response = await client.get(f"{url}?{query}", headers=stage.owner.headers)
        assert response.status_code == 200, response.text
        return sorted(o["id"] for o in response.json()["items"])

    assert await ids(f"offer_id={stage.offer_id}") == [by_offer]
    assert await ids(f"listing_id={stage.listing_id}") == sorted([by_offer, at_live_price])
    assert await ids(f"listing_id={second_listing}") == [on_second]
    assert await ids(f"listing_id={stage.listing_id}&offer_id={stage.offer_id}") == [by_offer]
    # Another brand's offer and listing find nothing here, and the count says so too.
    for query in (f"offer_id={other.offer_id}", f"listing_id={other.listing_id}"):
        assert await ids(query) == []
        assert (await client.get(f"{url}?{query}", headers=stage.owner.headers)).json()["total"] == 0
    for bad in ("offer_id=0", "offer_id=abc", f"listing_id={2**63}", "listing_id=-1"):
        response = await client.get(f"{url}?{bad}", headers=stage.owner.headers)
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request", bad
