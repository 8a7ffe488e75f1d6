"""Delivery waves: who may cut and move them, what joins, out-of-order moves, concurrent cuts, pick lists."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from linli.fulfillment import service
from linli.fulfillment.models import DeliveryWave
from tests.conftest import START
from tests.fulfillment.helpers import ARRIVE_AFTER, CUT_AT, CUTOFF, cut_wave, move, parcel_of, snapshot
from tests.ledger.helpers import assert_audit_ok, buy, refund_whole
from tests.orders.setup import bound_member, build_stage


async def _wave_count(ctx) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(DeliveryWave)))


async def test_a_wave_takes_the_points_parcels_paid_by_the_cutoff(ctx, client, world):
    stage = await build_stage(world)
    buyer = await bound_member(world, stage.leader)
    neighbour_of_wang = await bound_member(world, stage.other_leader)
    early = await buy(ctx, stage, buyer)
    other_point = await buy(ctx, stage, neighbour_of_wang, offer=False)  # goes to 翠湖花园
    ctx.clock.set(CUTOFF + timedelta(minutes=1))
    late = await buy(ctx, stage, buyer, offer=False)  # paid after 23:00: next wave
    cut = await cut_wave(client, ctx, stage)
    assert cut.status_code == 201, cut.text
    wave_id = cut.json()["id"]
    assert (await parcel_of(ctx, early)).wave_id == wave_id
    assert (await parcel_of(ctx, late)).wave_id is None
    assert (await parcel_of(ctx, other_point)).wave_id is None
    # A second cut for the same cut-off finds nothing left: refused, no empty wave written.
    before = await snapshot(ctx)
    again = await cut_wave(client, ctx, stage)
    assert again.status_code == 409 and again.json()["error"]["code"] == "wave_empty"
    assert await snapshot(ctx) == before and await _wave_count(ctx) == 1


async def test_bad_wave_input_is_refused_and_changes_nothing(ctx, client, world):
    stage = await build_stage(world)
    await buy(ctx, stage, await bound_member(world, stage.leader))
    ctx.clock.set(CUT_AT)
    url = f"/api/v1/brands/{stage.brand_id}/delivery-waves"
    other_brand = await world.brand("别家")
    foreign_community = await world.community(other_brand, "别家小区")
    before = await snapshot(ctx)
    cases = [
        ({"cutoff_at": (CUT_AT + timedelta(hours=1)).isoformat()}, 422, "cutoff_in_future"),
        ({"arrive_after": (CUTOFF - timedelta(hours=1)).isoformat()}, 422, "arrive_after_invalid"),
        ({"cutoff_at": "2026-11-20T22:00:00"}, 422, "datetime_timezone_required"),
        ({"community_id": foreign_community}, 404, "community_not_found"),
        ({"community_id": 0}, 422, "invalid_request"),
        ({"cutoff_at": "yesterday"}, 422, "invalid_request"),
        # Dates at the ends of the calendar (they would overflow when converted to UTC) are out of a wave's span.
        ({"arrive_after": "9999-12-31T23:59:59-14:00"}, 422, "arrive_after_invalid"),
        ({"cutoff_at": "0001-01-01T00:00:00+14:00"}, 422, "cutoff_too_old"),
        ({"cutoff_at": (CUT_AT - timedelta(days=31)).isoformat()}, 422, "cutoff_too_old"),
    ]
    for change, status, code in cases:
        body = {"community_id": stage.community_id, "cutoff_at": CUTOFF.isoformat(), "arrive_after": ARRIVE_AFTER.isoformat(), **change}
        response = await client.post(url, json=body, headers=stage.owner.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (change, response.text)
    assert await snapshot(ctx) == before and await _wave_count(ctx) == 0


async def test_only_the_brands_staff_cut_and_move_waves(ctx, client, world):
    stage = await build_stage(world)
    buyer = await bound_member(world, stage.leader)
    await buy(ctx, stage, buyer)
    other_brand = await world.brand("别家")
    outsider = await world.staff(other_brand)
    ctx.clock.set(CUT_AT)
    body = {"community_id": stage.community_id, "cutoff_at": CUTOFF.isoformat(), "arrive_after": ARRIVE_AFTER.isoformat()}
    url = f"/api/v1/brands/{stage.brand_id}/delivery-waves"
    for actor in (outsider, stage.leader.actor, buyer):
        response = await client.post(url, json=body, headers=actor.headers)
        assert response.status_code == 403, response.text
        assert (await client.get(url, headers=actor.headers)).status_code == 403
    assert (await client.post(url, json=body)).status_code == 401
    wave_id = (await cut_wave(client, ctx, stage)).json()["id"]
    before = await snapshot(ctx)
    for actor in (outsider, stage.leader.actor, buyer):
        response = await client.post(f"{url}/{wave_id}/status", json={"status": "packed"}, headers=actor.headers)
        assert response.status_code == 403
    # Another brand's staff asking about this wave under their own brand: not found there.
    foreign = await client.get(f"/api/v1/brands/{other_brand}/delivery-waves/{wave_id}", headers=outsider.headers)
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "wave_not_found"
    assert await snapshot(ctx) == before


async def test_wave_states_move_forward_one_step_at_a_time(ctx, client, world):
    stage = await build_stage(world)
    order_id = await buy(ctx, stage, await bound_member(world, stage.leader))
    wave_id = (await cut_wave(client, ctx, stage)).json()["id"]
    before = await snapshot(ctx)
    for status in ("in_transit", "arrived"):
        response = await move(client, stage, wave_id, status)
        assert response.status_code == 409 and response.json()["error"]["code"] == "wave_status_conflict"
    bad = await move(client, stage, wave_id, "open")
    assert bad.status_code == 422
    assert await snapshot(ctx) == before
    for status in ("packed", "in_transit", "arrived"):
        assert (await move(client, stage, wave_id, status)).status_code == 200
        assert (await parcel_of(ctx, order_id)).status == status
    for status in ("packed", "in_transit", "arrived"):
        assert (await move(client, stage, wave_id, status)).status_code == 409
    parcel = await parcel_of(ctx, order_id)
    assert parcel.packed_at and parcel.shipped_at and parcel.arrived_at


async def test_a_refund_before_delivery_cancels_the_parcel(ctx, client, world):
    stage = await build_stage(world)
    buyer = await bound_member(world, stage.leader)
    kept = await buy(ctx, stage, buyer)
    refunded_early = await buy(ctx, stage, await bound_member(world, stage.leader))
    refunded_packed = await buy(ctx, stage, await bound_member(world, stage.leader), offer=False)
    await refund_whole(ctx, refunded_early)
    assert (await parcel_of(ctx, refunded_early)).status == "cancelled"
    wave = (await cut_wave(client, ctx, stage)).json()
    assert wave["parcels"] == {"waiting": 2}  # the cancelled parcel did not join
    assert (await move(client, stage, wave["id"], "packed")).status_code == 200
    await refund_whole(ctx, refunded_packed)
    parcel = await parcel_of(ctx, refunded_packed)
    assert parcel.status == "cancelled" and parcel.open_code is None
    for status in ("in_transit", "arrived"):
        assert (await move(client, stage, wave["id"], status)).status_code == 200
    assert (await parcel_of(ctx, refunded_packed)).status == "cancelled"  # moves no further
    assert (await parcel_of(ctx, kept)).status == "arrived"
    picks = (await client.get(f"/api/v1/brands/{stage.brand_id}/delivery-waves/{wave['id']}/pick-list", headers=stage.owner.headers)).json()
    assert picks["cancelled"] == 1 and [i["order_id"] for b in picks["bags"] for i in b["items"]] == [kept]
    await assert_audit_ok(ctx)


async def test_concurrent_cuts_never_take_a_parcel_twice(ctx, client, world):
    stage = await build_stage(world)
    orders = [await buy(ctx, stage, await bound_member(world, stage.leader), work=False) for _ in range(6)]
    from linli.worker import run_until_idle

    await run_until_idle(ctx)
    ctx.clock.set(CUT_AT)
    responses = await asyncio.gather(*(cut_wave(client, ctx, stage) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [r.text for r in responses]
    wave_id = next(r.json()["id"] for r in responses if r.status_code == 201)
    assert {(await parcel_of(ctx, o)).wave_id for o in orders} == {wave_id}
    assert await _wave_count(ctx) == 1


async def test_pick_list_csv_and_printable_page(ctx, client, world):
    stage = await build_stage(world)
    a = await bound_member(world, stage.leader)
    b = await bound_member(world, stage.leader)
    await buy(ctx, stage, a, quantity=2)
    await buy(ctx, stage, b)
    await buy(ctx, stage, a, offer=False)
    wave_id = (await cut_wave(client, ctx, stage)).json()["id"]
    base = f"/api/v1/brands/{stage.brand_id}/delivery-waves/{wave_id}"
    bags = await client.get(f"{base}/pick-list.csv", headers=stage.owner.headers)
    assert bags.status_code == 200 and bags.headers["content-type"].startswith("text/csv")
    assert bags.content.startswith("\ufeff".encode())
    lines = bags.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0] == "袋号,用户,手机,订单号,商品,规格,件数"
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "1", "2"]  # a's two orders share bag 1
    assert a.phone not in bags.text and f"{a.phone[:3]}****{a.phone[-4:]}" in bags.text
    products = await client.get(f"{base}/pick-list.csv?kind=products", headers=stage.owner.headers)
    assert products.content.decode("utf-8-sig").strip().splitlines() == ["商品,规格,件数,订单数", "黄金奶油草莓,500g/盒,4,3"]
    assert (await client.get(f"{base}/pick-list.csv?kind=nope", headers=stage.owner.headers)).status_code == 422
    page = await client.get(f"{base}/pick-list.html", headers=stage.owner.headers)
    assert page.status_code == 200 and "拣货单" in page.text and "第 2 袋" in page.text and "window.print" in page.text
    assert "截单 2026年11月20日 23:00 · 预计 2026年11月21日 16:00 后到达" in page.text  # the brand's local time
    # The pickup codes are the members' to show: never on the pick list.
    for order_parcel in (await client.get(f"/api/v1/brands/{stage.brand_id}/parcels", headers=stage.owner.headers)).json()["items"]:
        assert "pickup_code" not in order_parcel and "code" not in order_parcel
    # The point's leader reads the pick list too; the other leader and members do not.
    assert (await client.get(f"{base}/pick-list", headers=stage.leader.actor.headers)).status_code == 200
    other = await client.get(f"{base}/pick-list.csv", headers=stage.other_leader.actor.headers)
    assert other.status_code == 404 and other.json()["error"]["code"] == "wave_not_found"
    assert (await client.get(f"{base}/pick-list.html", headers=a.headers)).status_code == 403


async def test_leaders_see_only_their_points_waves_and_parcels(ctx, client, world):
    stage = await build_stage(world)
    mine = await bound_member(world, stage.leader)
    theirs = await bound_member(world, stage.other_leader)
    await buy(ctx, stage, mine)
    await buy(ctx, stage, theirs, offer=False)
    mine_wave = (await cut_wave(client, ctx, stage)).json()["id"]
    their_wave = (await cut_wave(client, ctx, stage, community_id=stage.other_leader.community_id)).json()["id"]
    li = stage.leader.actor.headers
    waves = (await client.get(f"/api/v1/brands/{stage.brand_id}/leader/delivery-waves", headers=li)).json()
    assert [w["id"] for w in waves["items"]] == [mine_wave]
    parcels = (await client.get(f"/api/v1/brands/{stage.brand_id}/leader/parcels", headers=li)).json()
    assert len(parcels["items"]) == 1 and parcels["items"][0]["member_phone"] == f"{mine.phone[:3]}****{mine.phone[-4:]}"
    assert "pickup_code" not in parcels["items"][0]
    staff = (await client.get(f"/api/v1/brands/{stage.brand_id}/parcels", headers=stage.owner.headers)).json()
    assert staff["total"] == 2
    bad = await client.get(f"/api/v1/brands/{stage.brand_id}/leader/parcels?status=lost", headers=li)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "parcel_status_filter_invalid"
    for actor in (mine, stage.owner):
        assert (await client.get(f"/api/v1/brands/{stage.brand_id}/leader/parcels", headers=actor.headers)).status_code == 403
    # The leader confirms their own wave's arrival, never another point's.
    for status in ("packed", "in_transit"):
        await move(client, stage, mine_wave, status)
        await move(client, stage, their_wave, status)
    before = await snapshot(ctx)
    refused = await client.post(f"/api/v1/brands/{stage.brand_id}/leader/delivery-waves/{their_wave}/arrive", headers=li)
    assert refused.status_code == 404 and await snapshot(ctx) == before
    confirmed = await client.post(f"/api/v1/brands/{stage.brand_id}/leader/delivery-waves/{mine_wave}/arrive", headers=li)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "arrived"


async def test_parcel_creation_is_idempotent_and_draws_again_on_a_code_collision(ctx, world, monkeypatch):
    stage = await build_stage(world)
    first = await buy(ctx, stage, await bound_member(world, stage.leader))
    taken = (await parcel_of(ctx, first)).pickup_code
    async with ctx.db.transaction() as s:
        again = await service.create_parcel(session=s, order_id=first, now=START)
    assert again is not None and again.pickup_code == taken  # a redelivered order.paid: the same parcel
    draws = iter([taken, taken, "424242"])
    monkeypatch.setattr(service, "new_pickup_code", lambda: next(draws))
    second = await buy(ctx, stage, await bound_member(world, stage.leader))
    assert (await parcel_of(ctx, second)).pickup_code == "424242"
