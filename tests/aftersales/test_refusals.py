"""Refused claims: a clear 4xx with a stable code, and nothing written, stored or refunded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli.aftersales.photos import MAX_PHOTO_BYTES
from linli.worker import run_until_idle
from tests.aftersales.setup import JPEG, PNG, WEBP, error_code, file_claim, jpeg, mark_picked_up, media_files, snapshot
from tests.ledger.helpers import assert_audit_ok


async def _refused(ctx, response, status: int, code: str, before: dict) -> None:
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert await snapshot(ctx) == before
    await assert_audit_ok(ctx)


async def test_after_the_window_is_refused(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    ctx.clock.set(ctx.clock.now() + timedelta(hours=48, seconds=1))
    before = await snapshot(ctx)
    late = await file_claim(client, bought.member, bought.order_id)
    await _refused(ctx, late, 409, "claim_window_closed", before)
    assert late.json()["error"]["details"]["window_hours"] == 48
    # Picked up at 10:00 on 20 Nov in Shanghai: the message gives the end of the window in that time.
    assert late.json()["error"]["message"] == "已超过售后期限（提货后 48 小时内，截至 2026年11月22日 10:00）"
    assert late.json()["error"]["details"]["deadline"] == "2026-11-22T02:00:00+00:00"


async def test_at_the_edge_of_the_window_is_accepted(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    ctx.clock.set(ctx.clock.now() + timedelta(hours=48))
    assert (await file_claim(client, bought.member, bought.order_id)).status_code == 201


async def test_before_pickup_is_refused_but_missing_goods_may_be_claimed_on_arrival(ctx, client, bought):
    before = await snapshot(ctx)
    await _refused(ctx, await file_claim(client, bought.member, bought.order_id), 409, "claim_before_pickup", before)
    missing_early = await file_claim(client, bought.member, bought.order_id, reason="missing", photos=[])
    await _refused(ctx, missing_early, 409, "claim_before_pickup", before)

    await mark_picked_up(ctx, bought.order_id, arrived_only=True)
    before = await snapshot(ctx)
    await _refused(ctx, await file_claim(client, bought.member, bought.order_id), 409, "claim_before_pickup", before)
    missing = await file_claim(client, bought.member, bought.order_id, reason="missing", photos=[], amount_fen=6800)
    assert missing.status_code == 201, missing.text
    assert missing.json()["received_at"].startswith(ctx.clock.now().isoformat()[:19])


async def test_more_than_paid_is_refused(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    before = await snapshot(ctx)
    response = await file_claim(client, bought.member, bought.order_id, amount_fen=6801)
    await _refused(ctx, response, 422, "claim_amount_exceeds_paid", before)
    assert response.json()["error"]["details"] == {"paid_fen": 6800, "claimable_fen": 6800, "requested_fen": 6801}
    await _refused(ctx, await file_claim(client, bought.member, bought.order_id, quantity=2), 422,
                   "claim_quantity_exceeds_order", before)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [("reason", "angry", "claim_reason_invalid"), ("amount_fen", 0, "invalid_request"),
     ("quantity", 0, "invalid_request"), ("description", "长" * 501, "invalid_request")],
)
async def test_bad_fields_are_refused(ctx, client, bought, field, value, code):
    await mark_picked_up(ctx, bought.order_id)
    before = await snapshot(ctx)
    kwargs = {field: value}
    await _refused(ctx, await file_claim(client, bought.member, bought.order_id, **kwargs), 422, code, before)


async def test_a_bad_or_damaged_claim_needs_a_photo(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    before = await snapshot(ctx)
    await _refused(ctx, await file_claim(client, bought.member, bought.order_id, photos=[]), 422, "claim_photo_required", before)


async def test_a_photo_that_is_not_an_image_is_refused(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    before = await snapshot(ctx)
    # The name and the declared type say JPEG; the bytes say otherwise.
    fake = ("bad.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")
    response = await file_claim(client, bought.member, bought.order_id, photos=[jpeg(), fake])
    await _refused(ctx, response, 422, "photo_not_image", before)
    assert response.json()["error"]["details"] == {"photo": 1}
    assert media_files(ctx) == []


async def test_a_photo_that_is_too_large_is_refused(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    before = await snapshot(ctx)
    huge = ("huge.jpg", JPEG + b"\x00" * (MAX_PHOTO_BYTES - len(JPEG) + 1), "image/jpeg")
    response = await file_claim(client, bought.member, bought.order_id, photos=[huge])
    await _refused(ctx, response, 413, "photo_too_large", before)
    assert media_files(ctx) == []
    exact = ("exact.jpg", JPEG + b"\x00" * (MAX_PHOTO_BYTES - len(JPEG)), "image/jpeg")
    assert (await file_claim(client, bought.member, bought.order_id, photos=[exact])).status_code == 201


async def test_too_many_photos_are_refused(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    before = await snapshot(ctx)
    response = await file_claim(client, bought.member, bought.order_id, photos=[jpeg(i) for i in range(7)])
    await _refused(ctx, response, 422, "too_many_photos", before)


async def test_png_and_webp_are_accepted_and_served_back(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    response = await file_claim(
        client, bought.member, bought.order_id,
        photos=[("a.png", PNG, "image/png"), ("b.webp", WEBP, "application/octet-stream"), ("c.png", PNG, "image/png")],
    )
    assert response.status_code == 201
    photos = response.json()["photos"]
    assert [p["content_type"] for p in photos] == ["image/png", "image/webp"]  # the same picture twice is kept once
    served = await client.get(photos[1]["url"], headers=bought.member.headers)
    assert served.status_code == 200 and served.content == WEBP and served.headers["content-type"] == "image/webp"


async def test_one_open_claim_per_order_and_replays(ctx, client, bought):
    await mark_picked_up(ctx, bought.order_id)
    first = await file_claim(client, bought.member, bought.order_id, amount_fen=5000, key="claim-key-0001")
    assert first.status_code == 201
    replay = await file_claim(client, bought.member, bought.order_id, amount_fen=5000, key="claim-key-0001")
    assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
    before = await snapshot(ctx)
    reused = await file_claim(client, bought.member, bought.order_id, amount_fen=4000, key="claim-key-0001")
    await _refused(ctx, reused, 409, "idempotency_key_reused", before)
    second = await file_claim(client, bought.member, bought.order_id, amount_fen=1000)
    await _refused(ctx, second, 409, "claim_already_open", before)
    assert len(media_files(ctx)) == 1


async def test_refund_twice_is_refused(ctx, client, bought):
    """A refund is requested once per claim: deciding again changes nothing, the audit holds."""
    await mark_picked_up(ctx, bought.order_id)
    instant = await file_claim(client, bought.member, bought.order_id, amount_fen=1000)
    assert instant.json()["decision"] == "instant"
    before = await snapshot(ctx)
    for body in ({"decision": "approve"}, {"decision": "partial", "amount_fen": 500, "reason": "再退一次"}):
        again = await client.post(f"/api/v1/brands/{bought.stage.brand_id}/claims/{instant.json()['id']}/decision",
                                  json=body, headers=bought.stage.owner.headers)
        await _refused(ctx, again, 409, "claim_already_decided", before)
    await run_until_idle(ctx)
    await assert_audit_ok(ctx)
