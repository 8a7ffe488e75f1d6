"""Members and leaders log in with a phone number and a one-time code from the (dev) SMS inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from linli.accounts import service as accounts
from linli.accounts.models import LoginAttempt, SmsCode, User
from linli.accounts.service import MAX_FAILURES_PER_CODE
from tests.accounts.conftest import bearer, error_code, inbox_code, other_code, send_code, sms_login

PHONE = "13812341234"


async def test_sms_login_end_to_end(client, ctx, clock):
    sent = await client.post("/api/v1/auth/sms-codes", json={"phone": PHONE})
    assert sent.status_code == 202
    assert sent.json() == {"sent": True, "expires_in_seconds": 300, "resend_after_seconds": 60}

    inbox = await client.get("/api/v1/dev/sms-inbox", params={"phone": PHONE})
    assert inbox.status_code == 200
    [message] = inbox.json()["items"]
    assert message["phone"] == PHONE
    assert "【邻里】" in message["body"] and "5 分钟内有效" in message["body"]
    code = await inbox_code(ctx, PHONE)
    assert code in message["body"]

    login = await sms_login(client, PHONE, code)
    assert login.status_code == 200, login.text
    body = login.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["phone"] == PHONE
    assert body["user"]["display_name"] == "邻居1234"
    assert body["user"]["has_wechat"] is False

    me = await client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json() == {**body["user"], "brands": []}  # the user, and no brand role yet

    # Only a keyed hash of the code is stored.
    async with ctx.db.read() as s:
        stored = await s.scalar(select(SmsCode).where(SmsCode.phone == PHONE))
        assert stored is not None and code not in stored.code_hash
        assert stored.consumed_at == clock.now()


async def test_second_login_reuses_the_user(client, clock):
    first = await sms_login(client, PHONE, await send_code(client, PHONE))
    clock.advance(timedelta(seconds=61))
    second = await sms_login(client, PHONE, await send_code(client, PHONE))
    assert first.status_code == second.status_code == 200
    assert first.json()["user"]["id"] == second.json()["user"]["id"]
    assert first.json()["token"] != second.json()["token"]


@pytest.mark.parametrize(
    "phone",
    [
        "12345",
        "1381234123",
        "138123412345",
        "23812341234",
        "12812341234",
        "+8613812341234",
        "138-1234-1234",
        "1381234123a",
        "13８12341234",  # a full-width digit
        "١٣٨١٢٣٤١٢٣٤",  # Arabic-Indic digits
        "",
    ],
)
async def test_bad_phone_is_refused(client, ctx, phone):
    sent = await client.post("/api/v1/auth/sms-codes", json={"phone": phone})
    assert sent.status_code == 422
    assert sent.json()["error"] == {"code": "phone_invalid", "message": "手机号格式不正确"}
    login = await sms_login(client, phone, "123456")
    assert login.status_code == 422
    assert error_code(login) == "phone_invalid"
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(SmsCode)) == 0
        assert await s.scalar(select(func.count()).select_from(LoginAttempt)) == 0


async def test_surrounding_whitespace_is_ignored(client):
    code = await send_code(client, PHONE)
    login = await sms_login(client, f"  {PHONE} ", f" {code} ")
    assert login.status_code == 200
    assert login.json()["user"]["phone"] == PHONE


@pytest.mark.parametrize(
    "body",
    [{}, {"phone": PHONE}, {"code": "123456"}, {"phone": PHONE, "code": ""}, {"phone": PHONE, "code": "1" * 13},
     {"phone": 13812341234, "code": "123456"}, {"phone": "1" * 21, "code": "123456"}],
)
async def test_malformed_login_body_is_422(client, body):
    response = await client.post("/api/v1/auth/sms-login", json=body)
    assert response.status_code == 422
    assert error_code(response) == "invalid_request"


async def test_malformed_json_is_422(client):
    response = await client.post(
        "/api/v1/auth/sms-codes", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert error_code(response) == "body_not_json"


async def test_wrong_code_is_refused_and_counted(client, ctx):
    code = await send_code(client, PHONE)
    wrong = await sms_login(client, PHONE, other_code(code))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == {"code": "sms_code_invalid", "message": "验证码错误或已过期"}

    # The refusal is committed (its own transaction), visible from a fresh connection.
    async with ctx.db.read() as s:
        stored = await s.scalar(select(SmsCode).where(SmsCode.phone == PHONE))
        assert stored is not None and stored.failed_attempts == 1 and stored.consumed_at is None
        attempts = (await s.scalars(select(LoginAttempt))).all()
        assert [a.identifier for a in attempts] == [f"sms:{PHONE}"]
        assert await s.scalar(select(func.count()).select_from(User)) == 0

    # One mistake does not burn the code.
    assert (await sms_login(client, PHONE, code)).status_code == 200


async def test_login_without_any_code_sent_is_refused(client):
    response = await sms_login(client, PHONE, "123456")
    assert response.status_code == 401
    assert error_code(response) == "sms_code_invalid"


async def test_code_is_single_use(client):
    code = await send_code(client, PHONE)
    assert (await sms_login(client, PHONE, code)).status_code == 200
    again = await sms_login(client, PHONE, code)
    assert again.status_code == 401
    assert error_code(again) == "sms_code_invalid"


async def test_code_is_bound_to_its_phone(client):
    code = await send_code(client, PHONE)
    await send_code(client, "13900001111")
    response = await sms_login(client, "13900001111", code)
    # Astronomically unlikely to collide with the other phone's own code; refused either way.
    assert response.status_code == 401


async def test_code_expires(client, clock):
    code = await send_code(client, PHONE)
    clock.advance(timedelta(seconds=300))
    expired = await sms_login(client, PHONE, code)
    assert expired.status_code == 401
    assert error_code(expired) == "sms_code_invalid"


async def test_code_works_until_just_before_expiry(client, clock):
    code = await send_code(client, PHONE)
    clock.advance(timedelta(seconds=299))
    assert (await sms_login(client, PHONE, code)).status_code == 200


async def test_only_the_newest_code_counts(client, clock):
    first = await send_code(client, PHONE)
    clock.advance(timedelta(seconds=60))
    second = await send_code(client, PHONE)
    if first != second:
        assert (await sms_login(client, PHONE, first)).status_code == 401
    assert (await sms_login(client, PHONE, second)).status_code == 200


async def test_code_dies_after_five_failures(make_client, clock):
    # A higher lock-out limit, so that what stops the right code is the per-code limit.
    ctx, http = await make_client(login_failure_limit=50)
    code = await send_code(http, PHONE)
    for _ in range(MAX_FAILURES_PER_CODE):
        assert (await sms_login(http, PHONE, other_code(code))).status_code == 401
    dead = await sms_login(http, PHONE, code)
    assert dead.status_code == 401
    assert error_code(dead) == "sms_code_invalid"
    async with ctx.db.read() as s:
        stored = await s.scalar(select(SmsCode).where(SmsCode.phone == PHONE))
        assert stored is not None and stored.consumed_at is None
        assert stored.failed_attempts == MAX_FAILURES_PER_CODE + 1

    # A fresh code works.
    clock.advance(timedelta(seconds=60))
    fresh = await send_code(http, PHONE)
    assert (await sms_login(http, PHONE, fresh)).status_code == 200


async def test_resend_within_the_interval_is_refused(client, ctx, clock):
    await send_code(client, PHONE)
    clock.advance(timedelta(seconds=45))
    again = await client.post("/api/v1/auth/sms-codes", json={"phone": PHONE})
    assert again.status_code == 429
    error = again.json()["error"]
    assert error["code"] == "sms_too_frequent"
    assert error["details"] == {"retry_after_seconds": 15}
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(SmsCode)) == 1
    # Other phones are not affected.
    assert (await client.post("/api/v1/auth/sms-codes", json={"phone": "13900001111"})).status_code == 202
    clock.advance(timedelta(seconds=15))
    assert (await client.post("/api/v1/auth/sms-codes", json={"phone": PHONE})).status_code == 202
    inbox = await client.get("/api/v1/dev/sms-inbox", params={"phone": PHONE})
    assert inbox.json()["total"] == 2


async def test_daily_limit(make_client, clock):
    _, http = await make_client(sms_daily_limit=3)
    for _ in range(3):
        assert (await http.post("/api/v1/auth/sms-codes", json={"phone": PHONE})).status_code == 202
        clock.advance(timedelta(seconds=61))
    limited = await http.post("/api/v1/auth/sms-codes", json={"phone": PHONE})
    assert limited.status_code == 429
    assert error_code(limited) == "sms_daily_limit"
    # The limit rolls over 24 hours after the first code of the run.
    clock.advance(timedelta(hours=24) - timedelta(seconds=3 * 61))
    assert (await http.post("/api/v1/auth/sms-codes", json={"phone": PHONE})).status_code == 202


async def test_default_daily_limit_is_ten(client, clock):
    for _ in range(10):
        assert (await client.post("/api/v1/auth/sms-codes", json={"phone": PHONE})).status_code == 202
        clock.advance(timedelta(seconds=60))
    limited = await client.post("/api/v1/auth/sms-codes", json={"phone": PHONE})
    assert (limited.status_code, error_code(limited)) == (429, "sms_daily_limit")


async def test_lockout_after_repeated_failures_and_lifts_after_the_window(client, ctx, clock):
    code = await send_code(client, PHONE)
    for _ in range(5):
        assert error_code(await sms_login(client, PHONE, other_code(code))) == "sms_code_invalid"
        clock.advance(timedelta(seconds=10))
    locked = await sms_login(client, PHONE, code)
    assert locked.status_code == 429
    error = locked.json()["error"]
    assert error["code"] == "login_locked"
    # The first failure was 50 s ago; it leaves the 900 s window in 850 s.
    assert error["details"] == {"retry_after_seconds": 850}
    assert "15 分钟" in error["message"]

    # Attempts while locked are not recorded, so they do not extend the lock.
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(LoginAttempt)) == 5

    # Another phone is not locked.
    other = "13900001111"
    assert (await sms_login(client, other, await send_code(client, other))).status_code == 200

    clock.advance(timedelta(seconds=849))
    assert error_code(await sms_login(client, PHONE, code)) == "login_locked"
    clock.advance(timedelta(seconds=1))
    fresh = await send_code(client, PHONE)
    assert (await sms_login(client, PHONE, fresh)).status_code == 200


async def test_lockout_window_and_limit_follow_settings(make_client, clock):
    _, http = await make_client(login_failure_limit=2, login_failure_window_seconds=120)
    code = await send_code(http, PHONE)
    for _ in range(2):
        await sms_login(http, PHONE, other_code(code))
    locked = await sms_login(http, PHONE, code)
    assert error_code(locked) == "login_locked"
    assert "2 分钟" in locked.json()["error"]["message"]
    clock.advance(timedelta(seconds=120))
    assert (await sms_login(http, PHONE, code)).status_code == 200


async def test_password_failures_do_not_lock_a_phone(client):
    """A staff login name that looks like a phone number has its own lock-out counter."""
    for _ in range(6):
        response = await client.post("/api/v1/auth/password-login", json={"login_name": PHONE, "password": "x" * 8})
        assert response.status_code in (401, 429)
    code = await send_code(client, PHONE)
    assert (await sms_login(client, PHONE, code)).status_code == 200


async def test_dev_inbox_lists_newest_first_and_filters_by_phone(client, ctx, clock):
    await send_code(client, PHONE)
    clock.advance(timedelta(seconds=60))
    await send_code(client, PHONE)
    await send_code(client, "13900001111")
    everything = (await client.get("/api/v1/dev/sms-inbox")).json()
    assert [m["phone"] for m in everything["items"]] == ["13900001111", PHONE, PHONE]
    assert (everything["total"], everything["page"], everything["page_size"]) == (3, 1, 20)
    second = (await client.get("/api/v1/dev/sms-inbox", params={"page": 2, "page_size": 2})).json()
    assert ([m["phone"] for m in second["items"]], second["total"]) == ([PHONE], 3)
    mine = (await client.get("/api/v1/dev/sms-inbox", params={"phone": PHONE})).json()["items"]
    assert len(mine) == 2 and mine[0]["created_at"] > mine[1]["created_at"]
    assert (await client.get("/api/v1/dev/sms-inbox", params={"phone": "1" * 21})).status_code == 422
    for bad in ("abc", "1381234\x00123", "13８12341234"):
        response = await client.get("/api/v1/dev/sms-inbox", params={"phone": bad})
        assert (response.status_code, error_code(response)) == (422, "phone_invalid"), bad
    async with ctx.db.read() as s:
        assert await accounts.dev_inbox(session=s, phone="1381234\x00123") == []
        assert len(await accounts.dev_inbox(session=s, limit=2)) == 2


async def test_dev_inbox_is_hidden_outside_dev_mode(make_client):
    ctx, http = await make_client(dev_mode=False)
    assert (await http.post("/api/v1/auth/sms-codes", json={"phone": PHONE})).status_code == 202
    hidden = await http.get("/api/v1/dev/sms-inbox", params={"phone": PHONE})
    assert hidden.status_code == 404
    assert error_code(hidden) == "not_found"
    assert (await http.get("/api/v1/dev/sms-inbox")).status_code == 404
