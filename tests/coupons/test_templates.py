"""Coupon templates: every bad field is a clear Chinese 4xx that creates nothing; staff of the brand (owner or
operator) create, list and disable them, nobody else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.coupons.setup import build_coupon_stage, give, make_template
from tests.live.helpers import error_code
from tests.orders.setup import bound_member

FIXED = {"name": "满50减10", "kind": "fixed", "amount_fen": 1000, "threshold_fen": 5000, "valid_days": 30}


def url(brand_id: int) -> str:
    return f"/api/v1/brands/{brand_id}/coupon-templates"


BAD = [
    ({"name": "   "}, 422, "coupon_name_invalid"),
    ({"name": "券" * 33}, 422, "coupon_name_invalid"),
    ({"kind": "free"}, 422, "invalid_request"),  # the schema's Literal
    ({"amount_fen": None}, 422, "coupon_amount_invalid"),
    ({"amount_fen": 0}, 422, "invalid_request"),
    ({"amount_fen": 5000}, 422, "coupon_amount_exceeds_threshold"),  # 满50减50 would be free
    ({"percent_off_bp": 1000}, 422, "coupon_terms_invalid"),  # a fixed coupon with a percentage
    ({"kind": "percent", "amount_fen": None, "cap_fen": 2000}, 422, "coupon_percent_invalid"),
    ({"kind": "percent", "amount_fen": None, "percent_off_bp": 1000}, 422, "coupon_cap_invalid"),
    ({"kind": "percent", "percent_off_bp": 1000, "cap_fen": 2000}, 422, "coupon_terms_invalid"),  # and an amount
    ({"kind": "percent", "amount_fen": None, "percent_off_bp": 10000, "cap_fen": 2000}, 422, "invalid_request"),
    ({"threshold_fen": -1}, 422, "invalid_request"),
    ({"valid_days": None}, 422, "coupon_validity_invalid"),  # no validity at all
    ({"valid_from": "2026-11-21T00:00:00+08:00", "valid_until": "2026-11-30T00:00:00+08:00"}, 422, "coupon_validity_invalid"),
    ({"valid_days": None, "valid_from": "2026-11-21T00:00:00+08:00"}, 422, "coupon_validity_invalid"),
    ({"valid_days": None, "valid_from": "2026-11-30T00:00:00+08:00", "valid_until": "2026-11-21T00:00:00+08:00"}, 422,
     "coupon_validity_invalid"),
    ({"valid_days": None, "valid_from": "2026-11-01T00:00:00+08:00", "valid_until": "2026-11-19T00:00:00+08:00"}, 422,
     "coupon_validity_invalid"),  # over before it starts: the clock is 2026-11-20
    ({"valid_days": None, "valid_from": "2026-11-21T00:00:00", "valid_until": "2026-11-30T00:00:00"}, 422,
     "invalid_request"),  # no time zone
    ({"valid_days": 0}, 422, "invalid_request"),
    ({"per_member_limit": 0}, 422, "invalid_request"),
    ({"issue_quota": 0}, 422, "invalid_request"),
    ({"scope": "brand"}, 422, "invalid_request"),
    ({"scope": "product"}, 422, "coupon_scope_invalid"),  # no product named
    ({"scope": "all", "scope_id": 1}, 422, "coupon_scope_invalid"),
    ({"scope": "product", "scope_id": 999_999}, 404, "product_not_found"),
    ({"scope": "category", "scope_id": 999_999}, 404, "category_not_found"),
    ({"scope": "session", "scope_id": 999_999}, 404, "live_session_not_found"),
    ({"scope": "community", "scope_id": 999_999}, 404, "community_not_found"),
]


@pytest.mark.parametrize(("change", "status", "code"), BAD)
async def test_each_bad_template_is_refused_with_its_code_and_creates_nothing(client, world, change, status, code):
    cs = await build_coupon_stage(world)
    owner = cs.stage.owner
    response = await client.post(url(cs.brand_id), json={**FIXED, **change}, headers=owner.headers)
    assert response.status_code == status, response.text
    assert error_code(response) == code
    listed = await client.get(url(cs.brand_id), headers=owner.headers)
    assert listed.json()["total"] == 0


async def test_another_brands_category_product_and_community_are_unknown_targets(client, world, ctx):
    cs = await build_coupon_stage(world)
    mine = await client.post(url(cs.brand_id), json={**FIXED, "scope": "category", "scope_id": cs.category_id},
                             headers=cs.stage.owner.headers)
    assert mine.status_code == 201, mine.text
    theirs = await client.post(url(cs.other_brand_id), json={**FIXED, "scope": "category", "scope_id": cs.category_id},
                               headers=cs.other_brand_owner.headers)
    assert (theirs.status_code, error_code(theirs)) == (404, "category_not_found")
    theirs = await client.post(url(cs.other_brand_id), json={**FIXED, "scope": "community", "scope_id": cs.stage.community_id},
                               headers=cs.other_brand_owner.headers)
    assert (theirs.status_code, error_code(theirs)) == (404, "community_not_found")
    theirs = await client.post(url(cs.other_brand_id), json={**FIXED, "scope": "session", "scope_id": cs.stage.session_id},
                               headers=cs.other_brand_owner.headers)
    assert (theirs.status_code, error_code(theirs)) == (404, "live_session_not_found")


async def test_staff_create_list_and_disable_templates_with_their_counts(client, world, ctx):
    cs = await build_coupon_stage(world)
    operator = await world.staff(cs.brand_id, role="operator")
    fixed = await client.post(url(cs.brand_id), json=FIXED, headers=operator.headers)
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["discount_text"] == "满50减10" and fixed.json()["scope_text"] == "全场通用"
    percent = await client.post(url(cs.brand_id), json={
        "name": "草莓9折", "kind": "percent", "percent_off_bp": 1000, "cap_fen": 2000, "valid_days": 7,
        "scope": "product", "scope_id": cs.product_id, "issue_quota": 2, "per_member_limit": 2,
    }, headers=cs.stage.owner.headers)
    assert percent.status_code == 201, percent.text
    assert percent.json()["discount_text"] == "9折（最高减20元）"
    assert percent.json()["scope_text"] == "限「黄金奶油草莓」"

    neighbour = await bound_member(world, cs.stage.leader)
    await give(ctx, cs.brand_id, percent.json()["id"], neighbour)
    ctx.clock.advance(timedelta(days=8))  # its 7 days are over
    listed = (await client.get(url(cs.brand_id), headers=operator.headers)).json()
    assert listed["total"] == 2
    row = next(t for t in listed["items"] if t["id"] == percent.json()["id"])
    assert (row["issued"], row["used"], row["expired"], row["discount_fen"]) == (1, 0, 1, 0)

    disabled = await client.post(f"{url(cs.brand_id)}/{fixed.json()['id']}/disable", headers=operator.headers)
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    again = await client.post(f"{url(cs.brand_id)}/{fixed.json()['id']}/disable", headers=operator.headers)
    assert again.json()["disabled_at"] == disabled.json()["disabled_at"]  # a second call changes nothing


async def test_only_the_brands_staff_reach_the_templates(client, world, ctx):
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id)
    neighbour = await bound_member(world, cs.stage.leader)
    calls = [
        ("GET", url(cs.brand_id), None),
        ("POST", url(cs.brand_id), FIXED),
        ("POST", f"{url(cs.brand_id)}/{template_id}/disable", None),
    ]
    for method, path, body in calls:
        assert (await client.request(method, path, json=body)).status_code == 401
        for outsider in (neighbour, cs.stage.leader.actor, cs.other_brand_owner):
            refused = await client.request(method, path, json=body, headers=outsider.headers)
            assert (refused.status_code, error_code(refused)) == (403, "staff_only"), (method, path)
    # Another brand's template is unknown in this brand's path, even to this brand's staff.
    other = await make_template(ctx, cs.other_brand_id)
    refused = await client.post(f"{url(cs.brand_id)}/{other}/disable", headers=cs.stage.owner.headers)
    assert (refused.status_code, error_code(refused)) == (404, "coupon_template_not_found")
    listed = (await client.get(url(cs.brand_id), headers=cs.stage.owner.headers)).json()
    assert [t["status"] for t in listed["items"]] == ["active"]
