"""Who may call each coupon route: the brand's staff (owner or operator) manage; a member reads only their own."""

from __future__ import annotations

import uuid

from tests.coupons.setup import build_coupon_stage, give, make_template
from tests.live.helpers import error_code
from tests.orders.setup import bound_member


async def test_staff_routes_refuse_everyone_but_the_brands_staff(client, world, ctx):
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id)
    operator = await world.staff(cs.brand_id, role="operator")
    neighbour = await bound_member(world, cs.stage.leader)
    base = f"/api/v1/brands/{cs.brand_id}"
    campaign = {"template_id": template_id, "name": "福利", "audience": "community", "community_id": cs.stage.community_id}
    rule = {"trigger": "member_bound", "template_id": template_id}
    created = await client.post(f"{base}/coupon-rules", json=rule, headers=operator.headers)
    assert created.status_code == 201, created.text
    run = await client.post(f"{base}/coupon-campaigns", json=campaign,
                            headers={**operator.headers, "Idempotency-Key": uuid.uuid4().hex})
    assert run.status_code == 201, run.text
    calls = [
        ("GET", f"{base}/coupon-templates", None),
        ("POST", f"{base}/coupon-templates/{template_id}/issue", {"member_ids": [1]}),
        ("GET", f"{base}/coupon-rules", None),
        ("POST", f"{base}/coupon-rules", {**rule, "template_id": await make_template(ctx, cs.brand_id, name="另一张")}),
        ("POST", f"{base}/coupon-rules/{created.json()['id']}/disable", None),
        ("GET", f"{base}/coupon-campaigns", None),
        ("POST", f"{base}/coupon-campaigns", campaign),
        ("POST", f"{base}/coupon-campaigns/{run.json()['campaign']['id']}/run", None),
    ]
    for method, path, body in calls:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        assert (await client.request(method, path, json=body, headers=key)).status_code == 401, path
        for outsider in (neighbour, cs.stage.leader.actor, cs.other_brand_owner):
            refused = await client.request(method, path, json=body, headers={**outsider.headers, **key})
            assert (refused.status_code, error_code(refused)) == (403, "staff_only"), (method, path)
        allowed = await client.request(method, path, json=body, headers={**operator.headers, **key})
        assert allowed.status_code in (200, 201), (method, path, allowed.text)


async def test_a_member_reads_only_their_own_coupons(client, world, ctx):
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id, name="草莓满50减10", scope="product", scope_id=cs.product_id)
    mine, theirs = await bound_member(world, cs.stage.leader), await bound_member(world, cs.stage.leader)
    coupon_id = await give(ctx, cs.brand_id, template_id, mine)
    await give(ctx, cs.brand_id, template_id, theirs)
    path = f"/api/v1/brands/{cs.brand_id}/coupons/mine"
    assert (await client.get(path)).status_code == 401
    listed = await client.get(path, headers=mine.headers)
    assert listed.status_code == 200
    (coupon,) = listed.json()["items"]
    assert (coupon["id"], coupon["name"], coupon["discount_text"], coupon["scope_text"], coupon["status"]) == (
        coupon_id, "草莓满50减10", "满50减10", "限「黄金奶油草莓」", "available")
    assert (await client.get(f"{path}?status=used", headers=mine.headers)).json()["total"] == 0
    bad = await client.get(f"{path}?status=lost", headers=mine.headers)
    assert (bad.status_code, error_code(bad)) == (422, "coupon_status_filter_invalid")
    elsewhere = await client.get(f"/api/v1/brands/{cs.other_brand_id}/coupons/mine", headers=mine.headers)
    assert elsewhere.json()["total"] == 0
    unknown = await client.get("/api/v1/brands/999999/coupons/mine", headers=mine.headers)
    assert (unknown.status_code, error_code(unknown)) == (404, "brand_not_found")
    staff = await client.get(path, headers=cs.stage.owner.headers)  # staff are no member: nothing of anyone's
    assert staff.json()["total"] == 0
