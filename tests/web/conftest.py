"""Pages under test: a brand with 小李 (云顶华府) and 王姐 (翠湖花园), a scheduled live session, helpers that
read CSRF tokens and SMS codes as a browser and a phone would, and (browser.py) a real server and Chromium."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest

from linli.accounts import service as accounts
from linli.context import AppContext
from tests.factories import Actor, LeaderRef, World, make_live_session
from tests.web.browser import browser, desk, live_server, phone  # noqa: F401 - fixtures of the browser tests


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
CODE_IN_SMS = re.compile(r"(\d{6})")


@dataclass
class WebScene:
    brand_id: int
    owner: Actor
    li: LeaderRef  # 小李, 云顶华府
    wang: LeaderRef  # 王姐, 翠湖花园
    session_id: int


@pytest.fixture
async def web_scene(world: World) -> WebScene:
    brand = await world.brand()
    owner = await world.staff(brand, login_name="youlin-owner")
    li = await world.leader(brand, await world.community(brand, "云顶华府"), approver=owner, name="小李")
    wang = await world.leader(brand, await world.community(brand, "翠湖花园"), approver=owner, name="王姐")
    session_id = await make_live_session(world, brand, title="黄金奶油草莓源头直播")
    return WebScene(brand, owner, li, wang, session_id)


def csrf_of(html: str) -> str:
    found = CSRF_META.search(html)
    assert found is not None and found.group(1), "the page carries no CSRF token"
    return found.group(1)


async def latest_sms_code(ctx: AppContext, phone: str) -> str:
    """The code of the newest message the dev SMS inbox holds for a phone (what the neighbour reads)."""
    async with ctx.db.read() as session:
        [message] = await accounts.dev_inbox(session=session, phone=phone, limit=1)
    found = CODE_IN_SMS.search(message.body)
    assert found is not None, message.body
    return found.group(1)


async def sign_in_by_sms(client: httpx.AsyncClient, ctx: AppContext, phone: str, next_path: str = "/me") -> httpx.Response:
    """Signs the client in through the pages (the cookie lands in its jar); returns the redirect."""
    page = await client.get("/signin")
    token = csrf_of(page.text)
    sent = await client.post("/signin/sms-code", data={"csrf_token": token, "phone": phone})
    assert sent.status_code == 200, sent.text
    code = await latest_sms_code(ctx, phone)
    signed = await client.post(
        "/signin/sms", data={"csrf_token": csrf_of(sent.text), "phone": phone, "sms_code": code, "next": next_path}
    )
    assert signed.status_code == 303, signed.text
    return signed
