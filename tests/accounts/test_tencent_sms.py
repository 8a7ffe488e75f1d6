"""Login codes through Tencent Cloud SMS: the official SDK against a local stand-in that replays recorded answers.

The SDK is pointed at a small HTTP server on 127.0.0.1 (LINLI_SMS_TENCENT_ENDPOINT), so the real SDK builds,
signs and sends each request and parses each answer; nothing leaves the machine.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from linli.accounts.models import DevSmsMessage, SmsCode
from linli.accounts.sms import InboxSmsSender, sms_sender_for
from linli.accounts.tencent_sms import TencentSmsSender
from linli.app import create_app
from linli.config import Settings, SettingsError
from linli.context import AppContext
from tests.accounts.conftest import error_code, sms_login

RECORDED = Path(__file__).parent / "recorded"
PHONE = "13812341234"
SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLEKEY"
TENCENT = dict(
    sms_provider="tencent", sms_tencent_secret_id=SECRET_ID, sms_tencent_secret_key=SECRET_KEY,
    sms_tencent_sdk_app_id="1400006666", sms_tencent_sign_name="邻里优选", sms_tencent_template_id="449739",
    sms_tencent_region="ap-guangzhou",
)


def recorded(name: str) -> bytes:
    return (RECORDED / f"tencent_sendsms_{name}.json").read_bytes()


class TencentStandIn:
    """Answers every request with the current recorded answer (or holds it, to time the SDK out)."""

    def __init__(self) -> None:
        self.answer: tuple[int, bytes] = (200, recorded("ok"))
        self.hold = False
        self.released = threading.Event()
        self.requests: list[dict] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stand_in.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if stand_in.hold:
                    stand_in.released.wait()
                    return
                status, content = stand_in.answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tencent() -> Iterator[TencentStandIn]:
    stand_in = TencentStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
async def sms_client(ctx: AppContext, tencent: TencentStandIn) -> AsyncIterator[tuple[AppContext, httpx.AsyncClient]]:
    settings = ctx.settings.with_overrides(
        **TENCENT, sms_tencent_endpoint=tencent.endpoint, sms_tencent_timeout_seconds=0.5
    )
    changed = dataclasses.replace(ctx, settings=settings, sms_sender=sms_sender_for(settings))
    assert isinstance(changed.sms_sender, TencentSmsSender)
    app = create_app(changed, dispose_on_shutdown=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield changed, http


async def _stored_codes(ctx: AppContext) -> int:
    async with ctx.db.read() as s:
        return await s.scalar(select(func.count()).select_from(SmsCode))


async def _inbox(ctx: AppContext) -> int:
    async with ctx.db.read() as s:
        return await s.scalar(select(func.count()).select_from(DevSmsMessage))


async def test_a_login_code_is_sent_through_the_sdk_and_logs_in(sms_client, tencent):
    ctx, http = sms_client
    sent = await http.post("/api/v1/auth/sms-codes", json={"phone": PHONE})
    assert sent.status_code == 202, sent.text

    [request] = tencent.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    action = (headers["x-tc-action"], headers["x-tc-version"], headers["x-tc-region"])
    assert action == ("SendSms", "2021-01-11", "ap-guangzhou")
    assert headers["authorization"].startswith(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/")
    assert SECRET_KEY.encode() not in request["body"] and SECRET_KEY not in json.dumps(request["headers"])
    body = json.loads(request["body"])
    assert body["PhoneNumberSet"] == ["+86" + PHONE]
    assert (body["SmsSdkAppId"], body["SignName"], body["TemplateId"]) == ("1400006666", "邻里优选", "449739")
    code, minutes = body["TemplateParamSet"]
    assert len(code) == 6 and code.isdigit() and minutes == "5"

    assert await _inbox(ctx) == 0  # a real provider: nothing lands in the dev inbox
    logged_in = await sms_login(http, PHONE, code)
    assert logged_in.status_code == 200, logged_in.text


async def test_a_template_with_only_the_code(ctx, tencent):
    settings = Settings(**TENCENT, sms_tencent_endpoint=tencent.endpoint, sms_tencent_template_params="code")
    async with ctx.db.transaction() as s:
        await sms_sender_for(settings).send_login_code(
            session=s, phone=PHONE, code="012345", valid_minutes=5, now=ctx.clock.now()
        )
    assert json.loads(tencent.requests[0]["body"])["TemplateParamSet"] == ["012345"]


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        ("phone_daily_limit", 429, "sms_daily_limit"),
        ("phone_thirty_second_limit", 429, "sms_too_frequent"),
        ("incorrect_phone", 422, "phone_invalid"),
        ("phone_in_blacklist", 422, "sms_phone_blocked"),
        ("insufficient_balance", 503, "sms_unavailable"),
        ("empty_status_set", 503, "sms_unavailable"),  # an answer that says nothing was sent is not a success
    ],
)
async def test_a_per_number_failure_is_a_clear_refusal_and_stores_no_code(sms_client, tencent, answer, status, code):
    ctx, http = sms_client
    tencent.answer = (200, recorded(answer))
    refused = await http.post("/api/v1/auth/sms-codes", json={"phone": PHONE})
    assert (refused.status_code, error_code(refused)) == (status, code), refused.text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.json()["error"]["message"])  # a Chinese message
    assert await _stored_codes(ctx) == 0

    tencent.answer = (200, recorded("ok"))  # the refusal took no resend slot: a retry goes straight out
    again = await http.post("/api/v1/auth/sms-codes", json={"phone": PHONE})
    assert again.status_code == 202, again.text
    assert await _stored_codes(ctx) == 1


async def test_the_daily_limit_says_so_in_chinese(sms_client, tencent):
    _, http = sms_client
    tencent.answer = (200, recorded("phone_daily_limit"))
    refused = await http.post("/api/v1/auth/sms-codes", json={"phone": PHONE})
    assert refused.json()["error"]["message"] == "该手机号今日接收短信已达上限，请明天再试"
    assert refused.json()["error"]["details"]["provider_code"] == "LimitExceeded.PhoneNumberDailyLimit"


@pytest.mark.parametrize(
    ("answer", "provider_code"),
    [
        ((200, recorded("auth_failure")), "AuthFailure.SignatureFailure"),
        ((200, recorded("template_unapproved")), "FailedOperation.TemplateIncorrectOrUnapproved"),
        ((502, b"<html>502 Bad Gateway</html>"), "ServerNetworkError"),
        ((200, b"not json"), "JSONDecodeError"),
    ],
)
async def test_an_sdk_exception_is_a_503_and_stores_no_code(sms_client, tencent, answer, provider_code):
    ctx, http = sms_client
    tencent.answer = answer
    refused = await http.post("/api/v1/auth/sms-codes", json={"phone": PHONE})
    assert (refused.status_code, error_code(refused)) == (503, "sms_unavailable"), refused.text
    assert refused.json()["error"]["message"] == "短信服务暂时不可用，请稍后再试"
    assert refused.json()["error"]["details"]["provider_code"] == provider_code
    assert await _stored_codes(ctx) == 0


async def test_a_timeout_is_a_503_and_stores_no_code(sms_client, tencent):
    ctx, http = sms_client
    tencent.hold = True  # the stand-in never answers; the SDK gives up after its timeout
    refused = await http.post("/api/v1/auth/sms-codes", json={"phone": PHONE})
    assert (refused.status_code, error_code(refused)) == (503, "sms_unavailable"), refused.text
    assert refused.json()["error"]["details"] == {"provider_code": "ClientNetworkError", "reason": "timeout"}
    assert len(tencent.requests) == 1 and await _stored_codes(ctx) == 0


def test_the_provider_is_chosen_by_configuration():
    assert isinstance(sms_sender_for(Settings()), InboxSmsSender)
    assert isinstance(sms_sender_for(Settings(**TENCENT)), TencentSmsSender)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        (
            dict(sms_tencent_secret_key="", sms_tencent_template_id=""),
            "LINLI_SMS_TENCENT_SECRET_KEY、LINLI_SMS_TENCENT_TEMPLATE_ID",
        ),
        (dict(sms_provider="aliyun"), "LINLI_SMS_PROVIDER"),
        (dict(sms_tencent_template_params="minutes"), "LINLI_SMS_TENCENT_TEMPLATE_PARAMS"),
        (dict(sms_tencent_timeout_seconds=0), "LINLI_SMS_TENCENT_TIMEOUT_SECONDS"),
    ],
)
def test_a_misconfigured_provider_is_refused_with_one_message(changes, named):
    with pytest.raises(SettingsError) as refused:
        Settings(**{**TENCENT, **changes})
    assert named in str(refused.value) and "\n" not in str(refused.value)


def test_the_command_line_refuses_to_start_with_one_line(monkeypatch, tmp_path):
    from linli.cli import app

    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LINLI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/linli.db")
    monkeypatch.setenv("LINLI_SMS_PROVIDER", "tencent")
    monkeypatch.setenv("LINLI_SMS_TENCENT_SECRET_ID", SECRET_ID)
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "LINLI_SMS_TENCENT_SECRET_KEY" in line and "LINLI_SMS_TENCENT_SECRET_ID" not in line
    assert not (tmp_path / "linli.db").exists()  # refused before touching anything
