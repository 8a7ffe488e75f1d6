"""`linli care --as-of` against a real database (both backends): the brand's local day of the moment, once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from linli.db import Database
from linli.marketing import care
from linli.marketing.models import CareDelivery
from linli.members import service as members
from tests.cli_support import cli_invoker, fresh_context
from tests.factories import World


async def _prepare(url: str, tmp_path) -> None:  # noqa: ANN001
    async with fresh_context(url, tmp_path) as ctx:
        world = World(ctx)
        brand = await world.brand()
        user = await world.user(name="小周")
        async with ctx.db.transaction() as s:
            await members.get_or_create_member(session=s, brand_id=brand, user_id=user.user_id, now=ctx.clock.now())
            await care.set_birthday(session=s, brand_id=brand, user_id=user.user_id, month=12, day=2, year=None,
                                    now=ctx.clock.now())
            await care.update_birthday_occasion(session=s, brand_id=brand, now=ctx.clock.now(),
                                                data=care.OccasionInput(greeting="{昵称}生日快乐"))


async def _deliveries(url: str) -> list[tuple[int, str]]:
    db = Database(url)
    try:
        async with db.read() as s:
            return [(d.year, d.local_day) for d in await s.scalars(select(CareDelivery))]
    finally:
        await db.dispose()


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch):
    asyncio.run(_prepare(database_url, tmp_path))
    return cli_invoker(monkeypatch, database_url, tmp_path)


def test_care_greets_the_brands_local_day_once(cli, database_url):
    early = cli("care", "--as-of", "2026-12-01T15:30:00Z")  # 23:30 on Dec 1 in Shanghai
    assert early.exit_code == 0 and "greeted 0 member(s)" in early.output, early.output
    first = cli("care", "--as-of", "2026-12-01T16:30:00Z")  # 00:30 on Dec 2
    assert first.exit_code == 0 and "greeted 1 member(s), issued 0 coupon(s)" in first.output, first.output
    again = cli("care", "--as-of", "2026-12-02T09:00:00+08:00")
    assert again.exit_code == 0 and "greeted 0 member(s)" in again.output
    assert asyncio.run(_deliveries(database_url)) == [(2026, "2026-12-02")]
