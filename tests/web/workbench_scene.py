"""The workbench tests run on the demo: 小李 (云顶华府) with arrived parcels and a settled balance above the
withdrawal minimum, 王姐 leading 翠湖花园, the brand's owner, and neighbours."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy import select

from linli.accounts import service as accounts
from linli.accounts.models import User
from linli.brands import service as brands
from linli.context import AppContext
from linli.demo import WANGJIE_PHONE, XIAOLI_PHONE, load_demo
from linli.demo.cast import BRAND_SLUG, OPERATOR_LOGIN, OWNER_LOGIN
from linli.fulfillment.models import Parcel
from linli.leaders import service as leaders
from linli.web.visitor import SESSION_COOKIE

NEIGHBOUR_PHONE = "13900000001"  # came in through 小李


@dataclass
class Demo:
    brand_id: int
    xiaoli_leader_id: int
    xiaoli_community_id: int


async def load(ctx: AppContext) -> Demo:
    await load_demo(ctx)
    async with ctx.db.read() as s:
        brand = await brands.find_brand_by_slug(session=s, slug=BRAND_SLUG)
        assert brand is not None
        user = await accounts.find_user_by_phone(session=s, phone=XIAOLI_PHONE)
        assert user is not None
        leader = await leaders.find_open_leader_for_user(session=s, brand_id=brand.id, user_id=user.id)
        assert leader is not None
    return Demo(brand_id=brand.id, xiaoli_leader_id=leader.id, xiaoli_community_id=leader.community_id)


async def arrived_parcels(ctx: AppContext, community_id: int) -> list[Parcel]:
    async with ctx.db.read() as s:
        rows = await s.scalars(
            select(Parcel).where(Parcel.community_id == community_id, Parcel.status == "arrived").order_by(Parcel.id)
        )
        return list(rows)


async def sign_in_as(client: httpx.AsyncClient, ctx: AppContext, *, phone: str | None = None, login: str | None = None) -> None:
    """Puts the cookie a page sign-in would set into the client's jar (the sign-in pages have their own tests)."""
    async with ctx.db.transaction() as s:
        if phone is not None:
            user = await accounts.get_or_create_user_by_phone(session=s, phone=phone, now=ctx.clock.now())
            method = "sms"
        else:
            user = await s.scalar(select(User).where(User.login_name == (login or OWNER_LOGIN)))
            method = "password"
        issued = await accounts.issue_token(session=s, settings=ctx.settings, user=user, method=method, now=ctx.clock.now())
    client.cookies.set(SESSION_COOKIE, issued.token)


async def other_brand_leader(world):  # noqa: ANN001, ANN201
    """Another brand (鲜果邻里) with its own leader, 老周: the party no page of the demo's brand may answer."""
    world._phones = 900  # the demo's neighbours use 139000000xx
    brand = await world.brand(name="鲜果邻里", slug="xianguo")
    owner = await world.staff(brand)
    ref = await world.leader(brand, await world.community(brand, "翠湖花园"), approver=owner, name="老周")
    return brand, ref


async def become(client: httpx.AsyncClient, ctx: AppContext, world, who: str) -> None:  # noqa: ANN001
    """Signs the client in as one of the parties the access tests name; "anonymous" stays signed out."""
    if who == "member":
        await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    elif who == "leader":
        await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    elif who == "other-brand-staff":
        other, _ = await other_brand_leader(world)
        client.cookies.set(SESSION_COOKIE, (await world.staff(other)).token)
    elif who == "operator":
        await sign_in_as(client, ctx, login=OPERATOR_LOGIN)
    elif who == "owner":
        await sign_in_as(client, ctx, login=OWNER_LOGIN)
    else:
        assert who == "anonymous", who


__all__ = ["Demo", "become", "other_brand_leader", "NEIGHBOUR_PHONE", "WANGJIE_PHONE", "XIAOLI_PHONE", "arrived_parcels", "load", "sign_in_as"]
