"""Times a member reads (timeline, inbox) are in the brand's time zone and one Chinese format, never ISO UTC;
the API's own time fields stay ISO 8601."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from linli.brands.models import Brand
from linli.fulfillment import unclaimed
from linli.worker import run_until_idle
from tests.fulfillment.helpers import CUT_AT, CUTOFF, code_of, move, verify
from tests.ledger.helpers import buy
from tests.orders.setup import bound_member, build_stage

ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T")
IN_TRANSIT_UNTIL = datetime(2026, 11, 21, 8, 47, 50, tzinfo=UTC)  # the wave's expected arrival
ARRIVED = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


async def _texts(client, buyer, order_id: int) -> list[str]:  # noqa: ANN001
    """Every text the member reads about the order: the timeline's entries and the inbox's messages."""
    timeline = (await client.get(f"/api/v1/orders/{order_id}/timeline", headers=buyer.headers)).json()
    inbox = (await client.get("/api/v1/me/notifications", headers=buyer.headers)).json()
    return [t for e in timeline["entries"] for t in (e["title"], e["description"]) if t] + [
        t for m in inbox["items"] for t in (m["title"], m["body"])
    ]


@pytest.mark.parametrize(("zone", "expected", "return_by"), [
    ("Asia/Shanghai", "2026年11月21日 16:47", "2026年11月28日 17:00"),
    ("Asia/Tokyo", "2026年11月21日 17:47", "2026年11月28日 18:00"),
])
async def test_member_texts_use_the_brands_zone(ctx, client, world, zone, expected, return_by):
    stage = await build_stage(world)
    async with ctx.db.transaction() as s:
        await s.execute(update(Brand).where(Brand.id == stage.brand_id).values(timezone=zone))
    policy = {"remind_after_hours": 24, "remind_every_hours": 24, "max_reminders": 1, "unclaimed_action": "return_refund",
              "unclaimed_after_days": 7}
    put = await client.put(f"/api/v1/brands/{stage.brand_id}/fulfillment-policy", json=policy, headers=stage.owner.headers)
    assert put.status_code == 200, put.text
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer)

    ctx.clock.set(CUT_AT)
    cut = await client.post(
        f"/api/v1/brands/{stage.brand_id}/delivery-waves",
        json={"community_id": stage.community_id, "cutoff_at": CUTOFF.isoformat(), "arrive_after": IN_TRANSIT_UNTIL.isoformat()},
        headers=stage.owner.headers,
    )
    assert cut.status_code == 201, cut.text
    wave = cut.json()
    assert wave["arrive_after"] == "2026-11-21T08:47:50Z"  # the API field stays ISO 8601 UTC
    for status in ("packed", "in_transit"):
        assert (await move(client, stage, wave["id"], status)).status_code == 200

    timeline = (await client.get(f"/api/v1/orders/{order_id}/timeline", headers=buyer.headers)).json()
    [in_transit] = [e for e in timeline["entries"] if e["kind"] == "in_transit"]
    assert in_transit["description"] == f"发往云顶华府自提点，预计 {expected} 后到达"

    ctx.clock.set(ARRIVED)
    assert (await move(client, stage, wave["id"], "arrived")).status_code == 200
    await run_until_idle(ctx)
    ctx.clock.set(ARRIVED + timedelta(hours=24))
    async with ctx.db.transaction() as s:
        assert (await unclaimed.handle_unclaimed(session=s, now=ctx.clock.now())).reminded == 1
    await run_until_idle(ctx)
    inbox = (await client.get("/api/v1/me/notifications", headers=buyer.headers)).json()["items"]
    [reminder] = [m for m in inbox if m["kind"] == "pickup_reminder"]
    assert f"{return_by} 前未提货将退货退款" in reminder["body"]

    assert (await verify(client, stage, stage.leader.actor, await code_of(client, buyer, order_id))).status_code == 200
    await run_until_idle(ctx)
    texts = await _texts(client, buyer, order_id)
    assert {"已打包", "配送中", "已到达自提点，请凭提货码提货", "已提货", "提货提醒"} <= set(texts)
    assert [t for t in texts if ISO_TIMESTAMP.search(t)] == []
