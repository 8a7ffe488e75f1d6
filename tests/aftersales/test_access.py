"""Who may and who may not, for every after-sales route.

The cast: the member (buyer), 小李 (leader of the order's pickup point), 王姐 (leader of another point),
a stranger, the brand's staff, and the staff of another brand.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.aftersales.setup import error_code, file_claim, mark_picked_up, snapshot
from tests.factories import Actor

DATES = {"start": "2026-11-01", "end": "2026-11-30"}


@dataclass
class Cast:
    member: Actor
    leader: Actor
    other_leader: Actor
    stranger: Actor
    staff: Actor
    other_staff: Actor
    brand_id: int
    order_id: int
    claim_id: int
    photo_url: str


@pytest.fixture
async def cast(ctx, client, world, bought) -> Cast:
    await mark_picked_up(ctx, bought.order_id)
    filed = await file_claim(client, bought.member, bought.order_id, amount_fen=5000)
    assert filed.status_code == 201
    other_brand = await world.brand(name="别家")
    return Cast(
        member=bought.member, leader=bought.stage.leader.actor, other_leader=bought.stage.other_leader.actor,
        stranger=await world.user(name="路人"), staff=bought.stage.owner, other_staff=await world.staff(other_brand),
        brand_id=bought.stage.brand_id, order_id=bought.order_id, claim_id=filed.json()["id"],
        photo_url=filed.json()["photos"][0]["url"],
    )


def _who(cast: Cast, name: str) -> Actor:
    return getattr(cast, name)


@pytest.mark.parametrize(
    ("who", "status"),
    [("member", 200), ("leader", 200), ("staff", 200), ("other_leader", 404), ("stranger", 404), ("other_staff", 404)],
)
async def test_reading_a_claim_its_order_claims_and_photos(client, cast, who, status):
    headers = _who(cast, who).headers
    detail = await client.get(f"/api/v1/claims/{cast.claim_id}", headers=headers)
    timeline = await client.get(f"/api/v1/orders/{cast.order_id}/claims", headers=headers)
    photo = await client.get(cast.photo_url, headers=headers)
    assert (detail.status_code, timeline.status_code, photo.status_code) == (status, status, status)
    if status == 200:
        phone = detail.json()["member_phone"]
        expected = {"member": None, "leader": cast.member.phone[:3] + "****" + cast.member.phone[-4:], "staff": cast.member.phone}
        assert phone == expected[who]
        assert [c["claim_id"] for c in timeline.json()["items"]] == [cast.claim_id] and timeline.json()["total"] == 1
        assert photo.content.startswith(b"\xff\xd8\xff")
    else:
        assert error_code(detail) == "claim_not_found" and error_code(timeline) == "order_not_found"


async def test_anonymous_callers_are_401(client, cast):
    for url in (f"/api/v1/claims/{cast.claim_id}", cast.photo_url, f"/api/v1/orders/{cast.order_id}/claims",
                f"/api/v1/brands/{cast.brand_id}/claims/mine", f"/api/v1/brands/{cast.brand_id}/aftersales-policy"):
        assert (await client.get(url)).status_code == 401, url
    anonymous = await client.post(
        f"/api/v1/orders/{cast.order_id}/claims", data={"reason": "other", "quantity": "1", "amount_fen": "100"},
        headers={"Idempotency-Key": "anonymous-key-1"},
    )
    assert anonymous.status_code == 401


@pytest.mark.parametrize(("who", "status", "code"), [
    ("other_leader", 404, "order_not_found"), ("stranger", 404, "order_not_found"),
    ("other_staff", 404, "order_not_found"), ("staff", 403, "claim_filer_invalid"),
])
async def test_filing_is_for_the_member_and_their_points_leader_only(ctx, client, cast, who, status, code):
    # The open claim is rejected first so that only the caller decides the answer.
    rejected = await client.post(f"/api/v1/brands/{cast.brand_id}/claims/{cast.claim_id}/decision",
                                 json={"decision": "reject", "reason": "重复"}, headers=cast.staff.headers)
    assert rejected.status_code == 200
    before = await snapshot(ctx)
    response = await file_claim(client, _who(cast, who), cast.order_id, amount_fen=1000)
    assert (response.status_code, error_code(response)) == (status, code)
    assert await snapshot(ctx) == before


async def test_lists_show_only_what_the_caller_may_see(client, cast):
    mine = await client.get(f"/api/v1/brands/{cast.brand_id}/claims/mine", headers=cast.member.headers)
    assert [c["id"] for c in mine.json()["items"]] == [cast.claim_id] and mine.json()["items"][0]["member_phone"] is None
    theirs = await client.get(f"/api/v1/brands/{cast.brand_id}/claims/mine", headers=cast.stranger.headers)
    assert theirs.status_code == 200 and theirs.json()["items"] == []

    point = await client.get(f"/api/v1/brands/{cast.brand_id}/leader/claims", headers=cast.leader.headers)
    assert [c["id"] for c in point.json()["items"]] == [cast.claim_id]
    assert point.json()["items"][0]["member_phone"] == cast.member.phone[:3] + "****" + cast.member.phone[-4:]
    other_point = await client.get(f"/api/v1/brands/{cast.brand_id}/leader/claims", headers=cast.other_leader.headers)
    assert other_point.status_code == 200 and other_point.json()["items"] == []
    for who in ("member", "stranger", "staff"):
        refused = await client.get(f"/api/v1/brands/{cast.brand_id}/leader/claims", headers=_who(cast, who).headers)
        assert refused.status_code == 403 and error_code(refused) == "leader_only"

    queue = await client.get(f"/api/v1/brands/{cast.brand_id}/claims", headers=cast.staff.headers)
    assert [c["id"] for c in queue.json()["items"]] == [cast.claim_id] and queue.json()["items"][0]["member_phone"] == cast.member.phone
    for who in ("member", "leader", "other_staff"):
        refused = await client.get(f"/api/v1/brands/{cast.brand_id}/claims", headers=_who(cast, who).headers)
        assert refused.status_code == 403 and error_code(refused) == "staff_only"
    bad_filter = await client.get(f"/api/v1/brands/{cast.brand_id}/claims", params={"status": "x"}, headers=cast.staff.headers)
    assert bad_filter.status_code == 422 and error_code(bad_filter) == "claim_status_filter_invalid"


@pytest.mark.parametrize("who", ["member", "leader", "other_leader", "other_staff"])
async def test_only_the_brands_staff_decide_and_retry(ctx, client, cast, who):
    before = await snapshot(ctx)
    headers = _who(cast, who).headers
    decided = await client.post(f"/api/v1/brands/{cast.brand_id}/claims/{cast.claim_id}/decision",
                                json={"decision": "approve"}, headers=headers)
    retried = await client.post(f"/api/v1/brands/{cast.brand_id}/claims/{cast.claim_id}/retry-refund", headers=headers)
    assert (decided.status_code, retried.status_code) == (403, 403)
    assert error_code(decided) == error_code(retried) == "staff_only"
    assert await snapshot(ctx) == before


async def test_staff_of_another_brand_cannot_reach_the_claim_through_their_brand(ctx, client, world, cast):
    other_brand = await world.brand(name="隔壁品牌")
    other_owner = await world.staff(other_brand)
    before = await snapshot(ctx)
    response = await client.post(f"/api/v1/brands/{other_brand}/claims/{cast.claim_id}/decision",
                                 json={"decision": "approve"}, headers=other_owner.headers)
    assert response.status_code == 404 and error_code(response) == "claim_not_found"
    assert await snapshot(ctx) == before


@pytest.mark.parametrize("who", ["member", "leader", "other_staff"])
async def test_only_staff_change_and_list_the_policy(ctx, client, cast, who):
    url = f"/api/v1/brands/{cast.brand_id}/aftersales-policy"
    body = {"window_hours": 72, "instant_enabled": True, "instant_max_fen": 5000, "instant_lookback_days": 90,
            "instant_max_recent_claims": 3, "instant_max_claim_rate_bp": 2000}
    before = await snapshot(ctx)
    changed = await client.put(url, json=body, headers=_who(cast, who).headers)
    versions = await client.get(f"{url}/versions", headers=_who(cast, who).headers)
    assert (changed.status_code, versions.status_code) == (403, 403)
    assert (await client.get(url, headers=_who(cast, who).headers)).status_code == 200  # reading is for everyone logged in
    assert (await client.get(url, headers=cast.staff.headers)).json()["window_hours"] == 48
    assert await snapshot(ctx) == before


async def test_claim_rates_are_for_staff_and_a_leaders_own_figure(client, cast):
    rates = f"/api/v1/brands/{cast.brand_id}/claim-rates"
    assert (await client.get(rates, params=DATES, headers=cast.staff.headers)).status_code == 200
    for who in ("member", "leader", "other_staff"):
        refused = await client.get(rates, params=DATES, headers=_who(cast, who).headers)
        assert refused.status_code == 403 and error_code(refused) == "staff_only"
    own = f"/api/v1/brands/{cast.brand_id}/leader/claim-rate"
    assert (await client.get(own, params=DATES, headers=cast.leader.headers)).json()["claims"] == 1
    assert (await client.get(own, params=DATES, headers=cast.other_leader.headers)).json()["claims"] == 0
    for who in ("member", "staff"):
        refused = await client.get(own, params=DATES, headers=_who(cast, who).headers)
        assert refused.status_code == 403 and error_code(refused) == "leader_only"
