"""Sign-in for pages: the cookie, sign-out revoking the token, next= only on linli, staff by password."""

from __future__ import annotations

import httpx
import pytest

from linli.app import create_app
from tests.web.conftest import WebScene, csrf_of, latest_sms_code, sign_in_by_sms


def set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


async def test_the_sign_in_cookie_is_httponly_and_samesite_lax(client, ctx):
    signed = await sign_in_by_sms(client, ctx, "13800004444")
    [cookie] = set_cookie_headers(signed, "linli_session")
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # public_base_url is http:// here
    [anon] = set_cookie_headers(await httpx_fresh_get(client, "/signin"), "linli_anon")
    assert "httponly" in anon.lower() and "samesite=lax" in anon.lower()


async def httpx_fresh_get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    client.cookies.clear()
    return await client.get(path)


async def test_the_cookie_is_secure_when_linli_is_served_over_https(ctx):
    ctx.settings = ctx.settings.with_overrides(public_base_url="https://linli.example.com")
    app = create_app(ctx, dispose_on_shutdown=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://linli.example.com") as https:
        signed = await sign_in_by_sms(https, ctx, "13800005555")
    [cookie] = set_cookie_headers(signed, "linli_session")
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


async def test_the_cookie_carries_the_token_the_api_accepts_and_sign_out_revokes_it(client, ctx):
    await sign_in_by_sms(client, ctx, "13800006666")
    token = client.cookies["linli_session"]
    api = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.json()["phone"].endswith("6666")
    me = await client.get("/me")
    assert me.status_code == 200 and "邻居6666" in me.text
    signed_out = await client.post("/signout", data={"csrf_token": csrf_of(me.text)})
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/signin"
    refused = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_revoked"
    client.cookies.set("linli_session", token)  # a browser that kept the old cookie is signed out all the same
    again = await client.get("/me")
    assert again.status_code == 303 and again.headers["location"] == "/signin?next=/me"


async def test_revoking_the_auth_session_through_the_api_signs_the_page_out(client, ctx):
    await sign_in_by_sms(client, ctx, "13800007777")
    token = client.cookies["linli_session"]
    await client.post("/api/v1/auth/logout-all", headers={"Authorization": f"Bearer {token}"})
    response = await client.get("/me")
    assert response.status_code == 303 and response.headers["location"] == "/signin?next=/me"


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example.com/", "//evil.example.com/x", "/\\evil.example.com", "http:/evil", "javascript:alert(1)",
        "/\r\nX-Injected: 1", " //evil.example.com", "evil.example.com",
    ],
)
async def test_next_pointing_elsewhere_is_ignored(client, ctx, next_path):
    signed = await sign_in_by_sms(client, ctx, "13800008888", next_path=next_path)
    assert signed.headers["location"] == "/me"
    assert "x-injected" not in signed.headers


async def test_next_on_linli_is_followed(client, ctx, web_scene: WebScene):
    signed = await sign_in_by_sms(client, ctx, "13800009999", next_path=f"/i/{web_scene.li.code}")
    assert signed.headers["location"] == f"/i/{web_scene.li.code}"


async def test_an_unauthenticated_visitor_is_sent_to_sign_in_and_back(client):
    response = await client.get("/me?tab=orders")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/me%3Ftab%3Dorders"


async def test_staff_sign_in_by_password_and_wrong_password_beside_the_field(client, web_scene: WebScene):
    page = await client.get("/signin/staff")
    wrong = await client.post(
        "/signin/staff", data={"csrf_token": csrf_of(page.text), "login_name": "youlin-owner", "password": "nope-nope"}
    )
    assert wrong.status_code == 401
    assert 'data-error-for="password">登录名或密码错误</p>' in wrong.text
    assert 'value="youlin-owner"' in wrong.text and "nope-nope" not in wrong.text
    right = await client.post(
        "/signin/staff",
        data={"csrf_token": csrf_of(wrong.text), "login_name": "youlin-owner", "password": "correct-horse-1"},
    )
    assert right.status_code == 303 and right.headers["location"] == "/console"
    me = await client.get("/me")
    assert "登录名 youlin-owner" in me.text


async def test_a_locked_phone_is_told_beside_the_code(client, ctx):
    page = await client.get("/signin")
    token = csrf_of(page.text)
    for _ in range(ctx.settings.login_failure_limit):
        answer = await client.post("/signin/sms", data={"csrf_token": token, "phone": "13800001234", "sms_code": "111111"})
        assert answer.status_code == 401
    locked = await client.post("/signin/sms", data={"csrf_token": token, "phone": "13800001234", "sms_code": "111111"})
    assert locked.status_code == 429
    assert 'data-error-for="sms_code">登录失败次数过多，请 15 分钟后再试</p>' in locked.text


async def test_in_development_mode_the_page_shows_the_code_the_dev_inbox_got(client, ctx):
    page = await client.get("/signin")
    sent = await client.post("/signin/sms-code", data={"csrf_token": csrf_of(page.text), "phone": "13800006666"})
    code = await latest_sms_code(ctx, "13800006666")
    assert ctx.settings.dev_mode and "开发模式，短信未真正发出" in sent.text and code in sent.text


async def test_outside_development_mode_the_code_is_never_on_the_page(client, ctx):
    ctx.settings = ctx.settings.with_overrides(dev_mode=False)
    page = await client.get("/signin")
    sent = await client.post("/signin/sms-code", data={"csrf_token": csrf_of(page.text), "phone": "13800007777"})
    assert sent.status_code == 200 and "验证码已发送" in sent.text
    code = await latest_sms_code(ctx, "13800007777")
    assert "开发模式" not in sent.text and code not in sent.text
