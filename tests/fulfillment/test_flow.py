"""The whole path on both databases: pay → wave → packed → in transit → arrived (inbox) → picked up →
`linli settle --as-of` the next day → commission available, with the ledger audit holding after each step."""

from __future__ import annotations

from datetime import datetime, timedelta

from linli.ledger.models import LINE_PENDING, LINE_SETTLED
from linli.worker import run_until_idle
from tests.fulfillment.helpers import ARRIVED_AT, code_of, cut_wave, move, parcel_of, run_cli, verify
from tests.ledger.helpers import assert_audit_ok, balances, buy, line_of
from tests.orders.setup import bound_member, build_stage


async def test_pay_wave_arrive_pickup_settle(ctx, client, world, database_url, tmp_path, monkeypatch):
    stage = await build_stage(world)
    buyer = await bound_member(world, stage.leader)
    first = await buy(ctx, stage, buyer, quantity=2)  # 136 元 at the offer price
    second = await buy(ctx, stage, buyer, offer=False)  # 88 元 at the live price
    await assert_audit_ok(ctx)

    # Paid: a parcel waiting with a 6-digit code and a QR only the member can fetch.
    parcel = await parcel_of(ctx, first)
    assert parcel.status == "waiting" and parcel.wave_id is None and len(parcel.pickup_code) == 6
    code = await code_of(client, buyer, first)
    assert code == parcel.pickup_code
    qr = await client.get(f"/api/v1/orders/{first}/pickup-code/qr.png", headers=buyer.headers)
    assert qr.status_code == 200 and qr.content.startswith(b"\x89PNG")
    timeline = (await client.get(f"/api/v1/orders/{first}/timeline", headers=buyer.headers)).json()
    assert [e["kind"] for e in timeline["entries"]] == ["placed", "paid"] and timeline["stage"] == "waiting"

    # 23:05: the 23:00 wave takes both parcels.
    cut = await cut_wave(client, ctx, stage)
    assert cut.status_code == 201, cut.text
    wave = cut.json()
    assert wave["status"] == "open" and wave["parcels"] == {"waiting": 2}
    assert wave["pickup_point"]["name"] == "云顶华府自提点"
    await assert_audit_ok(ctx)

    picks = (await client.get(f"/api/v1/brands/{stage.brand_id}/delivery-waves/{wave['id']}/pick-list", headers=stage.owner.headers)).json()
    assert [(p["product_name"], p["quantity"], p["orders"]) for p in picks["products"]] == [("黄金奶油草莓", 3, 2)]
    assert len(picks["bags"]) == 1 and picks["bags"][0]["bag_no"] == 1
    assert sorted(i["order_id"] for i in picks["bags"][0]["items"]) == [first, second]
    assert picks["bags"][0]["member_phone"] == f"{buyer.phone[:3]}****{buyer.phone[-4:]}"

    for status in ("packed", "in_transit"):
        response = await move(client, stage, wave["id"], status)
        assert response.status_code == 200 and response.json()["status"] == status
        assert (await parcel_of(ctx, first)).status == status
        await run_until_idle(ctx)
        await assert_audit_ok(ctx)
    # Not there yet: the leader cannot hand it over.
    early = await verify(client, stage, stage.leader.actor, code)
    assert early.status_code == 409 and early.json()["error"]["code"] == "parcel_not_arrived"

    ctx.clock.set(ARRIVED_AT)
    arrived = await move(client, stage, wave["id"], "arrived")
    assert arrived.status_code == 200 and arrived.json()["parcels"] == {"arrived": 2}
    await run_until_idle(ctx)
    await assert_audit_ok(ctx)
    inbox = (await client.get("/api/v1/me/notifications", headers=buyer.headers)).json()
    assert inbox["unread"] == 2 and {n["kind"] for n in inbox["items"]} == {"parcel_arrived"}
    note = next(n for n in inbox["items"] if n["order_id"] == first)
    assert code in note["body"] and "云顶华府3号楼便利店" in note["body"] and "09:00-21:00" in note["body"]
    timeline = (await client.get(f"/api/v1/orders/{first}/timeline", headers=buyer.headers)).json()
    arrived_entry = timeline["entries"][-1]
    assert arrived_entry["kind"] == "arrived" and "云顶华府3号楼便利店" in arrived_entry["description"]
    assert "09:00-21:00" in arrived_entry["description"]

    # 16:40: 小李 verifies the first code; the order completes and its commission becomes due T+1.
    ctx.clock.advance(timedelta(minutes=10))
    done = await verify(client, stage, stage.leader.actor, code)
    assert done.status_code == 200, done.text
    assert [p["order_id"] for p in done.json()["verified"]] == [first]
    await run_until_idle(ctx)
    await assert_audit_ok(ctx)
    parcel = await parcel_of(ctx, first)
    assert parcel.status == "picked_up" and parcel.picked_up_at == ctx.clock.now() and parcel.open_code is None
    line = await line_of(ctx, first)
    assert line.completed_at == ctx.clock.now() and line.status == LINE_PENDING
    again = await verify(client, stage, stage.leader.actor, code)
    assert again.status_code == 409 and again.json()["error"]["code"] == "pickup_already_verified"
    timeline = (await client.get(f"/api/v1/orders/{first}/timeline", headers=buyer.headers)).json()
    assert [e["kind"] for e in timeline["entries"]] == ["placed", "paid", "packed", "in_transit", "arrived", "picked_up"]
    assert timeline["stage"] == "picked_up" and timeline["pickup_point"]["opening_hours"] == "09:00-21:00"

    # `linli settle` the same evening settles nothing; from 00:00 the next day the first order's commission is available.
    before = await run_cli(database_url, tmp_path, monkeypatch, "settle", "--as-of", "2026-11-21T23:59:00+08:00")
    assert before.exit_code == 0 and "settled 0 line(s)" in before.output, before.output
    settled = await run_cli(database_url, tmp_path, monkeypatch, "settle", "--as-of", "2026-11-22T00:00:00+08:00")
    assert settled.exit_code == 0 and "settled 1 line(s)" in settled.output, settled.output
    ctx.clock.set(datetime.fromisoformat("2026-11-22T00:00:00+08:00"))  # the audit runs after the settlement
    await assert_audit_ok(ctx)
    assert (await line_of(ctx, first)).status == LINE_SETTLED
    assert (await line_of(ctx, second)).status == LINE_PENDING  # not picked up: stays pending
    money = await balances(ctx, stage)
    assert money.available_fen == (await line_of(ctx, first)).commission_fen > 0
    audit = await run_cli(database_url, tmp_path, monkeypatch, "audit")
    assert audit.exit_code == 0, audit.output
