"""WeChat Pay v3 through the wechatpayv3 SDK, offline: JSAPI prepay, verified and decrypted notifications, refunds."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import httpx
import pytest
import wechatpayv3.core

from linli.accounts.models import User
from linli.app import create_app
from linli.payments.models import Payment, PaymentCallback, Refund
from linli.payments.providers import CallbackSignatureInvalid, PaymentProviderUnavailable
from linli.payments.wechatpay import WeChatPayConfig, WeChatPayProvider
from linli.worker import run_until_idle
from tests.payments import wechat_fakes as wx
from tests.payments.conftest import (
    PRICE_FEN,
    build_shop,
    error_code,
    member,
    order_of,
    place,
    rows,
    snapshot,
    start,
    topics,
)

PREPAY = ("POST", "/v3/pay/transactions/jsapi")
REFUND = ("POST", "/v3/refund/domestic/refunds")


@pytest.fixture(scope="module")
def keys() -> wx.Keys:
    return wx.Keys()


@pytest.fixture
def api(keys, monkeypatch) -> wx.FakeWeChatApi:
    fake = wx.FakeWeChatApi(keys)
    monkeypatch.setattr(wechatpayv3.core, "requests", fake)
    return fake


@pytest.fixture
def wechatpay(keys, api) -> WeChatPayProvider:
    return WeChatPayProvider(keys.config())


@pytest.fixture
async def wx_client(ctx, wechatpay):
    """A client over an app that offers WeChat Pay next to the simulator (same database and clock)."""
    changed = dataclasses.replace(ctx, payments={**ctx.payments, "wechatpay": wechatpay})
    app = create_app(changed, dispose_on_shutdown=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        http.ctx = changed  # type: ignore[attr-defined]
        yield http


async def wechat_member(ctx, world, shop, openid: str = wx.OPENID):
    actor = await member(ctx, world, shop)
    async with ctx.db.transaction() as s:
        (await s.get(User, actor.user_id)).wechat_openid = openid
    return actor


async def notify(http: httpx.AsyncClient, n: wx.WeChatNotification) -> httpx.Response:
    return await http.post("/api/v1/payments/wechatpay/notify", content=n.body.encode(), headers=n.headers)


def paid_notification(keys, ctx, out_trade_no: str, total: int = PRICE_FEN, **overrides) -> wx.WeChatNotification:
    resource_changes = overrides.pop("resource", {})
    return wx.notification(
        keys, event_type="TRANSACTION.SUCCESS",
        resource=wx.payment_resource(out_trade_no=out_trade_no, total=total, **resource_changes),
        at=overrides.pop("at", ctx.clock.now()), **overrides,
    )


# --- construction -----------------------------------------------------------------------------------


def test_construction_makes_no_network_call_in_either_mode(keys, api, tmp_path):
    WeChatPayProvider(keys.config())
    cert_dir = tmp_path / "certs"
    cert_dir.mkdir()
    (cert_dir / f"{wx.PLATFORM_CERT_SERIAL:X}.pem").write_text(wx.platform_certificate(keys.platform))
    WeChatPayProvider(keys.config(public_key=None, public_key_id=None, cert_dir=str(cert_dir)))
    assert api.calls == []
    with pytest.raises(ValueError, match="no platform certificates"):
        WeChatPayProvider(keys.config(public_key=None, public_key_id=None, cert_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="32 bytes"):
        WeChatPayProvider(keys.config(apiv3_key="short"))
    with pytest.raises(ValueError, match="missing"):
        WeChatPayProvider(keys.config(mchid=""))
    assert "PRIVATE" not in repr(keys.config())


def test_a_certificate_mode_provider_verifies_with_the_certificate(keys, api, tmp_path, clock):
    cert_dir = tmp_path / "certs"
    cert_dir.mkdir()
    serial = f"{wx.PLATFORM_CERT_SERIAL:X}"
    (cert_dir / f"{serial}.pem").write_text(wx.platform_certificate(keys.platform))
    provider = WeChatPayProvider(keys.config(public_key=None, public_key_id=None, cert_dir=str(cert_dir)))
    n = wx.notification(
        keys, event_type="TRANSACTION.SUCCESS", resource=wx.payment_resource(out_trade_no="LLabc", total=100),
        at=clock.now(), serial=serial,
    )
    note = provider.parse_notification(headers=n.headers, body=n.body.encode(), now=clock.now())
    assert (note.event_type, note.out_trade_no, note.amount_fen) == ("payment.succeeded", "LLabc", 100)
    unknown = wx.notification(
        keys, event_type="TRANSACTION.SUCCESS", resource=wx.payment_resource(out_trade_no="LLabc", total=100),
        at=clock.now(), serial="ABCDEF0123",
    )
    with pytest.raises(CallbackSignatureInvalid):
        provider.parse_notification(headers=unknown.headers, body=unknown.body.encode(), now=clock.now())
    assert api.calls == []  # an unknown serial never makes the SDK download certificates


# --- prepay -----------------------------------------------------------------------------------------


async def test_jsapi_prepay_returns_signed_request_payment_params(ctx, world, keys, api, wx_client):
    shop = await build_shop(ctx, world)
    buyer = await wechat_member(ctx, world, shop)
    order = await place(ctx, shop, buyer, quantity=2)
    api.answer(*PREPAY, 200, wx.recorded("jsapi_prepay_ok"))

    started = await start(wx_client, buyer, order.id, provider="wechatpay")
    assert started.status_code == 201, started.text
    params = started.json()["prepay"]
    assert params["appId"] == wx.APPID and params["signType"] == "RSA"
    assert params["package"] == "prepay_id=wx201410272009395522657a690389285100"
    message = f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    assert wx.rsa_verify(keys.merchant, message, params["paySign"])

    [call] = api.calls
    assert call.body["payer"] == {"openid": wx.OPENID}
    assert call.body["amount"] == {"total": 2 * PRICE_FEN, "currency": "CNY"}
    assert call.body["out_trade_no"] == started.json()["out_trade_no"] and call.body["mchid"] == wx.MCHID
    assert call.body["notify_url"].endswith("/api/v1/payments/wechatpay/notify")
    assert call.body["time_expire"] == "2026-11-20T10:10:00+08:00"  # the order's expiry, China time
    assert call.body["description"] == "黄金奶油草莓 3斤装 ×2"

    again = await start(wx_client, buyer, order.id, provider="wechatpay")
    assert again.status_code == 200 and again.json()["prepay"] == params and len(api.calls) == 1


async def test_a_refused_prepay_is_502_and_the_next_attempt_asks_again(ctx, world, api, wx_client):
    shop = await build_shop(ctx, world)
    buyer = await wechat_member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    api.answer(*PREPAY, 400, wx.recorded("jsapi_prepay_param_error"))
    api.answer(*PREPAY, 200, wx.recorded("jsapi_prepay_ok"))
    refused = await start(wx_client, buyer, order.id, provider="wechatpay")
    assert refused.status_code == 502 and error_code(refused) == "payment_provider_unavailable"
    assert refused.json()["error"]["details"]["code"] == "PARAM_ERROR"
    retried = await start(wx_client, buyer, order.id, provider="wechatpay")
    assert retried.status_code == 200 and retried.json()["prepay"]["package"].startswith("prepay_id=")
    assert len(await rows(ctx, Payment)) == 1


async def test_wechat_pay_needs_a_wechat_login(ctx, world, api, wx_client):
    shop = await build_shop(ctx, world)
    buyer = await member(ctx, world, shop)  # logged in by phone: no openid
    order = await place(ctx, shop, buyer)
    response = await start(wx_client, buyer, order.id, provider="wechatpay")
    assert response.status_code == 409 and error_code(response) == "wechat_login_required"
    assert api.calls == [] and await rows(ctx, Payment) == []


# --- notifications ----------------------------------------------------------------------------------


async def _started(ctx, world, api, wx_client, shop=None):
    shop = shop or await build_shop(ctx, world)
    buyer = await wechat_member(ctx, world, shop, openid=f"o{buyer_suffix()}")
    order = await place(ctx, shop, buyer)
    api.answer(*PREPAY, 200, wx.recorded("jsapi_prepay_ok"))
    started = await start(wx_client, buyer, order.id, provider="wechatpay")
    assert started.status_code == 201, started.text
    return shop, buyer, order, started.json()["out_trade_no"]


_suffix = iter(range(10_000))


def buyer_suffix() -> str:
    return f"penid-{next(_suffix)}"


async def test_a_genuine_notification_pays_once(ctx, world, keys, api, wx_client):
    _, _, order, trade_no = await _started(ctx, world, api, wx_client)
    n = paid_notification(keys, ctx, trade_no)
    first = await notify(wx_client, n)
    assert first.status_code == 200 and first.json() == {"code": "SUCCESS", "message": "成功"}
    assert (await order_of(ctx, order.id)).status == "paid"
    [payment] = await rows(ctx, Payment)
    assert payment.status == "succeeded" and payment.provider_transaction_id == "4200001234202611200000000001"
    [callback] = await rows(ctx, PaymentCallback)
    assert callback.outcome == "paid" and callback.payload["resource"]["payer"]["openid"] == wx.OPENID

    # WeChat retries (the same id, signed again): acknowledged, nothing applied twice.
    retry = wx.WeChatNotification(wx.signed_headers(keys.platform, n.body, at=ctx.clock.now()), n.body)
    assert (await notify(wx_client, retry)).json()["code"] == "SUCCESS"
    assert len(await rows(ctx, PaymentCallback)) == 1 and len(await topics(ctx, "order.paid")) == 1


async def test_forged_notifications_are_refused_with_fail(ctx, world, keys, api, wx_client):
    _, _, order, trade_no = await _started(ctx, world, api, wx_client)
    genuine = paid_notification(keys, ctx, trade_no)
    envelope = json.loads(genuine.body)
    envelope["event_type"] = "REFUND.SUCCESS"
    tampered = wx.WeChatNotification(genuine.headers, json.dumps(envelope, ensure_ascii=False))
    other_mchid = paid_notification(keys, ctx, trade_no, resource={"mchid": "1900000001"})
    forgeries = {
        "signed by another key": paid_notification(keys, ctx, trade_no, signing_key=wx.new_key()),
        "tampered body": tampered,
        "unknown serial": paid_notification(keys, ctx, trade_no, serial="PUB_KEY_ID_0000"),
        "stale": paid_notification(keys, ctx, trade_no, at=ctx.clock.now() - timedelta(minutes=6)),
        "wrong APIv3 key": paid_notification(keys, ctx, trade_no, apiv3_key="0" * 32),
        "other merchant": other_mchid,
        "other algorithm": wx.WeChatNotification(
            {**genuine.headers, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}, genuine.body
        ),
        "no signature": wx.WeChatNotification(
            {k: v for k, v in genuine.headers.items() if k != "Wechatpay-Signature"}, genuine.body
        ),
        "garbage signature": wx.WeChatNotification({**genuine.headers, "Wechatpay-Signature": "%%%"}, genuine.body),
    }
    before = await snapshot(ctx)
    for label, forged in forgeries.items():
        response = await notify(wx_client, forged)
        assert response.status_code == 401, (label, response.text)
        assert response.json()["code"] == "FAIL", label
    assert await snapshot(ctx) == before
    assert [c.path for c in api.calls] == ["/v3/pay/transactions/jsapi"]  # nothing downloaded on the way
    assert (await notify(wx_client, genuine)).json()["code"] == "SUCCESS"
    assert (await order_of(ctx, order.id)).status == "paid"


async def test_a_notification_for_an_unknown_trade_is_a_404_fail(ctx, world, keys, api, wx_client):
    before = await snapshot(ctx)
    response = await notify(wx_client, paid_notification(keys, ctx, "LLunknown"))
    assert response.status_code == 404 and response.json()["code"] == "FAIL"
    assert await snapshot(ctx) == before


async def test_an_unsupported_event_is_acknowledged_and_ignored(ctx, world, keys, api, wx_client):
    _, _, order, trade_no = await _started(ctx, world, api, wx_client)
    n = wx.notification(
        keys, event_type="TRANSACTION.CLOSED", resource=wx.payment_resource(out_trade_no=trade_no, total=PRICE_FEN),
        at=ctx.clock.now(),
    )
    response = await notify(wx_client, n)
    assert response.status_code == 200 and response.json()["code"] == "SUCCESS"
    assert await rows(ctx, PaymentCallback) == [] and (await order_of(ctx, order.id)).status == "pending_payment"


# --- refunds ----------------------------------------------------------------------------------------


async def test_late_payment_refund_through_wechat_pay(ctx, world, keys, api, wx_client):
    shop = await build_shop(ctx, world, allocation=1)
    _, _, order, trade_no = await _started(ctx, world, api, wx_client, shop=shop)
    ctx.clock.advance(timedelta(minutes=11))
    await run_until_idle(ctx)
    rival = await member(ctx, world, shop, bound=False)
    await place(ctx, shop, rival)  # takes the only unit while the first buyer is still on the pay sheet

    result = await notify(wx_client, paid_notification(keys, ctx, trade_no, resource={"transaction_id": "4200000000000000000000000002"}))
    assert result.json()["code"] == "SUCCESS"
    assert (await order_of(ctx, order.id)).status == "expired"
    [refund] = await rows(ctx, Refund)
    assert refund.status == "pending"

    api.answer(*REFUND, 200, wx.recorded("refund_processing"))
    await run_until_idle(wx_client.ctx)
    [call] = [c for c in api.calls if c.path == REFUND[1]]
    assert call.body["out_refund_no"] == refund.out_refund_no
    assert call.body["amount"] == {"refund": PRICE_FEN, "total": PRICE_FEN, "currency": "CNY"}
    assert call.body["transaction_id"] == "4200000000000000000000000002"
    assert (await rows(ctx, Refund))[0].status == "pending"  # WeChat is processing: its notification finishes it

    done = wx.notification(
        keys, event_type="REFUND.SUCCESS", original_type="refund", at=ctx.clock.now(),
        resource=wx.refund_resource(out_trade_no=trade_no, out_refund_no=refund.out_refund_no, total=PRICE_FEN, refund=PRICE_FEN),
    )
    assert (await notify(wx_client, done)).json()["code"] == "SUCCESS"
    assert (await notify(wx_client, done)).json()["code"] == "SUCCESS"
    [refund] = await rows(ctx, Refund)
    assert refund.status == "succeeded"
    assert [c.outcome for c in await rows(ctx, PaymentCallback)] == ["refunding_late_payment", "refund_succeeded"]
    assert len(await topics(ctx, "payment.refunded")) == 1
    await run_until_idle(wx_client.ctx)
    assert len([c for c in api.calls if c.path == REFUND[1]]) == 1

    # A refund notification naming a refund linli never asked for: 404 FAIL, nothing written.
    stray = wx.notification(
        keys, event_type="REFUND.SUCCESS", original_type="refund", at=ctx.clock.now(),
        resource=wx.refund_resource(out_trade_no=trade_no, out_refund_no="RFunknown", total=PRICE_FEN, refund=1),
    )
    assert (await notify(wx_client, stray)).status_code == 404


async def test_refund_answers(keys, api):
    provider = WeChatPayProvider(keys.config())
    payment = Payment(out_trade_no="LLx", amount_fen=6800, provider="wechatpay", provider_transaction_id="42000")
    refund = Refund(out_refund_no="RFx", amount_fen=100, reason="坏果包赔")

    api.answer(*REFUND, 200, {**wx.recorded("refund_processing"), "status": "SUCCESS"})
    assert await provider.refund(refund=refund, payment=payment) == "succeeded"
    api.answers.clear()
    api.answer(*REFUND, 500, wx.recorded("refund_system_error"))
    with pytest.raises(PaymentProviderUnavailable):
        await provider.refund(refund=refund, payment=payment)  # retried later with the same out_refund_no
    api.answers.clear()
    api.answer(*REFUND, 403, {"code": "NOT_ENOUGH", "message": "基本账户余额不足"})
    with pytest.raises(PaymentProviderUnavailable):
        await provider.refund(refund=refund, payment=payment)
    api.answers.clear()
    api.answer(*REFUND, 400, wx.recorded("refund_invalid_request"))
    assert await provider.refund(refund=refund, payment=payment) == "failed"


async def test_an_unverifiable_answer_is_unavailable(keys, api, monkeypatch):
    provider = WeChatPayProvider(keys.config())
    forged = wx.FakeWeChatApi(dataclasses.replace(keys, platform=wx.new_key()))  # answers signed by someone else
    monkeypatch.setattr(wechatpayv3.core, "requests", forged)
    forged.answer(*REFUND, 200, wx.recorded("refund_processing"))
    payment = Payment(out_trade_no="LLx", amount_fen=6800, provider="wechatpay", provider_transaction_id="42000")
    with pytest.raises(PaymentProviderUnavailable):
        await provider.refund(refund=Refund(out_refund_no="RFx", amount_fen=1, reason="x"), payment=payment)


def test_config_from_settings_reads_key_files(keys, api, tmp_path):
    from linli.config import Settings
    from linli.payments.providers import build_providers

    (tmp_path / "apiclient_key.pem").write_text(wx.private_pem(keys.merchant))
    (tmp_path / "pub_key.pem").write_text(wx.public_pem(keys.platform))
    settings = Settings(
        secret_key="s", wechat_appid=wx.APPID, wechatpay_mchid=wx.MCHID, wechatpay_cert_serial_no=wx.MERCHANT_SERIAL,
        wechatpay_private_key_path=str(tmp_path / "apiclient_key.pem"), wechatpay_apiv3_key=keys.apiv3_key,
        wechatpay_public_key_path=str(tmp_path / "pub_key.pem"), wechatpay_public_key_id=wx.PUBLIC_KEY_ID,
        public_base_url="https://linli.example.com", payment_simulator_enabled=True,
    )
    providers = build_providers(settings)
    assert sorted(providers) == ["simulator", "wechatpay"]
    config: WeChatPayConfig = providers["wechatpay"].config  # type: ignore[attr-defined]
    assert config.appid == wx.APPID and config.notify_url == "https://linli.example.com/api/v1/payments/wechatpay/notify"
    with pytest.raises(ValueError, match="DEFAULT_PROVIDER"):
        build_providers(settings.with_overrides(payment_simulator_enabled=False))
    assert sorted(build_providers(settings.with_overrides(payment_simulator_enabled=False, payment_default_provider="wechatpay"))) == ["wechatpay"]
    assert api.calls == []
