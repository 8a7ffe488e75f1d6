"""Genuine, properly signed payout notifications whose fields have the wrong shape: a 4xx `callback_malformed`,
never a 500, and nothing written (the withdrawal stays approved, no ledger posting, no callback, no event)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.worker import run_until_idle
from tests.notification_fuzz import FUZZING, json_values
from tests.payments import wechat_fakes as wx
from tests.payouts.conftest import approve, ask, earn, error_code, snapshot, withdrawal
from tests.payouts.test_wechat import (  # noqa: F401 - fixtures
    api,
    approved,
    finished,
    keys,
    provider,
    with_openid,
    wx_client,
    wx_ctx,
)

HUGE = 10**30


async def notify_wechat(http, n: wx.WeChatNotification):  # noqa: ANN001, ANN201
    return await http.post("/api/v1/payouts/wechatpay/notify", content=n.body.encode(), headers=n.headers)


def batch(keys: wx.Keys, ctx, withdrawal_id: int, **changes) -> wx.WeChatNotification:  # noqa: ANN001
    resource = {
        "mchid": wx.MCHID, "out_batch_no": f"LLWB{withdrawal_id:010d}",
        "batch_id": "1310000070267099995209220230815194",
        "batch_status": "FINISHED", "total_num": 1, "total_amount": 5_000, "success_amount": 5_000, "success_num": 1,
        "fail_amount": 0, "fail_num": 0,
    }
    resource.update(changes)
    return wx.notification(keys, event_type="MCHTRANSFER.BATCH.FINISHED", resource=resource, at=ctx.clock.now(),
                           original_type="mch_payment")


@pytest.fixture
async def in_transfer(wx_ctx, wx_client, world, stage, api) -> int:  # noqa: ANN001
    await with_openid(wx_ctx, stage)
    w_id = await approved(wx_ctx, wx_client, world, stage)
    accepted = {"out_batch_no": f"LLWB{w_id:010d}", "batch_id": "1030000071100999991182020050700019480001",
                "create_time": "2026-11-22T10:00:00+08:00", "batch_status": "ACCEPTED"}
    api.answer("POST", "/v3/transfer/batches", 200, accepted)
    await run_until_idle(wx_ctx)
    assert (await withdrawal(wx_ctx, w_id)).status == "approved"
    return w_id


async def test_wechat_transfer_notifications_with_wrong_field_types_are_4xx_and_change_nothing(
    wx_ctx, wx_client, keys, in_transfer
):
    w_id = in_transfer
    no = f"LLWB{w_id:010d}"
    shapes = {
        "out_batch_no a list": {"out_batch_no": [no]},
        "out_batch_no an object": {"out_batch_no": {"no": no}},
        "out_batch_no a number": {"out_batch_no": 42},
        "out_batch_no null": {"out_batch_no": None},
        "out_batch_no too long": {"out_batch_no": no + "x" * 32},
        "out_batch_no with a NUL": {"out_batch_no": "LLWB\u0000"},
        "batch_id an object": {"batch_id": {"id": 1}},
        "batch_id a number": {"batch_id": 1310000070267099995209},
        "batch_status a list": {"batch_status": ["FINISHED"]},
        "success_num 10**30": {"success_num": HUGE},
        "success_num a string": {"success_num": "1"},
        "success_num a boolean": {"success_num": True},
        "fail_num a float": {"fail_num": 1.0},
        "close_reason an object": {"close_reason": {"code": "X"}},
        "mchid a number": {"mchid": int(wx.MCHID)},
        "an infinite number anywhere": {"total_amount": float("inf")},
    }
    before = await snapshot(wx_ctx)
    for label, change in shapes.items():
        response = await notify_wechat(wx_client, batch(keys, wx_ctx, w_id, **change))
        assert response.status_code == 422, (label, response.status_code, response.text)
        assert response.json()["code"] == "FAIL", label
    assert await snapshot(wx_ctx) == before
    assert (await withdrawal(wx_ctx, w_id)).status == "approved"

    assert (await notify_wechat(wx_client, finished(keys, wx_ctx, w_id))).json()["code"] == "SUCCESS"
    assert (await withdrawal(wx_ctx, w_id)).status == "paid"


@FUZZING
@given(
    changes=st.dictionaries(
        st.sampled_from(["mchid", "out_batch_no", "batch_id", "batch_status", "success_num", "fail_num", "close_reason",
                         "total_amount"]),
        json_values, max_size=3,
    ),
)
async def test_fuzzed_wechat_transfer_notifications_never_answer_5xx(wx_ctx, wx_client, keys, in_transfer, changes):
    response = await notify_wechat(wx_client, batch(keys, wx_ctx, in_transfer, **changes))
    assert response.status_code < 500, (changes, response.text)


# --- the simulator ------------------------------------------------------------------------------------


async def test_simulator_payout_notifications_with_wrong_field_types_are_422_and_change_nothing(
    ctx, world, stage, client, payout_sim, clock
):
    await earn(ctx, world, stage)
    payout_sim.mode = "pending"
    w = (await ask(client, stage, stage.leader.actor, 5_000)).json()
    await approve(client, stage, stage.owner, w["id"])
    await run_until_idle(ctx)
    row = await withdrawal(ctx, w["id"])
    record = payout_sim.finish(row.out_detail_no, "paid")
    good = json.loads(payout_sim.notification_body(record, now=clock.now()))
    changes = {
        "out_batch_no a list": {"out_batch_no": [good["out_batch_no"]]},
        "out_batch_no a number": {"out_batch_no": 1},
        "out_batch_no too long": {"out_batch_no": "B" * 33},
        "out_detail_no an object": {"out_detail_no": {"no": 1}},
        "reference a number": {"reference": 5},
        "reference with a NUL": {"reference": "R\u0000"},
        "id null": {"id": None},
        "event a list": {"event": ["paid"]},
        "event unknown": {"event": "maybe"},
        "reason an object": {"reason": {"text": "x"}},
        "reason with a NUL": {"reason": "坏\u0000"},
        "amount_fen 10**30": {"amount_fen": HUGE},
        "amount_fen a string": {"amount_fen": "5000"},
    }
    bodies = {label: json.dumps({**good, **change}).encode() for label, change in changes.items()}
    bodies["a list"] = json.dumps([good]).encode()
    bodies["NaN"] = json.dumps({**good, "amount_fen": float("nan")}).encode()
    before = await snapshot(ctx)
    for label, body in bodies.items():
        n = payout_sim.signed(body, now=clock.now())
        response = await client.post("/api/v1/payouts/simulator/notify", content=n.body, headers=n.headers)
        assert response.status_code == 422, (label, response.status_code, response.text)
        assert error_code(response) == "callback_malformed", label
    assert await snapshot(ctx) == before and (await withdrawal(ctx, row.id)).status == "approved"

    n = payout_sim.signed(json.dumps(good).encode(), now=clock.now())
    response = await client.post("/api/v1/payouts/simulator/notify", content=n.body, headers=n.headers)
    assert response.json() == {"outcome": "paid"}
