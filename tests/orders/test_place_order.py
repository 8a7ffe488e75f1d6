"""Placing orders over HTTP: reservation, snapshot, idempotency and every refusal."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import event as sqlalchemy_event

from linli.orders import service as orders
from tests.orders.setup import assert_invariants, bound_member, build_stage, counters


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def place(client, actor, body, headers=None):
    return await client.post("/api/v1/orders", json=body, headers={**actor.headers, **(headers or key())})


async def test_offer_order_reserves_and_snapshots_the_leader(client, world):
    stage = await build_stage(world)
    member = await bound_member(world, stage.leader)
    response = await place(client, member, {"offer_id": stage.offer_id, "quantity": 2})
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending_payment"
    assert order["unit_price_fen"] == 6800 and order["total_fen"] == 13600
    assert order["leader_id"] == stage.leader.leader_id
    assert order["community_id"] == stage.community_id
    assert order["pickup_point_id"] is not None
    assert order["expires_at"] > order["placed_at"]
    c = await assert_invariants(world, stage, initial_stock=1000, quota=100, allocation=500)
    assert (c.offer_sold, c.listing_sold, c.stock) == (2, 2, 998)


async def test_same_key_returns_the_same_order_and_a_different_body_is_refused(client, world):
    stage = await build_stage(world)
    member = await bound_member(world, stage.leader)
    headers = key()
    first = await place(client, member, {"offer_id": stage.offer_id, "quantity": 1}, headers)
    again = await place(client, member, {"offer_id": stage.offer_id, "quantity": 1}, headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = await place(client, member, {"offer_id": stage.offer_id, "quantity": 2}, headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    c = await counters(world, stage)
    assert (c.offer_sold, c.stock) == (1, 999)


async def test_listing_order_for_a_bound_member_goes_to_the_leaders_pickup_point(client, world):
    stage = await build_stage(world)
    member = await bound_member(world, stage.other_leader)
    response = await place(client, member, {"listing_id": stage.listing_id, "quantity": 1})
    assert response.status_code == 201, response.text
    assert response.json()["unit_price_fen"] == 8800
    assert response.json()["leader_id"] == stage.other_leader.leader_id
    assert response.json()["community_id"] == stage.other_leader.community_id


async def test_unbound_member_must_choose_a_pickup_community(client, world):
    stage = await build_stage(world)
    member = await world.user()
    refused = await place(client, member, {"listing_id": stage.listing_id, "quantity": 1})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "pickup_point_required"
    ok = await place(client, member, {"listing_id": stage.listing_id, "quantity": 1, "pickup_community_id": stage.community_id})
    assert ok.status_code == 201
    assert ok.json()["leader_id"] is None


async def _refused(client, world, stage, actor, body, status, code, headers=None):
    before = await counters(world, stage)
    response = await place(client, actor, body, headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert "message" in response.json()["error"]
    assert await counters(world, stage) == before


async def test_bad_quantities_and_bodies_are_422_and_change_nothing(client, world):
    stage = await build_stage(world)
    member = await bound_member(world, stage.leader)
    for quantity in (0, -1, 100, 10**12):
        await _refused(client, world, stage, member, {"offer_id": stage.offer_id, "quantity": quantity}, 422, "invalid_request")
    await _refused(client, world, stage, member, {"offer_id": stage.offer_id, "quantity": "many"}, 422, "invalid_request")
    await _refused(
        client, world, stage, member,
        {"offer_id": stage.offer_id, "listing_id": stage.listing_id, "quantity": 1}, 422, "order_target_invalid",
    )
    await _refused(client, world, stage, member, {"quantity": 1}, 422, "order_target_invalid")
    await _refused(client, world, stage, member, {"offer_id": 999999, "quantity": 1}, 404, "offer_not_found")
    await _refused(
        client, world, stage, member, {"offer_id": stage.offer_id, "quantity": 1}, 422, "invalid_request",
        headers={"Idempotency-Key": "short"},
    )
    response = await client.post("/api/v1/orders", json={"offer_id": stage.offer_id, "quantity": 1}, headers=member.headers)
    assert response.status_code == 422  # no Idempotency-Key at all


async def test_offer_refusals(client, world, clock):
    stage = await build_stage(world, quota=3, per_member_limit=2)
    member = await bound_member(world, stage.leader)
    outsider = await bound_member(world, stage.other_leader)
    unbound = await world.user()
    body = {"offer_id": stage.offer_id, "quantity": 1}
    await _refused(client, world, stage, outsider, body, 403, "offer_not_eligible")
    await _refused(client, world, stage, unbound, body, 403, "offer_not_eligible")
    await _refused(client, world, stage, member, {"offer_id": stage.offer_id, "quantity": 3}, 409, "per_member_limit")
    assert (await place(client, member, {"offer_id": stage.offer_id, "quantity": 2})).status_code == 201
    await _refused(client, world, stage, member, body, 409, "per_member_limit")
    neighbour = await bound_member(world, stage.leader)
    await _refused(client, world, stage, neighbour, {"offer_id": stage.offer_id, "quantity": 2}, 409, "offer_sold_out")
    assert (await place(client, neighbour, body)).status_code == 201
    late = await bound_member(world, stage.leader)
    await _refused(client, world, stage, late, body, 409, "offer_sold_out")
    clock.advance(timedelta(hours=3))
    await _refused(client, world, stage, late, body, 409, "offer_outside_window")


async def test_anonymous_cannot_order_and_a_session_that_is_not_live_refuses(client, world):
    stage = await build_stage(world, session_status="scheduled")
    member = await bound_member(world, stage.leader)
    response = await client.post("/api/v1/orders", json={"offer_id": stage.offer_id, "quantity": 1}, headers=key())
    assert response.status_code == 401
    await _refused(client, world, stage, member, {"offer_id": stage.offer_id, "quantity": 1}, 409, "session_not_live")


async def test_unpaid_orders_expire_and_give_their_reservation_back(client, world, ctx, clock):
    stage = await build_stage(world, quota=1)
    member = await bound_member(world, stage.leader)
    order = (await place(client, member, {"offer_id": stage.offer_id, "quantity": 1})).json()
    neighbour = await bound_member(world, stage.leader)
    assert (await place(client, neighbour, {"offer_id": stage.offer_id, "quantity": 1})).status_code == 409
    clock.advance(timedelta(minutes=9))
    async with ctx.db.transaction() as s:
        assert await orders.expire_due_orders(session=s, now=clock.now()) == 0
    clock.advance(timedelta(minutes=1))
    async with ctx.db.transaction() as s:
        assert await orders.expire_due_orders(session=s, now=clock.now()) == 1
    async with ctx.db.transaction() as s:
        assert await orders.expire_due_orders(session=s, now=clock.now()) == 0  # idempotent
    detail = (await client.get(f"/api/v1/orders/{order['id']}", headers=member.headers)).json()
    assert detail["status"] == "expired"
    assert [h["to_status"] for h in detail["history"]] == ["pending_payment", "expired"]
    c = await assert_invariants(world, stage, initial_stock=1000, quota=1, allocation=500)
    assert (c.offer_sold, c.stock) == (0, 1000)
    assert (await place(client, neighbour, {"offer_id": stage.offer_id, "quantity": 1})).status_code == 201


async def test_cancel_gives_back_and_only_the_owner_sees_or_cancels(client, world):
    stage = await build_stage(world)
    member = await bound_member(world, stage.leader)
    stranger = await bound_member(world, stage.leader)
    order = (await place(client, member, {"offer_id": stage.offer_id, "quantity": 2})).json()
    for path in (f"/api/v1/orders/{order['id']}",):
        assert (await client.get(path, headers=stranger.headers)).status_code == 404
        assert (await client.get(path)).status_code == 401
    assert (await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=stranger.headers)).status_code == 404
    cancelled = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=member.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=member.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_not_cancellable"
    c = await assert_invariants(world, stage, initial_stock=1000, quota=100, allocation=500)
    assert c.offer_sold == 0


async def test_order_lists_for_member_leader_and_staff(client, world):
    stage = await build_stage(world)
    member = await bound_member(world, stage.leader)
    await place(client, member, {"offer_id": stage.offer_id, "quantity": 1})
    mine = await client.get(f"/api/v1/brands/{stage.brand_id}/orders/mine", headers=member.headers)
    assert mine.status_code == 200 and mine.json()["total"] == 1
    leader_view = await client.get(f"/api/v1/brands/{stage.brand_id}/leader/orders", headers=stage.leader.actor.headers)
    assert leader_view.status_code == 200
    item = leader_view.json()["items"][0]
    assert item["member_phone"].count("*") == 4 and item["member_phone"] != member.phone
    other_view = await client.get(f"/api/v1/brands/{stage.brand_id}/leader/orders", headers=stage.other_leader.actor.headers)
    assert other_view.json()["total"] == 0
    assert (await client.get(f"/api/v1/brands/{stage.brand_id}/leader/orders", headers=member.headers)).status_code == 403
    staff_view = await client.get(f"/api/v1/brands/{stage.brand_id}/orders", headers=stage.owner.headers)
    assert staff_view.status_code == 200 and staff_view.json()["total"] == 1
    assert (await client.get(f"/api/v1/brands/{stage.brand_id}/orders", headers=member.headers)).status_code == 403
    bad = await client.get(f"/api/v1/brands/{stage.brand_id}/orders?status=bogus", headers=stage.owner.headers)
    assert bad.status_code == 422
    other_brand = await world.brand(slug="other-brand")
    other_staff = await world.staff(other_brand)
    assert (await client.get(f"/api/v1/brands/{stage.brand_id}/orders", headers=other_staff.headers)).status_code == 403


async def test_once_the_quota_is_gone_an_ineligible_member_is_told_not_eligible(client, world):
    stage = await build_stage(world, quota=1)
    buyer = await bound_member(world, stage.leader)
    body = {"offer_id": stage.offer_id, "quantity": 1}
    assert (await place(client, buyer, body)).status_code == 201
    neighbour_of_another_leader = await bound_member(world, stage.other_leader)
    unbound = await world.user()
    eligible = await bound_member(world, stage.leader)
    await _refused(client, world, stage, neighbour_of_another_leader, body, 403, "offer_not_eligible")
    await _refused(client, world, stage, unbound, body, 403, "offer_not_eligible")
    await _refused(client, world, stage, eligible, body, 409, "offer_sold_out")


PLACEMENT_STATEMENTS = {"sqlite": 10, "postgresql": 5}  # issue 15: 21 and 20 before the lean path, then 10 and 8; PostgreSQL now takes the units and writes the order in one statement


class _Statements:
    """The SQL statements one block of code sends (counted on the write engine)."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.engine = engine.sync_engine
        self.sent: list[str] = []

    def _record(self, _conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        self.sent.append(" ".join(statement.split()).upper())

    def __enter__(self) -> _Statements:
        sqlalchemy_event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc) -> None:  # noqa: ANN002
        sqlalchemy_event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def queries(self) -> list[str]:
        """Without the transaction's own BEGIN / COMMIT / ROLLBACK / SAVEPOINT bookkeeping."""
        return [s for s in self.sent if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))]


async def test_the_eligible_fast_path_stays_cheap(client, world, ctx):
    """Deciding eligibility first adds no lock to the sold-out refusal and no statement to a placement."""
    stage = await build_stage(world, quota=2)
    first, second, late = [await bound_member(world, stage.leader) for _ in range(3)]
    body = {"offer_id": stage.offer_id, "quantity": 1}
    assert (await place(client, first, body)).status_code == 201  # warms the member's first-order reads
    with _Statements(ctx.db.engine) as placing:
        assert (await place(client, second, body)).status_code == 201
    with _Statements(ctx.db.engine) as refusing:
        response = await place(client, late, body)
    assert response.json()["error"]["code"] == "offer_sold_out"
    assert not [s for s in refusing.queries if "FOR UPDATE" in s or not s.startswith("SELECT")], refusing.queries
    binding_reads = [s for s in refusing.queries if "FROM BINDINGS" in s]
    assert len(binding_reads) == 1
    assert len([s for s in placing.queries if "FROM BINDINGS" in s]) == 1
    assert len(placing.queries) == PLACEMENT_STATEMENTS[ctx.db.dialect], placing.queries
