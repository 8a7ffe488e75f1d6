"""Bearer tokens: expire, can be revoked one by one or all at once, and bad headers are 401s."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from linli.accounts import service as accounts
from linli.accounts.models import AuthSession
from tests.accounts.conftest import bearer, error_code, send_code, sms_login


async def test_token_expires_after_the_ttl(client, world, clock, ctx):
    actor = await world.user()
    assert ctx.settings.token_ttl_hours == 720
    clock.advance(timedelta(hours=720) - timedelta(seconds=1))
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 200
    clock.advance(timedelta(seconds=1))
    expired = await client.get("/api/v1/me", headers=actor.headers)
    assert expired.status_code == 401
    assert expired.json()["error"] == {"code": "token_expired", "message": "登录已过期，请重新登录"}


async def test_login_reports_the_expiry(client, clock):
    login = await sms_login(client, "13812341234", await send_code(client, "13812341234"))
    expires_at = login.json()["expires_at"]
    assert expires_at.startswith((clock.now() + timedelta(hours=720)).strftime("%Y-%m-%dT%H:%M:%S"))


async def test_token_ttl_follows_settings(make_client, clock):
    _, http = await make_client(token_ttl_hours=1)
    login = await sms_login(http, "13812341234", await send_code(http, "13812341234"))
    headers = bearer(login.json()["token"])
    clock.advance(timedelta(minutes=59))
    assert (await http.get("/api/v1/me", headers=headers)).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert error_code(await http.get("/api/v1/me", headers=headers)) == "token_expired"


async def test_logout_revokes_only_this_token(client, world, ctx):
    actor = await world.user(phone="13812341234")
    async with ctx.db.transaction() as s:
        user = await accounts.get_user(session=s, user_id=actor.user_id)
        other_device = await accounts.issue_token(
            session=s, settings=ctx.settings, user=user, method="sms", now=ctx.clock.now()
        )
    response = await client.post("/api/v1/auth/logout", headers=actor.headers)
    assert response.status_code == 204 and response.content == b""
    revoked = await client.get("/api/v1/me", headers=actor.headers)
    assert revoked.status_code == 401
    assert revoked.json()["error"] == {"code": "token_revoked", "message": "登录凭证已注销，请重新登录"}
    assert (await client.get("/api/v1/me", headers=bearer(other_device.token))).status_code == 200
    # Logging out twice: the token is no longer accepted at all.
    assert error_code(await client.post("/api/v1/auth/logout", headers=actor.headers)) == "token_revoked"


async def test_logout_all_revokes_every_token_of_the_user_only(client, world, ctx, clock):
    me = await world.user(phone="13812341234")
    someone_else = await world.user(phone="13900001111")
    second = await sms_login(client, me.phone, await send_code(client, me.phone))
    second_headers = bearer(second.json()["token"])
    assert second.json()["user"]["id"] == me.user_id

    clock.advance(timedelta(minutes=5))
    assert (await client.post("/api/v1/auth/logout-all", headers=second_headers)).status_code == 204
    for headers in (me.headers, second_headers):
        assert error_code(await client.get("/api/v1/me", headers=headers)) == "token_revoked"
    assert (await client.get("/api/v1/me", headers=someone_else.headers)).status_code == 200
    async with ctx.db.read() as s:
        rows = (await s.scalars(select(AuthSession).where(AuthSession.user_id == me.user_id))).all()
    assert len(rows) == 2 and all(r.revoked_at == clock.now() for r in rows)

    # A new login after logout-all works.
    clock.advance(timedelta(seconds=60))
    fresh = await sms_login(client, me.phone, await send_code(client, me.phone))
    assert (await client.get("/api/v1/me", headers=bearer(fresh.json()["token"]))).status_code == 200


async def test_revoked_wins_over_expired(client, world, clock):
    actor = await world.user()
    await client.post("/api/v1/auth/logout", headers=actor.headers)
    clock.advance(timedelta(days=365))
    assert error_code(await client.get("/api/v1/me", headers=actor.headers)) == "token_revoked"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "unauthorized"),
        ({"Authorization": ""}, "unauthorized"),
        ({"Authorization": "Bearer"}, "unauthorized"),
        ({"Authorization": "Bearer "}, "unauthorized"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "unauthorized"),
        ({"Authorization": "Token abc"}, "unauthorized"),
        ({"Authorization": "abc"}, "unauthorized"),
        ({"Authorization": "Bearer    "}, "unauthorized"),
        ({"Authorization": "Bearer not-a-real-token"}, "token_invalid"),
        ({"Authorization": "bearer not-a-real-token"}, "token_invalid"),
        ({"Authorization": "Bearer a b c"}, "token_invalid"),
        ({"Authorization": "Bearer " + "x" * 10_000}, "token_invalid"),
        ({"Authorization": b"Bearer \xff\xfe\x00\x01"}, "token_invalid"),
        ({"Authorization": "Bearer ' OR 1=1 --"}, "token_invalid"),
    ],
)
async def test_bad_authorization_headers_are_401(client, world, headers, code):
    await world.user()  # a real token exists; none of these headers is it
    for method, path in (("GET", "/api/v1/me"), ("PATCH", "/api/v1/me"), ("POST", "/api/v1/auth/logout"),
                         ("POST", "/api/v1/auth/logout-all")):
        kwargs = {"json": {"display_name": "x"}} if method == "PATCH" else {}
        response = await client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == 401, (method, path, response.text)
        assert error_code(response) == code


async def test_a_token_from_another_secret_is_invalid(make_client, world):
    actor = await world.user()
    _, http = await make_client(secret_key="another-secret")
    assert error_code(await http.get("/api/v1/me", headers=actor.headers)) == "token_invalid"


async def test_tokens_are_stored_hashed(world, ctx):
    actor = await world.user()
    async with ctx.db.read() as s:
        stored = (await s.scalars(select(AuthSession.token_hash))).all()
    assert len(stored) == 1 and actor.token not in stored[0]
