"""Concurrent first logins and code requests, each in its own transaction, on both databases."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from linli.accounts import service as accounts
from linli.accounts.models import AuthSession, LoginAttempt, SmsCode, User
from linli.accounts.wechat import WeChatIdentity
from tests.accounts.conftest import error_code, inbox_code, send_code, sms_login

PHONE = "13812341234"


async def test_concurrent_user_creation_makes_one_user(ctx):
    async def create():
        async with ctx.db.transaction() as s:
            user = await accounts.get_or_create_user_by_phone(session=s, phone=PHONE, now=ctx.clock.now())
            return user.id

    ids = await asyncio.gather(*(create() for _ in range(6)))
    assert len(set(ids)) == 1
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 1


async def test_concurrent_first_sms_logins_make_one_user(ctx):
    """Two first logins for one phone at once with the one code sent: one user, one token."""
    async with ctx.db.transaction() as s:
        await accounts.request_sms_code(
            session=s, settings=ctx.settings, sender=ctx.sms_sender, phone=PHONE, now=ctx.clock.now()
        )
    code = await inbox_code(ctx, PHONE)

    async def login(c: str):
        async with ctx.db.transaction() as s:
            return await accounts.login_with_sms(
                session=s, settings=ctx.settings, phone=PHONE, code=c, now=ctx.clock.now()
            )

    outcomes = await asyncio.gather(login(code), login(code))
    # The code is single-use: exactly one of the two gets in, the other is refused.
    assert sorted(o.error is None for o in outcomes) == [False, True]
    [refused] = [o for o in outcomes if o.error is not None]
    assert refused.error.code == "sms_code_invalid"
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 1
        assert await s.scalar(select(func.count()).select_from(AuthSession)) == 1


async def test_concurrent_sms_logins_over_http(client, ctx):
    code = await send_code(client, PHONE)
    responses = await asyncio.gather(*(sms_login(client, PHONE, code) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [200, 401, 401, 401]
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 1
        stored = await s.scalar(select(SmsCode))
        assert stored is not None and stored.consumed_at is not None
        # The three late-comers found no live code: each counts towards the lock-out.
        assert await s.scalar(select(func.count()).select_from(LoginAttempt)) == 3


async def test_concurrent_first_wechat_logins_make_one_user(ctx):
    identity = WeChatIdentity(openid="oGZUI0egBJY1zhBYw2KhdUfwVJJE", unionid=None)

    async def login():
        async with ctx.db.transaction() as s:
            issued = await accounts.login_with_wechat_identity(
                session=s, settings=ctx.settings, identity=identity, now=ctx.clock.now()
            )
            return issued.user.id, issued.token

    results = await asyncio.gather(*(login() for _ in range(4)))
    assert len({user_id for user_id, _ in results}) == 1
    assert len({token for _, token in results}) == 4


async def test_concurrent_code_requests_send_one_code(client, ctx):
    responses = await asyncio.gather(
        *(client.post("/api/v1/auth/sms-codes", json={"phone": PHONE}) for _ in range(4))
    )
    assert sorted(r.status_code for r in responses) == [202, 429, 429, 429]
    assert {error_code(r) for r in responses if r.status_code == 429} == {"sms_too_frequent"}
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(SmsCode)) == 1
    assert (await client.get("/api/v1/dev/sms-inbox", params={"phone": PHONE})).json()["total"] == 1
