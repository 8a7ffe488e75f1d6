"""WeChat mini-program login: HttpWeChatClient replayed offline against recorded jscode2session answers."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from linli.accounts import service as accounts
from linli.accounts.models import User
from linli.accounts.wechat import (
    CODE2SESSION_URL,
    HttpWeChatClient,
    SimulatedWeChatClient,
    WeChatUnavailable,
    wechat_client_for,
)
from linli.config import Settings
from linli.errors import Forbidden, InvalidInput
from tests.accounts.conftest import bearer, error_code

RECORDED = Path(__file__).parent / "recorded"
APPID = "wx1234567890abcdef"
SECRET = "0123456789abcdef0123456789abcdef"


def recorded(name: str) -> bytes:
    return (RECORDED / f"jscode2session_{name}.json").read_bytes()


class Replay:
    """A MockTransport handler answering every request with one recorded body, remembering the requests."""

    def __init__(self, body: bytes, *, status_code: int = 200) -> None:
        self.body = body
        self.status_code = status_code
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        # WeChat answers jscode2session with Content-Type text/plain, not application/json.
        return httpx.Response(self.status_code, content=self.body, headers={"Content-Type": "text/plain"})

    def client(self) -> HttpWeChatClient:
        return HttpWeChatClient(appid=APPID, secret=SECRET, transport=httpx.MockTransport(self))


async def test_success_is_parsed_and_the_request_is_well_formed():
    replay = Replay(recorded("ok"))
    identity = await replay.client().code2session("081abcDEFghi")
    answer = json.loads(recorded("ok"))
    assert identity.openid == answer["openid"]
    assert identity.unionid == answer["unionid"]
    assert not hasattr(identity, "session_key")

    [request] = replay.requests
    assert request.method == "GET"
    assert str(request.url.copy_with(query=None)) == CODE2SESSION_URL
    assert dict(request.url.params) == {
        "appid": APPID, "secret": SECRET, "js_code": "081abcDEFghi", "grant_type": "authorization_code",
    }


async def test_success_without_unionid():
    identity = await Replay(recorded("ok_no_unionid")).client().code2session("081x")
    assert identity.openid == json.loads(recorded("ok_no_unionid"))["openid"]
    assert identity.unionid is None


@pytest.mark.parametrize("name", ["invalid_code", "code_been_used"])
async def test_bad_codes_are_invalid_input(name):
    with pytest.raises(InvalidInput) as caught:
        await Replay(recorded(name)).client().code2session("081x")
    assert caught.value.code == "wechat_code_invalid"
    assert caught.value.status_code == 422


async def test_risk_blocked_user_is_forbidden():
    with pytest.raises(Forbidden) as caught:
        await Replay(recorded("high_risk")).client().code2session("081x")
    assert caught.value.code == "wechat_login_refused"


@pytest.mark.parametrize("name", ["minute_quota", "system_error"])
async def test_quota_and_system_errors_are_unavailable(name):
    with pytest.raises(WeChatUnavailable) as caught:
        await Replay(recorded(name)).client().code2session("081x")
    assert caught.value.code == "wechat_unavailable"
    assert caught.value.status_code == 502
    assert caught.value.details == {"errcode": json.loads(recorded(name))["errcode"]}


@pytest.mark.parametrize(
    ("body", "status_code"),
    [
        (b"<html>502 Bad Gateway</html>", 502),
        (b"<html>maintenance</html>", 200),
        (recorded("ok"), 500),
        (b"", 200),
        (b"[]", 200),
        (b'"openid"', 200),
        (b"{}", 200),
        (b'{"errcode": "oops", "errmsg": "?"}', 200),
        (b'{"errcode": 0, "errmsg": "ok"}', 200),
        (b'{"openid": 42}', 200),
        (b'{"openid": "' + b"o" * 65 + b'"}', 200),
    ],
)
async def test_garbled_answers_are_unavailable(body, status_code):
    with pytest.raises(WeChatUnavailable):
        await Replay(body, status_code=status_code).client().code2session("081x")


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("closed")]
)
async def test_network_errors_are_unavailable(exc):
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    client = HttpWeChatClient(appid=APPID, secret=SECRET, transport=httpx.MockTransport(fail))
    with pytest.raises(WeChatUnavailable):
        await client.code2session("081x")


def test_the_real_client_is_used_only_when_configured():
    assert isinstance(wechat_client_for(Settings(dev_mode=True)), SimulatedWeChatClient)
    assert isinstance(wechat_client_for(Settings(dev_mode=True, wechat_appid=APPID)), SimulatedWeChatClient)
    assert isinstance(wechat_client_for(Settings(wechat_appid=APPID, wechat_secret=SECRET)), HttpWeChatClient)


# --- over HTTP -------------------------------------------------------------------------------------


async def wechat_login(http, code: str = "081abcDEFghi"):
    return await http.post("/api/v1/auth/wechat-login", json={"code": code})


async def test_api_login_with_recorded_success(make_client):
    replay = Replay(recorded("ok"))
    ctx, http = await make_client(wechat=replay.client())
    first = await wechat_login(http)
    assert first.status_code == 200, first.text
    user = first.json()["user"]
    assert user["has_wechat"] is True and user["phone"] is None and user["display_name"] == "微信用户"
    assert (await http.get("/api/v1/me", headers=bearer(first.json()["token"]))).json() == {**user, "brands": []}

    # WeChat gives a new code each time; the openid is the same person.
    second = await wechat_login(http, "081otherCODE")
    assert second.json()["user"]["id"] == user["id"]
    assert second.json()["token"] != first.json()["token"]
    async with ctx.db.read() as s:
        stored = await s.get(User, user["id"])
        assert stored is not None
        assert stored.wechat_openid == json.loads(recorded("ok"))["openid"]
        assert stored.wechat_unionid == json.loads(recorded("ok"))["unionid"]
    assert [r.url.params["js_code"] for r in replay.requests] == ["081abcDEFghi", "081otherCODE"]


async def test_api_learns_the_unionid_later(make_client, ctx):
    answer = json.loads(recorded("ok_no_unionid"))
    _, http = await make_client(wechat=Replay(recorded("ok_no_unionid")).client())
    user_id = (await wechat_login(http)).json()["user"]["id"]
    later = json.dumps({**answer, "unionid": "oTGPt5mHi8dQEn6HkGAyJaGthB3k"}).encode()
    _, http = await make_client(wechat=Replay(later).client())
    assert (await wechat_login(http)).json()["user"]["id"] == user_id
    async with ctx.db.read() as s:
        assert (await s.get(User, user_id)).wechat_unionid == "oTGPt5mHi8dQEn6HkGAyJaGthB3k"


@pytest.mark.parametrize(
    ("name", "status_code", "code"),
    [
        ("invalid_code", 422, "wechat_code_invalid"),
        ("code_been_used", 422, "wechat_code_invalid"),
        ("high_risk", 403, "wechat_login_refused"),
        ("minute_quota", 502, "wechat_unavailable"),
        ("system_error", 502, "wechat_unavailable"),
    ],
)
async def test_api_errors_from_wechat(make_client, ctx, name, status_code, code):
    _, http = await make_client(wechat=Replay(recorded(name)).client())
    response = await wechat_login(http)
    assert response.status_code == status_code
    assert error_code(response) == code
    assert response.json()["error"]["message"]
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 0


async def test_api_network_error_is_502(make_client):
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out")

    _, http = await make_client(
        wechat=HttpWeChatClient(appid=APPID, secret=SECRET, transport=httpx.MockTransport(fail))
    )
    response = await wechat_login(http)
    assert (response.status_code, error_code(response)) == (502, "wechat_unavailable")


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "x" * 129}, {"code": None}])
async def test_api_malformed_body(client, body):
    response = await client.post("/api/v1/auth/wechat-login", json=body)
    assert (response.status_code, error_code(response)) == (422, "invalid_request")


async def test_api_blank_code(client):
    response = await wechat_login(client, "   ")
    assert (response.status_code, error_code(response)) == (422, "wechat_code_invalid")


async def test_wechat_is_asked_outside_any_transaction(make_client):
    """While WeChat is slow the database stays free: a write elsewhere does not wait for it."""

    class WritesWhileAsked:
        def __init__(self) -> None:
            self.ctx = None

        async def code2session(self, code: str):
            # On SQLite a transaction held around this call would block this write for the busy timeout.
            async with self.ctx.db.transaction() as s:
                await accounts.get_or_create_user_by_phone(session=s, phone="13812341234", now=self.ctx.clock.now())
            return await SimulatedWeChatClient().code2session(code)

    fake = WritesWhileAsked()
    ctx, http = await make_client(wechat=fake)
    fake.ctx = ctx
    assert (await wechat_login(http)).status_code == 200


# --- the simulator (the default without appid/secret) ----------------------------------------------


async def test_simulator_same_code_same_user_new_token(client):
    first = await wechat_login(client, "sim-code-1")
    again = await wechat_login(client, "sim-code-1")
    assert first.status_code == again.status_code == 200
    assert first.json()["user"]["id"] == again.json()["user"]["id"]
    assert first.json()["token"] != again.json()["token"]
    for response in (first, again):
        assert (await client.get("/api/v1/me", headers=bearer(response.json()["token"]))).status_code == 200

    other = await wechat_login(client, "sim-code-2")
    assert other.status_code == 200
    assert other.json()["token"] not in (first.json()["token"], again.json()["token"])
    assert other.json()["user"]["id"] != first.json()["user"]["id"]


async def test_simulator_refuses_invalid_codes(client):
    response = await wechat_login(client, "invalid-123")
    assert (response.status_code, error_code(response)) == (422, "wechat_code_invalid")


async def test_service_login_with_wechat_in_one_call(ctx):
    async with ctx.db.transaction() as s:
        issued = await accounts.login_with_wechat(
            session=s, settings=ctx.settings, wechat=SimulatedWeChatClient(), code="abc", now=ctx.clock.now()
        )
    assert issued.user.wechat_openid is not None and issued.auth_session.method == "wechat"
