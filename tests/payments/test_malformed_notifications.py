"""Genuine, properly signed notifications whose fields have the wrong shape: a 4xx `callback_malformed`, never a
500, and nothing written (payment, refund, order, reservation, callback and outbox rows untouched).

WeChat Pay's are signed with the platform key and encrypted with the APIv3 key exactly as WeChat sends them
(tests/payments/wechat_fakes.py); the simulator's are HMAC-signed by the simulator itself.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.payments import service
from linli.payments.models import Payment, Refund
from linli.payments.providers import PAYMENT_SUCCEEDED
from tests.notification_fuzz import FUZZING, json_values
from tests.payments import wechat_fakes as wx
from tests.payments.conftest import PRICE_FEN, build_shop, error_code, member, place, rows, snapshot, start
from tests.payments.test_wechatpay import (  # noqa: F401 - fixtures
    _started,
    api,
    keys,
    notify,
    paid_notification,
    wechatpay,
    wx_client,
)

MALFORMED = "支付通知内容不完整"
HUGE = 10**30
INT64_OVER = 2**63


def signed(
    keys: wx.Keys, *, at, resource: Any, event_type: str = "TRANSACTION.SUCCESS", original_type: str = "transaction",
    **envelope_changes: Any,
) -> wx.WeChatNotification:
    """A notification WeChat Pay could have signed, with any envelope or resource (even ones WeChat never sends)."""
    envelope = {
        "id": f"EV-{secrets.token_hex(10)}", "create_time": "2026-11-20T10:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type, "summary": "支付成功",
        "resource": wx.encrypt_resource(keys.apiv3_key, resource, original_type=original_type),
    }
    envelope.update(envelope_changes)
    body = json.dumps(envelope, ensure_ascii=False)
    return wx.WeChatNotification(wx.signed_headers(keys.platform, body, at=at), body)


def with_amount(trade_no: str, **amount: Any) -> dict:
    resource = wx.payment_resource(out_trade_no=trade_no, total=PRICE_FEN)
    resource["amount"] = {**resource["amount"], **amount}
    return resource


def transaction_shapes(trade_no: str) -> dict[str, dict]:
    base = wx.payment_resource(out_trade_no=trade_no, total=PRICE_FEN)
    without_total = with_amount(trade_no)
    del without_total["amount"]["total"]
    return {
        "transaction_id an object": {**base, "transaction_id": {"id": "4200001234"}},
        "transaction_id a number": {**base, "transaction_id": 4200001234202611200000000001},
        "transaction_id a list": {**base, "transaction_id": ["4200001234"]},
        "transaction_id too long": {**base, "transaction_id": "4" * 65},
        "transaction_id with a NUL": {**base, "transaction_id": "4200\u00001234"},
        "amount.total 10**30": with_amount(trade_no, total=HUGE),
        "amount.total past int64": with_amount(trade_no, total=INT64_OVER),
        "amount.total a string": with_amount(trade_no, total="6800"),
        "amount.total a float": with_amount(trade_no, total=6800.0),
        "amount.total a boolean": with_amount(trade_no, total=True),
        "amount.total zero": with_amount(trade_no, total=0),
        "amount.total negative": with_amount(trade_no, total=-6800),
        "amount.total null": with_amount(trade_no, total=None),
        "amount.total missing": without_total,
        "amount a list": {**base, "amount": [PRICE_FEN]},
        "amount a number": {**base, "amount": PRICE_FEN},
        "amount missing": {k: v for k, v in base.items() if k != "amount"},
        "out_trade_no an object": {**base, "out_trade_no": {"no": trade_no}},
        "out_trade_no a list": {**base, "out_trade_no": [trade_no]},
        "out_trade_no a number": {**base, "out_trade_no": 12345},
        "out_trade_no null": {**base, "out_trade_no": None},
        "out_trade_no missing": {k: v for k, v in base.items() if k != "out_trade_no"},
        "out_trade_no too long": {**base, "out_trade_no": trade_no + "x" * 32},
        "out_trade_no with a NUL": {**base, "out_trade_no": "LL\u0000"},
        "trade_state a list": {**base, "trade_state": ["SUCCESS"]},
        "mchid a number": {**base, "mchid": int(wx.MCHID)},
        "appid an object": {**base, "appid": {"id": wx.APPID}},
        "an infinite number anywhere": {**base, "promotion_detail": [{"amount": float("inf")}]},
        "resource a list": [base],
    }


async def test_wechat_pay_payment_notifications_with_wrong_field_types_are_4xx_and_change_nothing(
    ctx, world, keys, api, wx_client
):
    _, _, order, trade_no = await _started(ctx, world, api, wx_client)
    shapes = transaction_shapes(trade_no)
    now = ctx.clock.now()
    genuine = wx.payment_resource(out_trade_no=trade_no, total=PRICE_FEN)
    envelopes = {
        "id a number": signed(keys, at=now, resource=genuine, id=12345),
        "id an object": signed(keys, at=now, resource=genuine, id={"a": 1}),
        "id too long": signed(keys, at=now, resource=genuine, id="E" * 65),
        "event_type a list": signed(keys, at=now, resource=genuine, event_type=["TRANSACTION.SUCCESS"]),
    }
    before = await snapshot(ctx)
    for label, resource in shapes.items():
        response = await notify(wx_client, signed(keys, at=now, resource=resource))
        assert response.status_code == 422, (label, response.status_code, response.text)
        assert response.json() == {"code": "FAIL", "message": MALFORMED}, label
    for label, n in envelopes.items():
        response = await notify(wx_client, n)
        assert response.status_code == 422, (label, response.status_code, response.text)
        assert response.json()["code"] == "FAIL", label
    assert await snapshot(ctx) == before

    # The genuine one still pays: nothing malformed was recorded under its id or took the payment.
    assert (await notify(wx_client, paid_notification(keys, ctx, trade_no))).json()["code"] == "SUCCESS"
    [payment] = await rows(ctx, Payment)
    assert payment.status == "succeeded" and payment.amount_fen == PRICE_FEN


async def test_the_provider_names_the_malformed_fields(ctx, wechatpay, keys):
    from linli.errors import InvalidInput

    n = signed(keys, at=ctx.clock.now(), resource={**wx.payment_resource(out_trade_no="LLabc", total=PRICE_FEN),
                                                   "transaction_id": {"x": 1}})
    with pytest.raises(InvalidInput) as refused:
        wechatpay.parse_notification(headers=n.headers, body=n.body.encode(), now=ctx.clock.now())
    assert refused.value.code == "callback_malformed" and refused.value.status_code == 422
    assert refused.value.details == {"fields": ["transaction_id"]}


async def _pending_refund(ctx, world, api, wx_client, keys) -> tuple[str, Refund]:
    _, _, order, trade_no = await _started(ctx, world, api, wx_client)
    assert (await notify(wx_client, paid_notification(keys, ctx, trade_no))).json()["code"] == "SUCCESS"
    async with ctx.db.transaction() as s:
        [payment] = await rows(ctx, Payment)
        refund = await service.request_refund(
            session=s, payment=payment, amount_fen=PRICE_FEN, reason="测试退款", idempotency_key=f"test:{uuid.uuid4().hex}",
            now=ctx.clock.now(),
        )
    return trade_no, refund


async def test_wechat_pay_refund_notifications_with_wrong_field_types_are_4xx_and_change_nothing(
    ctx, world, keys, api, wx_client
):
    trade_no, refund = await _pending_refund(ctx, world, api, wx_client, keys)
    base = wx.refund_resource(
        out_trade_no=trade_no, out_refund_no=refund.out_refund_no, total=PRICE_FEN, refund=PRICE_FEN
    )
    shapes = {
        "out_refund_no a list": {**base, "out_refund_no": [refund.out_refund_no]},
        "out_refund_no an object": {**base, "out_refund_no": {"no": refund.out_refund_no}},
        "out_refund_no a number": {**base, "out_refund_no": 42},
        "out_refund_no missing": {k: v for k, v in base.items() if k != "out_refund_no"},
        "out_refund_no too long": {**base, "out_refund_no": "R" * 65},
        "out_trade_no a list": {**base, "out_trade_no": [trade_no]},
        "amount.refund 10**30": {**base, "amount": {**base["amount"], "refund": HUGE}},
        "amount.refund a string": {**base, "amount": {**base["amount"], "refund": "6800"}},
        "amount.total past int64": {**base, "amount": {**base["amount"], "total": INT64_OVER}},
        "amount a list": {**base, "amount": [PRICE_FEN]},
        "refund_status a number": {**base, "refund_status": 1},
    }
    before = await snapshot(ctx)
    for event in ("REFUND.SUCCESS", "REFUND.ABNORMAL"):
        for label, resource in shapes.items():
            n = signed(keys, at=ctx.clock.now(), resource=resource, event_type=event, original_type="refund")
            response = await notify(wx_client, n)
            assert response.status_code == 422, (event, label, response.status_code, response.text)
            assert response.json()["code"] == "FAIL", label
    assert await snapshot(ctx) == before
    assert (await rows(ctx, Refund))[0].status == "pending"

    done = signed(keys, at=ctx.clock.now(), resource=base, event_type="REFUND.SUCCESS", original_type="refund")
    assert (await notify(wx_client, done)).json()["code"] == "SUCCESS"
    assert (await rows(ctx, Refund))[0].status == "succeeded"


# --- the simulator ------------------------------------------------------------------------------------


async def test_simulator_notifications_with_wrong_field_types_are_422_and_change_nothing(ctx, world, shop, client, sim):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    trade_no = (await start(client, buyer, order.id)).json()["out_trade_no"]
    good = json.loads(sim.notification_body(
        event_type=PAYMENT_SUCCEEDED, out_trade_no=trade_no, amount_fen=PRICE_FEN, transaction_id="SIMT1",
        now=ctx.clock.now(),
    ))
    bodies: dict[str, bytes] = {
        label: json.dumps({**good, **change}).encode()
        for label, change in {
            "transaction_id an object": {"transaction_id": {"id": 1}},
            "transaction_id a number": {"transaction_id": 4200001234},
            "transaction_id a list": {"transaction_id": ["SIMT1"]},
            "transaction_id too long": {"transaction_id": "T" * 65},
            "amount_fen 10**30": {"amount_fen": HUGE},
            "amount_fen past int64": {"amount_fen": INT64_OVER},
            "amount_fen a boolean": {"amount_fen": True},
            "amount_fen a float": {"amount_fen": 68.5},
            "amount_fen a string": {"amount_fen": "6800"},
            "amount_fen zero": {"amount_fen": 0},
            "out_trade_no a list": {"out_trade_no": [trade_no]},
            "out_trade_no a number": {"out_trade_no": 7},
            "out_trade_no with a NUL": {"out_trade_no": "LL\u0000"},
            "id a number": {"id": 1},
            "id null": {"id": None},
            "event_type a list": {"event_type": [PAYMENT_SUCCEEDED]},
            "event_type unknown": {"event_type": "payment.maybe"},
        }.items()
    }
    infinite = json.dumps(good).replace(f'"amount_fen": {PRICE_FEN}', '"amount_fen": Infinity')
    bodies["amount_fen Infinity"] = infinite.encode()
    assert b"Infinity" in bodies["amount_fen Infinity"]
    bodies["a list"] = json.dumps([good]).encode()
    bodies["null"] = b"null"
    bodies["not JSON"] = b"{"
    before = await snapshot(ctx)
    for label, body in bodies.items():
        n = sim.signed(body, now=ctx.clock.now())
        response = await client.post("/api/v1/payments/simulator/notify", content=n.body, headers=n.headers)
        assert response.status_code == 422, (label, response.status_code, response.text)
        assert error_code(response) == "callback_malformed", label
    assert await snapshot(ctx) == before

    n = sim.signed(json.dumps(good).encode(), now=ctx.clock.now())
    response = await client.post("/api/v1/payments/simulator/notify", content=n.body, headers=n.headers)
    assert response.json() == {"outcome": "paid"}


# --- fuzzing ------------------------------------------------------------------------------------------

TRANSACTION_FIELDS = (
    "out_trade_no", "transaction_id", "trade_state", "mchid", "appid", "amount", "payer", "success_time",
)
AMOUNT_FIELDS = ("total", "payer_total", "currency")
REFUND_FIELDS = ("out_trade_no", "out_refund_no", "refund_status", "mchid", "amount")
REFUND_AMOUNT_FIELDS = ("refund", "total", "payer_refund")


@pytest.fixture
async def paid_with_refund(ctx, world, keys, api, wx_client) -> tuple[str, Refund]:
    """Set up once per fuzzing test (hypothesis runs every example against the same function-scoped fixtures)."""
    return await _pending_refund(ctx, world, api, wx_client, keys)


@pytest.fixture
async def started_trade_no(ctx, world, client) -> str:
    shop = await build_shop(ctx, world)
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    return (await start(client, buyer, order.id)).json()["out_trade_no"]


@FUZZING
@given(
    event=st.sampled_from(["TRANSACTION.SUCCESS", "REFUND.SUCCESS", "REFUND.CLOSED"]),
    changes=st.dictionaries(st.sampled_from(TRANSACTION_FIELDS + REFUND_FIELDS), json_values, max_size=3),
    amount_changes=st.dictionaries(st.sampled_from(AMOUNT_FIELDS + REFUND_AMOUNT_FIELDS), json_values, max_size=2),
    dropped=st.lists(st.sampled_from(TRANSACTION_FIELDS + REFUND_FIELDS), max_size=2),
)
async def test_fuzzed_wechat_pay_resources_never_answer_5xx(
    keys, wx_client, paid_with_refund, event, changes, amount_changes, dropped
):
    ctx = wx_client.ctx
    trade_no, refund = paid_with_refund
    if event == "TRANSACTION.SUCCESS":
        transaction_id = f"42{secrets.token_hex(8)}"
        resource = wx.payment_resource(out_trade_no=trade_no, total=PRICE_FEN, transaction_id=transaction_id)
        original_type = "transaction"
    else:
        resource = wx.refund_resource(
            out_trade_no=trade_no, out_refund_no=refund.out_refund_no, total=PRICE_FEN, refund=PRICE_FEN
        )
        original_type = "refund"
    resource.update(changes)
    if isinstance(resource.get("amount"), dict):
        resource["amount"] = {**resource["amount"], **amount_changes}
    for name in dropped:
        resource.pop(name, None)
    response = await notify(wx_client, signed(keys, at=ctx.clock.now(), resource=resource, event_type=event,
                                              original_type=original_type))
    assert response.status_code < 500, (resource, response.text)
    [payment] = await rows(ctx, Payment)
    assert payment.amount_fen == PRICE_FEN  # nothing malformed ever reached the payment


@FUZZING
@given(
    changes=st.dictionaries(
        st.sampled_from(["id", "event_type", "out_trade_no", "transaction_id", "amount_fen", "created_at"]), json_values,
        max_size=3,
    ),
)
async def test_fuzzed_simulator_notifications_never_answer_5xx(ctx, client, sim, started_trade_no, changes):
    body = json.loads(sim.notification_body(
        event_type=PAYMENT_SUCCEEDED, out_trade_no=started_trade_no, amount_fen=PRICE_FEN, transaction_id=None,
        now=ctx.clock.now(),
    ))
    body.update(changes)
    n = sim.signed(json.dumps(body).encode(), now=ctx.clock.now())
    response = await client.post("/api/v1/payments/simulator/notify", content=n.body, headers=n.headers)
    assert response.status_code < 500, (body, response.text)
