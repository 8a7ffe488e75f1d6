"""The brand console's home over HTTP: who may open it, the brand switcher for staff of several brands, where
staff sign-in lands, and the ways from 我的 to the workbench and the console."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from linli.accounts.models import User
from linli.brands import service as brands
from tests.web.conftest import csrf_of
from tests.web.test_workbench_pages import text_of
from tests.web.workbench_scene import NEIGHBOUR_PHONE, XIAOLI_PHONE, become, load, sign_in_as


async def test_staff_open_their_brands_console(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    chosen = await client.get("/console")
    assert chosen.status_code == 303 and chosen.headers["location"] == f"/brands/{demo.brand_id}/console"
    home = await client.get(chosen.headers["location"])
    assert home.status_code == 200
    page = text_of(home.text)
    assert "优邻优选 · 品牌后台" in page and "负责人" in page
    assert 'data-testid="brand-switcher"' not in home.text  # one brand: nothing to switch to
    for area in ("products", "sessions", "leaders", "waves", "claims", "commission", "withdrawals", "reports/commission"):
        assert f'href="/brands/{demo.brand_id}/console/{area}"' in home.text


async def test_staff_of_two_brands_choose_and_switch(client, ctx, world):
    demo = await load(ctx)
    other = await world.brand(name="鲜果邻里", slug="xianguo")
    async with ctx.db.transaction() as s:  # the demo's owner also runs a second brand, as an operator
        user = await s.scalar(select(User).where(User.login_name == "youlin-owner"))
        await brands.add_staff(session=s, brand_id=other, user_id=user.id, role="operator", now=ctx.clock.now())
    await sign_in_as(client, ctx, login="youlin-owner")
    chooser = await client.get("/console")
    assert chooser.status_code == 200
    assert f'href="/brands/{demo.brand_id}/console"' in chooser.text and f'href="/brands/{other}/console"' in chooser.text
    second = await client.get(f"/brands/{other}/console")
    assert second.status_code == 200
    page = text_of(second.text)
    assert "鲜果邻里 · 品牌后台" in page and "运营" in page
    assert 'data-testid="brand-switcher"' in second.text and f'href="/brands/{demo.brand_id}/console"' in second.text


@pytest.mark.parametrize("who", ["anonymous", "member", "leader", "other-brand-staff"])
async def test_who_may_not_open_the_console(client, ctx, world, who):
    demo = await load(ctx)
    await become(client, ctx, world, who)
    home = await client.get(f"/brands/{demo.brand_id}/console")
    chooser = await client.get("/console")
    if who == "anonymous":
        assert home.status_code == 303 and home.headers["location"] == f"/signin?next=/brands/{demo.brand_id}/console"
        assert chooser.status_code == 303
        return
    assert home.status_code == 403 and home.headers["content-type"].startswith("text/html")
    assert "仅限本品牌员工操作" in text_of(home.text)
    if who == "other-brand-staff":  # sent to their own brand's console, never the demo's
        assert chooser.status_code == 303 and chooser.headers["location"] != f"/brands/{demo.brand_id}/console"
    else:
        assert chooser.status_code == 403 and "仅限品牌员工使用品牌后台" in text_of(chooser.text)


async def test_unknown_brand_is_the_404_page(client, ctx):
    await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    missing = await client.get("/brands/999999/console")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")


async def test_staff_sign_in_lands_on_the_console_and_me_shows_the_way(client, ctx):
    demo = await load(ctx)
    page = await client.get("/signin/staff")
    signed = await client.post(
        "/signin/staff",
        data={"csrf_token": csrf_of(page.text), "login_name": "youlin-owner", "password": "youlin-demo-2026"},
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/console"
    me = await client.get("/me")
    assert 'href="/console"' in me.text and 'href="/leader"' not in me.text


async def test_me_shows_the_workbench_to_a_leader_and_neither_to_a_neighbour(client, ctx):
    await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    me = await client.get("/me")
    assert 'href="/leader"' in me.text and 'href="/console"' not in me.text
    client.cookies.clear()
    await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    me = await client.get("/me")
    assert 'href="/leader"' not in me.text and 'href="/console"' not in me.text


async def test_the_front_door_offers_both_sign_ins_and_sends_a_signed_in_visitor_to_me(client, ctx):
    await load(ctx)
    door = await client.get("/")
    assert door.status_code == 200 and door.headers["content-type"].startswith("text/html")
    assert 'href="/signin"' in door.text and 'href="/signin/staff"' in door.text
    await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    signed = await client.get("/")
    assert signed.status_code == 303 and signed.headers["location"] == "/me"
