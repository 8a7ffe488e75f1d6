"""Helpers for the accounts tests: clients with tweaked settings, reading codes from the dev inbox."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import httpx
import pytest

from linli.accounts import service as accounts
from linli.app import create_app
from linli.context import AppContext

CODE_IN_BODY = re.compile(r"验证码是 (\d{6})")

ClientFactory = Callable[..., Awaitable[tuple[AppContext, httpx.AsyncClient]]]


def code_from_body(body: str) -> str:
    match = CODE_IN_BODY.search(body)
    assert match, body
    return match.group(1)


def other_code(code: str) -> str:
    """A well-formed code that is certainly not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def make_client(ctx: AppContext) -> AsyncIterator[ClientFactory]:
    """make_client(wechat=..., **settings_overrides) -> (ctx, client) over the same database and clock."""
    stack = AsyncExitStack()

    async def make(*, wechat: object | None = None, **overrides: object) -> tuple[AppContext, httpx.AsyncClient]:
        changed = dataclasses.replace(
            ctx, settings=ctx.settings.with_overrides(**overrides), wechat=wechat or ctx.wechat
        )
        app = create_app(changed, dispose_on_shutdown=False)
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        )
        return changed, http

    yield make
    await stack.aclose()


async def send_code(http: httpx.AsyncClient, phone: str) -> str:
    """Ask for a login code over HTTP and read it back from the dev inbox endpoint."""
    sent = await http.post("/api/v1/auth/sms-codes", json={"phone": phone})
    assert sent.status_code == 202, sent.text
    inbox = await http.get("/api/v1/dev/sms-inbox", params={"phone": phone})
    assert inbox.status_code == 200, inbox.text
    return code_from_body(inbox.json()["items"][0]["body"])


async def inbox_code(ctx: AppContext, phone: str) -> str:
    """The newest code sent to `phone`, read through the service (what `linli sms-inbox` shows)."""
    async with ctx.db.read() as session:
        messages = await accounts.dev_inbox(session=session, phone=phone)
    assert messages, f"no SMS for {phone}"
    return code_from_body(messages[0].body)


async def sms_login(http: httpx.AsyncClient, phone: str, code: str) -> httpx.Response:
    return await http.post("/api/v1/auth/sms-login", json={"phone": phone, "code": code})


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]
