"""A member's order timeline shows the whole story: delivery, pickup and the after-sales claims."""

from __future__ import annotations

from linli.worker import run_until_idle
from tests.aftersales.setup import decide, file_claim, mark_picked_up


async def _kinds(client, bought) -> list[tuple[str, str]]:  # noqa: ANN001
    response = await client.get(f"/api/v1/orders/{bought.order_id}/timeline", headers=bought.member.headers)
    assert response.status_code == 200, response.text
    return [(e["kind"], e["title"]) for e in response.json()["entries"]]


async def test_an_instant_refund_shows_on_the_timeline_after_pickup(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    assert (await file_claim(client, bought.member, bought.order_id, amount_fen=2000)).status_code == 201
    await run_until_idle(ctx)
    kinds = [k for k, _ in await _kinds(client, bought)]
    assert kinds[kinds.index("picked_up"):] == ["picked_up", "claim_filed", "claim_approved", "claim_refunded"]
    assert kinds[:2] == ["placed", "paid"]


async def test_a_rejection_shows_its_reason(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    filed = await file_claim(client, bought.member, bought.order_id, amount_fen=6000)
    assert filed.json()["status"] == "reviewing"
    assert (await decide(client, bought.stage, filed.json()["id"], decision="reject", reason="照片显示完好")).status_code == 200
    response = await client.get(f"/api/v1/orders/{bought.order_id}/timeline", headers=bought.member.headers)
    last = response.json()["entries"][-1]
    assert (last["kind"], last["title"], last["description"]) == ("claim_rejected", "售后申请未通过", "照片显示完好")
