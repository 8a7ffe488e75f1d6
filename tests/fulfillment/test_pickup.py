"""Pickup (核销): only the point's leader, one code or all of a member's arrived orders, never twice."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from linli.leaders import service as leaders
from linli.outbox.models import OutboxEvent
from linli.worker import run_until_idle
from tests.fulfillment.helpers import code_of, cut_wave, deliver, parcel_of, snapshot, verify
from tests.ledger.helpers import assert_audit_ok, buy, refund_whole
from tests.orders.setup import bound_member, build_stage


async def _arrived_stage(ctx, client, world, *, orders_per_buyer=(2, 1)):  # noqa: ANN001, ANN202
    stage = await build_stage(world)
    buyers, orders = [], []
    for count in orders_per_buyer:
        buyer = await bound_member(world, stage.leader)
        buyers.append(buyer)
        orders.append([await buy(ctx, stage, buyer, offer=i == 0) for i in range(count)])
    wave_id = (await cut_wave(client, ctx, stage)).json()["id"]
    await deliver(client, ctx, stage, wave_id)
    return stage, buyers, orders


async def _completed_events(ctx) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).where(OutboxEvent.topic == "order.completed")))


async def test_all_of_a_members_orders_at_once(ctx, client, world):
    stage, (a, b), (a_orders, b_orders) = await _arrived_stage(ctx, client, world)
    code = await code_of(client, a, a_orders[1])
    other_code = await code_of(client, a, a_orders[0])
    done = await verify(client, stage, stage.leader.actor, code, all_of_member=True)
    assert done.status_code == 200, done.text
    assert sorted(p["order_id"] for p in done.json()["verified"]) == sorted(a_orders)
    assert all(p["status"] == "picked_up" for p in done.json()["verified"])
    assert (await parcel_of(ctx, b_orders[0])).status == "arrived"  # another member's parcel is untouched
    await run_until_idle(ctx)
    assert await _completed_events(ctx) == 2
    await assert_audit_ok(ctx)
    # Every code of that member is spent now.
    again = await verify(client, stage, stage.leader.actor, other_code)
    assert again.status_code == 409 and again.json()["error"]["code"] == "pickup_already_verified"


async def test_who_may_verify_and_what_a_refusal_says(ctx, client, world):
    stage, (a, _), (a_orders, _) = await _arrived_stage(ctx, client, world)
    code = await code_of(client, a, a_orders[0])
    other_brand = await world.brand("别家")
    outsider = await world.staff(other_brand)
    before = await snapshot(ctx)
    # 王姐 leads another point: the code is simply not found there (nothing leaks about 小李's point).
    wang = await verify(client, stage, stage.other_leader.actor, code)
    assert wang.status_code == 404 and wang.json()["error"]["code"] == "pickup_code_not_found"
    unknown = await verify(client, stage, stage.other_leader.actor, "999999" if code != "999999" else "999998")
    assert unknown.json()["error"] == wang.json()["error"]
    for actor in (a, stage.owner, outsider):  # the member, the brand's staff, another brand's staff
        response = await verify(client, stage, actor, code)
        assert response.status_code == 403 and response.json()["error"]["code"] == "leader_only"
    for bad in ("12345", "1234567", "12a456", "１２３４５６"):
        response = await verify(client, stage, stage.leader.actor, bad)
        assert response.status_code == 422 and response.json()["error"]["code"] == "pickup_code_malformed"
    assert (await client.post(f"/api/v1/brands/{stage.brand_id}/leader/pickups", json={"code": code})).status_code == 401
    assert await snapshot(ctx) == before
    # A suspended leader cannot verify either.
    async with ctx.db.transaction() as s:
        await leaders.suspend(
            session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, actor_user_id=stage.owner.user_id,
            reason="核查中", now=ctx.clock.now(),
        )
    suspended = await verify(client, stage, stage.leader.actor, code)
    assert suspended.status_code == 403
    assert (await parcel_of(ctx, a_orders[0])).status == "arrived"
    assert await _completed_events(ctx) == 0


async def test_a_refunded_orders_code_is_refused(ctx, client, world):
    stage, (a, _), (a_orders, _) = await _arrived_stage(ctx, client, world)
    code = await code_of(client, a, a_orders[0])
    await refund_whole(ctx, a_orders[0])
    response = await verify(client, stage, stage.leader.actor, code)
    assert response.status_code == 409 and response.json()["error"]["code"] == "parcel_closed"
    mine = (await client.get(f"/api/v1/orders/{a_orders[0]}/pickup-code", headers=a.headers)).json()
    assert mine["code"] is None and mine["status"] == "cancelled" and mine["qr_url"] is None
    qr = await client.get(f"/api/v1/orders/{a_orders[0]}/pickup-code/qr.png", headers=a.headers)
    assert qr.status_code == 409 and qr.json()["error"]["code"] == "pickup_code_closed"
    await assert_audit_ok(ctx)


async def test_concurrent_double_verification_verifies_once(ctx, client, world):
    stage, (a, _), (a_orders, _) = await _arrived_stage(ctx, client, world)
    code = await code_of(client, a, a_orders[0])
    responses = await asyncio.gather(*(verify(client, stage, stage.leader.actor, code) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409], [r.text for r in responses]
    assert all(r.json()["error"]["code"] == "pickup_already_verified" for r in responses if r.status_code == 409)
    assert await _completed_events(ctx) == 1
    await run_until_idle(ctx)
    await assert_audit_ok(ctx)


async def test_the_member_sees_only_their_own_code_and_timeline(ctx, client, world):
    stage, (a, b), (a_orders, _) = await _arrived_stage(ctx, client, world)
    order_id = a_orders[0]
    for path in (f"/api/v1/orders/{order_id}/pickup-code", f"/api/v1/orders/{order_id}/pickup-code/qr.png",
                 f"/api/v1/orders/{order_id}/timeline"):
        assert (await client.get(path, headers=b.headers)).status_code == 404
        assert (await client.get(path, headers=stage.leader.actor.headers)).status_code == 404
        assert (await client.get(path)).status_code == 401
    # An unpaid order has no parcel yet.
    import uuid
    from datetime import timedelta

    from linli.orders import service as orders

    async with ctx.db.transaction() as s:
        placed = await orders.place_order(
            session=s, user_id=a.user_id, listing_id=stage.listing_id, offer_id=None, quantity=1,
            idempotency_key=uuid.uuid4().hex, pickup_community_id=None, payment_ttl=timedelta(minutes=10),
            now=ctx.clock.now(),
        )
    unpaid = await client.get(f"/api/v1/orders/{placed.order.id}/pickup-code", headers=a.headers)
    assert unpaid.status_code == 404 and unpaid.json()["error"]["code"] == "parcel_not_found"
    timeline = (await client.get(f"/api/v1/orders/{placed.order.id}/timeline", headers=a.headers)).json()
    assert [e["kind"] for e in timeline["entries"]] == ["placed"] and timeline["pickup_point"] is None


async def test_inbox_read_and_unread(ctx, client, world):
    stage, (a, b), (a_orders, _) = await _arrived_stage(ctx, client, world)
    inbox = (await client.get("/api/v1/me/notifications", headers=a.headers)).json()
    assert inbox["unread"] == 2 and inbox["total"] == 2
    first = inbox["items"][0]["id"]
    assert (await client.post(f"/api/v1/me/notifications/{first}/read", headers=b.headers)).status_code == 404
    read = await client.post(f"/api/v1/me/notifications/{first}/read", headers=a.headers)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert (await client.get("/api/v1/me/notifications/unread-count", headers=a.headers)).json() == {"unread": 1}
    unread = (await client.get("/api/v1/me/notifications?unread=true", headers=a.headers)).json()
    assert [n["id"] for n in unread["items"]] != [first] and unread["total"] == 1
    assert (await client.post("/api/v1/me/notifications/read-all", headers=a.headers)).json() == {"marked": 1}
    assert (await client.get("/api/v1/me/notifications/unread-count", headers=a.headers)).json() == {"unread": 0}
    assert (await client.get("/api/v1/me/notifications/unread-count", headers=b.headers)).json() == {"unread": 1}
    # A redelivered arrival event notifies once (the dedupe key).
    from linli.fulfillment.handlers import register
    from linli.outbox.service import HandlerRegistry

    registry = HandlerRegistry()
    register(registry, ctx)
    async with ctx.db.transaction() as s:
        event = await s.scalar(select(OutboxEvent).where(OutboxEvent.topic == "parcel.arrived").limit(1))
        for handler in registry.for_topic("parcel.arrived"):
            await handler(session=s, event=event, now=ctx.clock.now())
    assert (await client.get("/api/v1/me/notifications", headers=a.headers)).json()["total"] == 2


async def test_another_context_adds_timeline_entries(ctx, client, world, monkeypatch):
    from linli.fulfillment import tracking

    stage, (a, _), (a_orders, _) = await _arrived_stage(ctx, client, world)
    seen = []

    async def claims(*, session, order):  # noqa: ANN001, ANN202
        seen.append(order.id)
        return [tracking.TimelineEntry(kind="claim_opened", at=ctx.clock.now(), title="售后申请已提交")]

    monkeypatch.setattr(tracking, "_SOURCES", [])
    tracking.register_timeline_source(claims)
    tracking.register_timeline_source(claims)  # registering twice adds it once
    timeline = (await client.get(f"/api/v1/orders/{a_orders[0]}/timeline", headers=a.headers)).json()
    assert seen == [a_orders[0]]
    assert [e["kind"] for e in timeline["entries"]][-2:] == ["arrived", "claim_opened"]
