"""WeChat Pay transfers (商家转账到零钱) through the wechatpayv3 SDK, offline: keys generated, the SDK's
`requests` replaced by the signing fake of tests/payments, notifications built as WeChat builds them."""

from __future__ import annotations

import base64
import dataclasses
from datetime import timedelta

import httpx
import pytest
import wechatpayv3.core
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from linli.accounts.models import User
from linli.app import create_app
from linli.outbox.models import OutboxEvent
from linli.payouts import service
from linli.payouts.providers import FAILED, PENDING, Payee, TransferRequest
from linli.payouts.wechat import WeChatTransferProvider
from linli.worker import run_until_idle
from tests.ledger.helpers import assert_audit_ok, balances
from tests.payments import wechat_fakes as wx
from tests.payments.conftest import rows
from tests.payouts.conftest import ask, earn, snapshot, withdrawal

BATCHES = ("POST", "/v3/transfer/batches")


def detail_path(withdrawal_id: int) -> tuple[str, str]:
    return ("GET", f"/v3/transfer/batches/out-batch-no/LLWB{withdrawal_id:010d}/details/out-detail-no/LLWD{withdrawal_id:010d}")


@pytest.fixture(scope="module")
def keys() -> wx.Keys:
    return wx.Keys()


@pytest.fixture
def api(keys, monkeypatch) -> wx.FakeWeChatApi:
    fake = wx.FakeWeChatApi(keys)
    monkeypatch.setattr(wechatpayv3.core, "requests", fake)
    return fake


@pytest.fixture
def provider(keys, api) -> WeChatTransferProvider:
    return WeChatTransferProvider(keys.config(notify_url="https://linli.example.com/api/v1/payouts/wechatpay/notify"))


@pytest.fixture
def wx_ctx(ctx, provider):
    """The same database and clock, paying out through WeChat Pay."""
    return dataclasses.replace(
        ctx, settings=ctx.settings.with_overrides(payout_default_provider="wechatpay"),
        payouts={**ctx.payouts, "wechatpay": provider},
    )


@pytest.fixture
async def wx_client(wx_ctx):
    app = create_app(wx_ctx, dispose_on_shutdown=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


async def with_openid(ctx, stage, openid: str | None = wx.OPENID) -> None:
    async with ctx.db.transaction() as s:
        (await s.get(User, stage.leader.actor.user_id)).wechat_openid = openid


async def approved(wx_ctx, wx_client, world, stage, amount: int = 5_000) -> int:
    await earn(wx_ctx, world, stage)
    w = (await ask(wx_client, stage, stage.leader.actor, amount)).json()
    r = await wx_client.post(f"/api/v1/brands/{stage.brand_id}/withdrawals/{w['id']}/approve", headers=stage.owner.headers)
    assert r.status_code == 200 and r.json()["provider"] == "wechatpay"
    return w["id"]


def finished(keys, ctx, withdrawal_id: int, *, success: bool = True, **overrides) -> wx.WeChatNotification:
    resource = {
        "mchid": wx.MCHID, "out_batch_no": f"LLWB{withdrawal_id:010d}", "batch_id": "131000007026709999520922023081519403795655",
        "batch_status": "FINISHED", "total_num": 1, "total_amount": 5_000, "success_amount": 5_000 if success else 0,
        "success_num": 1 if success else 0, "fail_amount": 0 if success else 5_000, "fail_num": 0 if success else 1,
        "update_time": "2026-11-22T10:00:00+08:00",
    }
    return wx.notification(keys, event_type="MCHTRANSFER.BATCH.FINISHED", resource=resource, at=ctx.clock.now(),
                           original_type="mch_payment", **overrides)


async def test_transfer_then_the_signed_batch_notification_pays(wx_ctx, wx_client, world, stage, keys, api):
    await with_openid(wx_ctx, stage)
    withdrawal_id = await approved(wx_ctx, wx_client, world, stage)
    api.answer(*BATCHES, 200, {"out_batch_no": f"LLWB{withdrawal_id:010d}", "batch_id": "1030000071100999991182020050700019480001",
                               "create_time": "2026-11-22T10:00:00+08:00", "batch_status": "ACCEPTED"})
    await run_until_idle(wx_ctx)
    row = await withdrawal(wx_ctx, withdrawal_id)
    assert (row.status, row.provider_state, row.provider_reference) == ("approved", "ACCEPTED", "1030000071100999991182020050700019480001")
    [call] = api.calls
    assert call.body["out_batch_no"] == row.out_batch_no and call.body["total_amount"] == 5_000 and call.body["total_num"] == 1
    assert call.body["notify_url"].endswith("/api/v1/payouts/wechatpay/notify") and call.body["appid"] == wx.APPID
    [detail] = call.body["transfer_detail_list"]
    assert detail == {"out_detail_no": row.out_detail_no, "transfer_amount": 5_000, "transfer_remark": "团长佣金提现", "openid": wx.OPENID}

    forged = finished(keys, wx_ctx, withdrawal_id, signing_key=wx.new_key())
    before = await snapshot(wx_ctx)
    r = await wx_client.post("/api/v1/payouts/wechatpay/notify", content=forged.body.encode(), headers=forged.headers)
    assert r.status_code == 401 and r.json()["code"] == "FAIL"
    assert await snapshot(wx_ctx) == before

    n = finished(keys, wx_ctx, withdrawal_id)
    for _ in range(2):  # WeChat retries the same notification: applied once
        r = await wx_client.post("/api/v1/payouts/wechatpay/notify", content=n.body.encode(), headers=n.headers)
        assert r.status_code == 200 and r.json()["code"] == "SUCCESS"
    assert (await withdrawal(wx_ctx, withdrawal_id)).status == "paid"
    assert (await balances(wx_ctx, stage)).withdrawing_fen == 0
    await assert_audit_ok(wx_ctx)


async def test_a_failed_batch_releases_the_amount(wx_ctx, wx_client, world, stage, keys, api):
    await with_openid(wx_ctx, stage)
    withdrawal_id = await approved(wx_ctx, wx_client, world, stage)
    api.answer(*BATCHES, 200, {"out_batch_no": f"LLWB{withdrawal_id:010d}", "batch_id": "1", "batch_status": "ACCEPTED"})
    await run_until_idle(wx_ctx)
    n = finished(keys, wx_ctx, withdrawal_id, success=False)
    r = await wx_client.post("/api/v1/payouts/wechatpay/notify", content=n.body.encode(), headers=n.headers)
    assert r.status_code == 200
    row = await withdrawal(wx_ctx, withdrawal_id)
    assert (row.status, row.failure_reason) == ("failed", "微信支付转账失败")
    assert (await balances(wx_ctx, stage)).available_fen == 10_200
    await assert_audit_ok(wx_ctx)


async def test_a_transient_error_is_retried_with_the_same_numbers_and_a_query_settles_it(wx_ctx, wx_client, world, stage, api):
    await with_openid(wx_ctx, stage)
    withdrawal_id = await approved(wx_ctx, wx_client, world, stage)
    api.answer(*BATCHES, 500, {"code": "SYSTEM_ERROR", "message": "系统繁忙"})
    api.answer(*BATCHES, 200, {"out_batch_no": f"LLWB{withdrawal_id:010d}", "batch_id": "1", "batch_status": "ACCEPTED"})
    await run_until_idle(wx_ctx)
    [event] = await rows(wx_ctx, OutboxEvent, OutboxEvent.topic == "withdrawal.approved")
    assert event.attempts == 1 and event.processed_at is None and "PayoutProviderUnavailable" in event.last_error
    wx_ctx.clock.advance(timedelta(seconds=5))
    await run_until_idle(wx_ctx)
    assert [c.body["out_batch_no"] for c in api.calls] == [f"LLWB{withdrawal_id:010d}"] * 2
    # The notification never came: the sync asks WeChat about the detail.
    api.answer(*detail_path(withdrawal_id), 200, {"out_detail_no": f"LLWD{withdrawal_id:010d}", "detail_id": "104000007",
                                                  "detail_status": "SUCCESS", "transfer_amount": 5_000})
    report = await service.sync_approved(db=wx_ctx.db, providers=wx_ctx.payouts, as_of=wx_ctx.clock.now(), now=wx_ctx.clock.now())
    assert report.outcomes == {"paid": 1}
    assert (await withdrawal(wx_ctx, withdrawal_id)).status == "paid"
    await assert_audit_ok(wx_ctx)


async def test_a_refused_transfer_fails_unless_wechat_already_has_it(provider, api):
    request = TransferRequest(out_batch_no="LLWB0000000007", out_detail_no="LLWD0000000007", amount_fen=5_000,
                              remark="团长佣金提现", payee=Payee(leader_id=1, real_name="李明", openid=wx.OPENID))
    path = ("GET", "/v3/transfer/batches/out-batch-no/LLWB0000000007/details/out-detail-no/LLWD0000000007")
    api.answer(*BATCHES, 400, {"code": "PARAM_ERROR", "message": "openid 与 appid 不匹配"})
    api.answer(*path, 404, {"code": "NOT_FOUND", "message": "记录不存在"})
    result = await provider.transfer(request)
    assert (result.status, result.reason) == (FAILED, "微信支付拒绝转账：openid 与 appid 不匹配")
    api.answers.clear()
    api.answer(*BATCHES, 400, {"code": "INVALID_REQUEST", "message": "批次号已存在"})
    api.answer(*path, 200, {"detail_status": "PROCESSING", "detail_id": "1040"})
    assert (await provider.transfer(request)).status == PENDING


async def test_no_openid_fails_without_calling_wechat_and_a_large_transfer_sends_the_encrypted_name(provider, api, keys):
    nobody = TransferRequest(out_batch_no="LLWB0000000008", out_detail_no="LLWD0000000008", amount_fen=5_000,
                             remark="团长佣金提现", payee=Payee(leader_id=1, real_name="李明", openid=None))
    result = await provider.transfer(nobody)
    assert result.status == FAILED and "微信" in result.reason and api.calls == []
    large = dataclasses.replace(nobody, amount_fen=250_000, payee=Payee(leader_id=1, real_name="李明", openid=wx.OPENID))
    api.answer(*BATCHES, 200, {"out_batch_no": "LLWB0000000008", "batch_id": "2", "batch_status": "ACCEPTED"})
    assert (await provider.transfer(large)).status == PENDING
    [call] = api.calls
    cipher = call.body["transfer_detail_list"][0]["user_name"]
    plain = keys.platform.decrypt(base64.b64decode(cipher), padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    assert plain.decode() == "李明" and call.headers["Wechatpay-Serial"] == wx.PUBLIC_KEY_ID


async def test_a_payment_notification_is_not_a_transfer(wx_ctx, wx_client, keys):
    n = wx.notification(keys, event_type="TRANSACTION.SUCCESS", resource=wx.payment_resource(out_trade_no="LLx", total=1),
                        at=wx_ctx.clock.now())
    r = await wx_client.post("/api/v1/payouts/wechatpay/notify", content=n.body.encode(), headers=n.headers)
    assert r.status_code == 401
