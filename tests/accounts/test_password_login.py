"""Brand staff log in with a login name and a password (argon2)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from linli.accounts import service as accounts
from linli.accounts.models import LoginAttempt, User
from linli.errors import Conflict, InvalidInput
from tests.accounts.conftest import bearer, error_code

PASSWORD = "correct-horse-1"


async def make_staff(ctx, login_name: str = "youlin-owner", password: str = PASSWORD) -> User:
    async with ctx.db.transaction() as s:
        return await accounts.create_staff_user(
            session=s, login_name=login_name, password=password, display_name="店长", now=ctx.clock.now()
        )


async def password_login(http, login_name: str, password: str):
    return await http.post("/api/v1/auth/password-login", json={"login_name": login_name, "password": password})


async def test_staff_logs_in(client, ctx, clock):
    staff = await make_staff(ctx)
    assert staff.password_hash is not None and staff.password_hash.startswith("$argon2")
    response = await password_login(client, "youlin-owner", PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == {
        "id": staff.id, "phone": None, "login_name": "youlin-owner", "display_name": "店长", "has_wechat": False,
    }
    me = await client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200 and me.json()["id"] == staff.id


async def test_wrong_password_and_unknown_name_get_the_same_answer(client, ctx):
    await make_staff(ctx)
    wrong = await password_login(client, "youlin-owner", "not-the-password")
    unknown = await password_login(client, "nobody-here", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"error": {"code": "credentials_invalid", "message": "登录名或密码错误"}}
    async with ctx.db.read() as s:
        identifiers = sorted((await s.scalars(select(LoginAttempt.identifier))).all())
    assert identifiers == ["pw:nobody-here", "pw:youlin-owner"]


async def test_login_name_is_exact(client, ctx):
    await make_staff(ctx)
    assert (await password_login(client, "YOULIN-OWNER", PASSWORD)).status_code == 401
    assert (await password_login(client, " youlin-owner ", PASSWORD)).status_code == 200


async def test_lockout_and_release(client, ctx, clock):
    await make_staff(ctx)
    for _ in range(5):
        assert error_code(await password_login(client, "youlin-owner", "guess-guess")) == "credentials_invalid"
    locked = await password_login(client, "youlin-owner", PASSWORD)
    assert locked.status_code == 429
    assert error_code(locked) == "login_locked"
    # Another staff member is not affected.
    await make_staff(ctx, login_name="youlin-ops")
    assert (await password_login(client, "youlin-ops", PASSWORD)).status_code == 200

    clock.advance(timedelta(seconds=899))
    assert error_code(await password_login(client, "youlin-owner", PASSWORD)) == "login_locked"
    clock.advance(timedelta(seconds=1))
    assert (await password_login(client, "youlin-owner", PASSWORD)).status_code == 200


async def test_lockout_also_applies_to_unknown_names(client):
    for _ in range(5):
        await password_login(client, "ghost", "guess-guess")
    assert error_code(await password_login(client, "ghost", "guess-guess")) == "login_locked"


async def test_phone_user_cannot_password_login(client, world):
    member = await world.user(phone="13812341234")
    for login_name in (member.phone, f"邻居{member.phone[-4:]}", str(member.user_id)):
        response = await password_login(client, login_name, PASSWORD)
        assert (response.status_code, error_code(response)) == (401, "credentials_invalid")


@pytest.mark.parametrize(
    "body",
    [{}, {"login_name": "youlin-owner"}, {"password": PASSWORD}, {"login_name": "", "password": PASSWORD},
     {"login_name": "youlin-owner", "password": ""}, {"login_name": "a" * 65, "password": PASSWORD},
     {"login_name": "youlin-owner", "password": "p" * 257}, {"login_name": ["x"], "password": PASSWORD}],
)
async def test_malformed_body_is_422(client, body):
    response = await client.post("/api/v1/auth/password-login", json=body)
    assert (response.status_code, error_code(response)) == (422, "invalid_request")


async def test_odd_login_names_are_refused_not_crashed(client):
    for name in ("a" * 64, "店长", "x\x00y", "'; drop table users; --", "   "):
        response = await password_login(client, name, PASSWORD)
        assert response.status_code == 401, name
        assert error_code(response) == "credentials_invalid"


async def test_create_staff_user_validates(ctx):
    now = ctx.clock.now()
    for login_name, password in (("ab", PASSWORD), ("has space", PASSWORD), ("店长", PASSWORD), ("-lead", PASSWORD),
                                 ("a" * 33, PASSWORD), ("youlin-owner", "short"), ("youlin-owner", "p" * 257)):
        with pytest.raises(InvalidInput) as caught:
            async with ctx.db.transaction() as s:
                await accounts.create_staff_user(
                    session=s, login_name=login_name, password=password, display_name="店长", now=now
                )
        assert caught.value.code == "staff_credentials_invalid"
    await make_staff(ctx)
    with pytest.raises(Conflict) as caught:
        await make_staff(ctx)
    assert caught.value.code == "login_name_taken"
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 1


async def test_staff_display_name_defaults_to_login_name(ctx):
    async with ctx.db.transaction() as s:
        user = await accounts.create_staff_user(
            session=s, login_name="youlin-ops", password=PASSWORD, display_name="", now=ctx.clock.now()
        )
    assert user.display_name == "youlin-ops"


async def test_parallel_guesses_cannot_exceed_the_limit(make_client):
    """N guesses in parallel: only `login_failure_limit` of them are checked, the rest are locked out."""
    ctx, _ = await make_client(login_failure_limit=3)
    await make_staff(ctx)

    async def guess(i: int):
        async with ctx.db.transaction() as s:
            return await accounts.login_with_password(
                session=s, settings=ctx.settings, login_name="youlin-owner", password=f"guess-{i}", now=ctx.clock.now()
            )

    outcomes = await asyncio.gather(*(guess(i) for i in range(8)))
    codes = sorted(o.error.code for o in outcomes if o.error is not None)
    assert codes == ["credentials_invalid"] * 3 + ["login_locked"] * 5
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(LoginAttempt)) == 3
