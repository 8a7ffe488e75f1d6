"""Every page POST needs the page's CSRF token: missing or wrong is a Chinese 403 page and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from linli.accounts.models import AuthSession, SmsCode
from linli.attribution.models import Binding
from tests.web.conftest import WebScene, csrf_of, latest_sms_code, sign_in_by_sms


async def count(ctx, model) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def assert_refused(response) -> None:
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "页面已过期或来源不明" in response.text


@pytest.mark.parametrize("token", [None, "", "forged-token"])
async def test_a_code_request_without_the_token_sends_nothing(client, ctx, token):
    await client.get("/signin")  # the anonymous cookie exists; only the token is missing or wrong
    data = {"phone": "13800001000"} | ({} if token is None else {"csrf_token": token})
    assert_refused(await client.post("/signin/sms-code", data=data))
    assert await count(ctx, SmsCode) == 0


async def test_a_token_of_another_visitor_is_refused(client, ctx):
    stolen = csrf_of((await client.get("/signin")).text)
    client.cookies.clear()  # another browser: its own anonymous cookie
    await client.get("/signin")
    assert_refused(await client.post("/signin/sms-code", data={"csrf_token": stolen, "phone": "13800001000"}))
    assert await count(ctx, SmsCode) == 0


async def test_joining_without_the_token_binds_nobody(client, ctx, web_scene: WebScene):
    await sign_in_by_sms(client, ctx, "13800001001")
    assert_refused(await client.post(f"/i/{web_scene.li.code}/join", data={"csrf_token": "x"}))
    assert_refused(await client.post(f"/i/{web_scene.li.code}/join", headers={"X-CSRF-Token": "x"}))
    assert await count(ctx, Binding) == 0


async def test_the_header_token_works_as_htmx_sends_it(client, ctx, web_scene: WebScene):
    await sign_in_by_sms(client, ctx, "13800001002")
    landing = await client.get(f"/i/{web_scene.li.code}")
    joined = await client.post(f"/i/{web_scene.li.code}/join", headers={"X-CSRF-Token": csrf_of(landing.text)})
    assert joined.status_code == 200 and "绑定成功" in joined.text


async def test_sign_out_without_the_token_keeps_the_session(client, ctx):
    await sign_in_by_sms(client, ctx, "13800001003")
    assert_refused(await client.post("/signout"))
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).where(AuthSession.revoked_at.is_not(None))) == 0
    assert (await client.get("/me")).status_code == 200


async def test_the_anonymous_token_dies_with_sign_in_and_its_cookie_ages_out(client, ctx):
    from datetime import timedelta

    page = await client.get("/signin")
    anonymous_token = csrf_of(page.text)
    sent = await client.post("/signin/sms-code", data={"csrf_token": anonymous_token, "phone": "13800001004"})
    assert sent.status_code == 200
    code = await latest_sms_code(ctx, "13800001004")
    await client.post("/signin/sms", data={"csrf_token": anonymous_token, "phone": "13800001004", "sms_code": code})
    assert_refused(await client.post("/signout", data={"csrf_token": anonymous_token}))
    client.cookies.clear()
    page = await client.get("/signin")
    ctx.clock.advance(timedelta(hours=3))  # the anonymous cookie lives two hours
    assert_refused(await client.post("/signin/sms-code", data={"csrf_token": csrf_of(page.text), "phone": "13800001005"}))
