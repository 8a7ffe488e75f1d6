"""Listings (SKUs mounted in a session) and community offers (社区专享价): rules, transitions, events."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from linli.leaders import service as leaders
from linli.live.models import CommunityOffer, Listing
from linli.outbox.models import OutboxEvent
from tests.factories import World, make_bound_member, make_listing, make_live_session, make_offer, make_product
from tests.live.conftest import Scene
from tests.live.helpers import error_code, place, room_events


def offer_body(scene: Scene, listing: int, clock, **overrides) -> dict:
    now = clock.now()
    body = {
        "listing_id": listing,
        "community_id": scene.community_a,
        "title": "云顶华府邻居专享",
        "price_fen": 6800,
        "quota": 100,
        "per_member_limit": 2,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(minutes=30)).isoformat(),
    }
    body.update(overrides)
    return body


async def counts(ctx) -> tuple[int, int, int]:
    async with ctx.db.read() as s:
        return tuple(
            [int(await s.scalar(select(func.count()).select_from(m)) or 0) for m in (Listing, CommunityOffer, OutboxEvent)]
        )


async def suspend(ctx, scene: Scene, leader_id: int) -> None:
    async with ctx.db.transaction() as s:
        await leaders.suspend(
            session=s, brand_id=scene.brand, leader_id=leader_id, reason="暂停", actor_user_id=scene.owner.user_id,
            now=ctx.clock.now(),
        )


# --- listings --------------------------------------------------------------------------------


async def test_a_sku_is_listed_once_per_session(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand)
    url = f"{scene.base}/{session_id}/listings"
    response = await client.post(
        url, json={"sku_id": scene.sku, "live_price_fen": 7800, "allocation": 500, "per_member_limit": 5},
        headers=scene.operator.headers,
    )
    assert response.status_code == 201, response.text
    listing = response.json()
    assert (listing["product_name"], listing["sku_name"]) == ("黄金奶油草莓", "500g×2 盒")
    assert (listing["live_price_fen"], listing["list_price_fen"]) == (7800, 8800)
    assert (listing["allocation"], listing["sold"], listing["remaining"], listing["per_member_limit"]) == (500, 0, 500, 5)
    assert listing["image"].startswith("https://")
    assert listing["status"] == "active"

    before = await counts(ctx)
    again = await client.post(url, json={"sku_id": scene.sku, "live_price_fen": 100, "allocation": 1}, headers=scene.owner.headers)
    assert again.status_code == 409 and error_code(again) == "listing_exists"
    theirs = await client.post(url, json={"sku_id": scene.other_sku, "live_price_fen": 100, "allocation": 1}, headers=scene.owner.headers)
    assert theirs.status_code == 404 and error_code(theirs) == "sku_not_found"
    for bad in (
        {"sku_id": scene.sku_2, "live_price_fen": 0, "allocation": 1},
        {"sku_id": scene.sku_2, "live_price_fen": 100, "allocation": 0},
        {"sku_id": scene.sku_2, "live_price_fen": 100, "allocation": 100_001},
        {"sku_id": scene.sku_2, "live_price_fen": 100, "allocation": 1, "per_member_limit": 0},
        {"sku_id": scene.sku_2, "live_price_fen": 100, "allocation": 1, "per_member_limit": 100},
        {"sku_id": scene.sku_2, "live_price_fen": 10**10, "allocation": 1},
        {"sku_id": -1, "live_price_fen": 100, "allocation": 1},
        {"live_price_fen": 100, "allocation": 1},
    ):
        response = await client.post(url, json=bad, headers=scene.owner.headers)
        assert response.status_code == 422, (bad, response.text)
    assert await counts(ctx) == before
    assert [e.topic for e in await room_events(ctx, session_id)][-1] == "live.listing_added"


async def test_archived_products_and_finished_sessions_take_no_listings(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand)
    await client.patch(f"/api/v1/brands/{scene.brand}/products/{scene.product}", json={"status": "archived"}, headers=scene.owner.headers)
    response = await client.post(
        f"{scene.base}/{session_id}/listings", json={"sku_id": scene.sku, "live_price_fen": 100, "allocation": 1},
        headers=scene.owner.headers,
    )
    assert response.status_code == 409 and error_code(response) == "product_archived"

    _, (fresh_sku,) = await make_product(world, scene.brand, name="红颜草莓")
    cancelled = await make_live_session(world, scene.brand)
    await client.post(f"{scene.base}/{cancelled}/cancel", headers=scene.owner.headers)
    response = await client.post(
        f"{scene.base}/{cancelled}/listings", json={"sku_id": fresh_sku, "live_price_fen": 100, "allocation": 1},
        headers=scene.owner.headers,
    )
    assert response.status_code == 409 and error_code(response) == "session_status_invalid"


async def test_listing_changes_and_allocation_never_below_sold(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand, start=True)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku, allocation=10, per_member_limit=5)
    buyer = await make_bound_member(world, scene.li)
    await place(ctx, buyer, listing_id=listing_id, quantity=4)
    url = f"{scene.base}/{session_id}/listings/{listing_id}"

    below = await client.patch(url, json={"allocation": 3}, headers=scene.owner.headers)
    assert below.status_code == 409 and error_code(below) == "allocation_below_sold"
    changed = await client.patch(
        url, json={"allocation": 4, "live_price_fen": 6900, "per_member_limit": None}, headers=scene.owner.headers
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["allocation"], body["sold"], body["remaining"], body["live_price_fen"], body["per_member_limit"]) == (
        4, 4, 0, 6900, None,
    )
    assert (await client.patch(url, json={"allocation": 0}, headers=scene.owner.headers)).status_code == 422
    missing = await client.patch(f"{scene.base}/{session_id}/listings/999999", json={"allocation": 5}, headers=scene.owner.headers)
    assert missing.status_code == 404 and error_code(missing) == "listing_not_found"


async def test_withdrawing_a_listing_closes_its_open_offers(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand, start=True)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku)
    offer_id = await make_offer(world, scene.brand, session_id, listing_id, scene.community_a, open_now=True)
    url = f"{scene.base}/{session_id}/listings/{listing_id}/withdraw"

    response = await client.post(url, headers=scene.owner.headers)
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    again = await client.post(url, headers=scene.owner.headers)
    assert again.status_code == 409 and error_code(again) == "listing_status_invalid"
    topics = [e.topic for e in await room_events(ctx, session_id)]
    assert topics[-2:] == ["live.offer_closed", "live.listing_withdrawn"]
    staff_view = (await client.get(f"{scene.base}/{session_id}", headers=scene.owner.headers)).json()
    assert [(o["id"], o["status"]) for o in staff_view["offers"]] == [(offer_id, "closed")]
    public = (await client.get(f"/api/v1/live-sessions/{session_id}")).json()
    assert public["listings"] == [] and public["offers"] == []
    changed = await client.patch(f"{scene.base}/{session_id}/listings/{listing_id}", json={"allocation": 5}, headers=scene.owner.headers)
    assert changed.status_code == 409 and error_code(changed) == "listing_withdrawn"


# --- offers ----------------------------------------------------------------------------------


async def test_a_draft_offer_for_a_led_community(client, scene: Scene, world: World, ctx, clock):
    session_id = await make_live_session(world, scene.brand)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku, allocation=500)
    response = await client.post(f"{scene.base}/{session_id}/offers", json=offer_body(scene, listing_id, clock), headers=scene.operator.headers)
    assert response.status_code == 201, response.text
    offer = response.json()
    assert offer["status"] == "draft"
    assert (offer["community_name"], offer["leader_id"], offer["leader_name"]) == ("云顶华府", scene.li.leader_id, "小李")
    assert offer["leader_badge"] == "云顶华府·优邻优选社区主理人"
    assert (offer["price_fen"], offer["live_price_fen"], offer["quota"], offer["remaining"]) == (6800, 7800, 100, 100)
    # A draft is not on the room's stream (viewers must not see it before the host opens it).
    assert "live.offer_drafted" not in [e.topic for e in await room_events(ctx, session_id)]
    assert (await client.get(f"/api/v1/live-sessions/{session_id}")).json()["offers"] == []

    patched = await client.patch(
        f"{scene.base}/{session_id}/offers/{offer['id']}", json={"price_fen": 6600, "quota": 80}, headers=scene.owner.headers
    )
    assert patched.status_code == 200 and (patched.json()["price_fen"], patched.json()["quota"]) == (6600, 80)


async def test_bad_offers_are_refused_and_write_nothing(client, scene: Scene, world: World, ctx, clock):
    session_id = await make_live_session(world, scene.brand)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku, allocation=100)
    other_session = await make_live_session(world, scene.brand)
    other_listing = await make_listing(world, scene.brand, other_session, scene.sku)
    now = clock.now()
    await suspend(ctx, scene, scene.wang.leader_id)
    url = f"{scene.base}/{session_id}/offers"
    cases = [
        ({"quota": 101}, 422, "quota_exceeds_allocation"),
        ({"quota": 0}, 422, "invalid_request"),
        ({"price_fen": 0}, 422, "invalid_request"),
        ({"price_fen": -6800}, 422, "invalid_request"),
        ({"per_member_limit": 0}, 422, "invalid_request"),
        ({"per_member_limit": 1000}, 422, "invalid_request"),
        ({"title": "长" * 101}, 422, "invalid_request"),
        ({"ends_at": now.isoformat()}, 422, "offer_window_invalid"),
        ({"starts_at": (now + timedelta(hours=1)).isoformat()}, 422, "offer_window_invalid"),
        ({"starts_at": (now - timedelta(hours=2)).isoformat(), "ends_at": (now - timedelta(hours=1)).isoformat()}, 422, "offer_window_invalid"),
        ({"ends_at": (now + timedelta(days=40)).isoformat()}, 422, "offer_window_invalid"),
        ({"starts_at": "2026-11-20T10:00:00"}, 422, "invalid_request"),
        ({"community_id": scene.community_c}, 409, "community_has_no_leader"),
        ({"community_id": scene.community_b}, 409, "community_has_no_leader"),  # its leader is suspended
        ({"community_id": 999999}, 404, "community_not_found"),
        ({"listing_id": other_listing}, 404, "listing_not_found"),
    ]
    before = await counts(ctx)
    for overrides, status, code in cases:
        response = await client.post(url, json=offer_body(scene, listing_id, clock, **overrides), headers=scene.owner.headers)
        assert response.status_code == status, (overrides, response.text)
        assert error_code(response) == code, overrides
    assert await counts(ctx) == before


async def test_open_and_close_an_offer_live(client, scene: Scene, world: World, ctx, clock):
    session_id = await make_live_session(world, scene.brand)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku)
    offer_id = await make_offer(world, scene.brand, session_id, listing_id, scene.community_a, quota=100)
    url = f"{scene.base}/{session_id}/offers/{offer_id}"

    early = await client.post(f"{url}/open", headers=scene.owner.headers)
    assert early.status_code == 409 and error_code(early) == "session_not_live"
    await client.post(f"{scene.base}/{session_id}/start", headers=scene.owner.headers)
    closing_a_draft = await client.post(f"{url}/close", headers=scene.owner.headers)
    assert closing_a_draft.status_code == 409 and error_code(closing_a_draft) == "offer_status_invalid"

    opened = await client.post(f"{url}/open", headers=scene.owner.headers)
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "open"
    event = (await room_events(ctx, session_id))[-1]
    assert event.topic == "live.offer_opened"
    assert {k: event.payload[k] for k in ("id", "price_fen", "quota", "remaining", "community_name", "leader_name")} == {
        "id": offer_id, "price_fen": 6800, "quota": 100, "remaining": 100, "community_name": "云顶华府", "leader_name": "小李",
    }
    for action in ("open",):
        response = await client.post(f"{url}/{action}", headers=scene.owner.headers)
        assert response.status_code == 409 and error_code(response) == "offer_status_invalid"
    edit = await client.patch(url, json={"price_fen": 1}, headers=scene.owner.headers)
    assert edit.status_code == 409 and error_code(edit) == "offer_status_invalid"

    buyer = await make_bound_member(world, scene.li)
    await place(ctx, buyer, offer_id=offer_id, quantity=2)
    closed = await client.post(f"{url}/close", headers=scene.owner.headers)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    event = (await room_events(ctx, session_id))[-1]
    assert event.topic == "live.offer_closed"
    assert (event.payload["offer_id"], event.payload["sold"], event.payload["remaining"]) == (offer_id, 2, 98)
    for action in ("open", "close"):
        response = await client.post(f"{url}/{action}", headers=scene.owner.headers)
        assert response.status_code == 409 and error_code(response) == "offer_status_invalid"
    missing = await client.post(f"{scene.base}/{session_id}/offers/999999/open", headers=scene.owner.headers)
    assert missing.status_code == 404 and error_code(missing) == "offer_not_found"


async def test_an_offer_whose_leader_left_cannot_open(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand, start=True)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku)
    offer_id = await make_offer(world, scene.brand, session_id, listing_id, scene.community_b)
    await suspend(ctx, scene, scene.wang.leader_id)
    response = await client.post(f"{scene.base}/{session_id}/offers/{offer_id}/open", headers=scene.owner.headers)
    assert response.status_code == 409 and error_code(response) == "community_has_no_leader"


async def test_an_offer_past_its_window_cannot_open(client, scene: Scene, world: World, clock):
    session_id = await make_live_session(world, scene.brand, start=True)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku)
    offer_id = await make_offer(world, scene.brand, session_id, listing_id, scene.community_a, minutes=10)
    clock.advance(timedelta(minutes=11))
    response = await client.post(f"{scene.base}/{session_id}/offers/{offer_id}/open", headers=scene.owner.headers)
    assert response.status_code == 409 and error_code(response) == "offer_window_ended"


async def test_ending_the_session_closes_open_offers(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand, start=True)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku)
    a = await make_offer(world, scene.brand, session_id, listing_id, scene.community_a, open_now=True)
    b = await make_offer(world, scene.brand, session_id, listing_id, scene.community_b, open_now=True)
    draft = await make_offer(world, scene.brand, session_id, listing_id, scene.community_a)
    response = await client.post(f"{scene.base}/{session_id}/end", headers=scene.owner.headers)
    assert response.status_code == 200
    events = await room_events(ctx, session_id)
    assert [e.topic for e in events[-3:]] == ["live.offer_closed", "live.offer_closed", "live.session_ended"]
    assert {e.payload["offer_id"] for e in events[-3:-1]} == {a, b}
    staff_view = (await client.get(f"{scene.base}/{session_id}", headers=scene.owner.headers)).json()
    assert {o["id"]: o["status"] for o in staff_view["offers"]} == {a: "closed", b: "closed", draft: "draft"}
    reopen = await client.post(f"{scene.base}/{session_id}/offers/{draft}/open", headers=scene.owner.headers)
    assert reopen.status_code == 409 and error_code(reopen) == "session_not_live"
    new_offer = await client.post(
        f"{scene.base}/{session_id}/offers", json=offer_body(scene, listing_id, world.ctx.clock), headers=scene.owner.headers
    )
    assert new_offer.status_code == 409 and error_code(new_offer) == "session_status_invalid"


async def test_the_room_shows_open_offers_with_eligibility(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand, start=True)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku, allocation=300)
    await make_listing(world, scene.brand, session_id, scene.sku_2, allocation=50)
    li_offer = await make_offer(world, scene.brand, session_id, listing_id, scene.community_a, quota=100, open_now=True)
    wang_offer = await make_offer(world, scene.brand, session_id, listing_id, scene.community_b, quota=20, open_now=True)
    await make_offer(world, scene.brand, session_id, listing_id, scene.community_a)  # a draft: not shown
    li_neighbour = await make_bound_member(world, scene.li, name="赵六")
    wang_neighbour = await make_bound_member(world, scene.wang)
    await place(ctx, li_neighbour, offer_id=li_offer, quantity=2)
    url = f"/api/v1/live-sessions/{session_id}"

    anonymous = (await client.get(url)).json()
    assert len(anonymous["listings"]) == 2
    assert anonymous["listings"][0]["remaining"] == 298  # the offer's order holds the listing's units too
    assert [(o["id"], o["remaining"], o["eligible"]) for o in anonymous["offers"]] == [(li_offer, 98, None), (wang_offer, 20, None)]

    def eligibility(body: dict) -> dict[int, bool]:
        return {o["id"]: o["eligible"] for o in body["offers"]}

    assert eligibility((await client.get(url, headers=li_neighbour.headers)).json()) == {li_offer: True, wang_offer: False}
    assert eligibility((await client.get(url, headers=wang_neighbour.headers)).json()) == {li_offer: False, wang_offer: True}
    assert eligibility((await client.get(url, headers=scene.member.headers)).json()) == {li_offer: False, wang_offer: False}
    bad_token = await client.get(url, headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401


async def test_orders_racing_the_host_never_oversell_or_deadlock(scene: Scene, world: World, ctx):
    """Buyers take an offer while the host withdraws its listing: every request ends in an order or a clear
    refusal, and the `sold` columns equal the units that orders hold."""
    import asyncio

    from linli.errors import DomainError
    from linli.live import listings as live_listings
    from linli.orders import service as orders

    session_id = await make_live_session(world, scene.brand, start=True)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku, allocation=500)
    offer_id = await make_offer(world, scene.brand, session_id, listing_id, scene.community_a, quota=100, open_now=True)
    buyers = [await make_bound_member(world, scene.li, name=f"邻居{i}") for i in range(12)]

    async def buy(buyer) -> str:
        try:
            await place(ctx, buyer, offer_id=offer_id, quantity=2)
        except DomainError as exc:
            return exc.code
        return "ok"

    async def withdraw() -> str:
        async with ctx.db.transaction() as s:
            await live_listings.withdraw_listing(session=s, brand_id=scene.brand, session_id=session_id, listing_id=listing_id, now=ctx.clock.now())
        return "withdrawn"

    results = await asyncio.gather(*[buy(b) for b in buyers[:6]], withdraw(), *[buy(b) for b in buyers[6:]])
    assert "withdrawn" in results
    assert set(results) <= {"ok", "withdrawn", "offer_not_open", "offer_sold_out", "listing_sold_out", "listing_withdrawn"}
    async with ctx.db.read() as s:
        offer = await s.get(CommunityOffer, offer_id)
        listing = await s.get(Listing, listing_id)
        assert offer.status == "closed" and listing.status == "withdrawn"
        assert offer.sold == await orders.offer_sold_units(session=s, offer_id=offer_id) == 2 * results.count("ok")
        assert listing.sold == await orders.listing_sold_units(session=s, listing_id=listing_id) == offer.sold
