"""`linli refresh-kits` against a real database (both backends): the kits of sessions scheduled before kits
existed are made at once; a second run changes nothing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select

from linli.db import Database
from linli.marketing.models import CampaignKit
from tests.cli_support import cli_invoker, fresh_context
from tests.factories import World, make_live_session


async def _prepare(url: str, tmp_path) -> int:  # noqa: ANN001
    """Two leaders and a scheduled session whose kits were never made (as before migration 0013)."""
    async with fresh_context(url, tmp_path) as ctx:
        world = World(ctx)
        brand = await world.brand()
        owner = await world.staff(brand)
        for name in ("小李", "王姐"):
            await world.leader(brand, await world.community(brand, f"{name}的小区"), approver=owner, name=name)
        return await make_live_session(world, brand)


async def _kits(url: str) -> list[tuple[int, int]]:
    db = Database(url)
    try:
        async with db.read() as s:
            return [(k.leader_id, k.version) for k in await s.scalars(select(CampaignKit).order_by(CampaignKit.leader_id))]
    finally:
        await db.dispose()


async def _forget(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as s:
            await s.execute(delete(CampaignKit))
    finally:
        await db.dispose()


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch):
    asyncio.run(_prepare(database_url, tmp_path))
    return cli_invoker(monkeypatch, database_url, tmp_path)


def test_refresh_kits_makes_what_is_missing_and_is_idempotent(cli, database_url):
    assert asyncio.run(_kits(database_url)) == []
    first = cli("refresh-kits")
    assert first.exit_code == 0, first.output
    assert "made or remade 2 kit(s), withdrew 0" in first.output
    made = asyncio.run(_kits(database_url))
    assert [version for _, version in made] == [1, 1]
    again = cli("refresh-kits")
    assert again.exit_code == 0 and "made or remade 0 kit(s)" in again.output
    assert asyncio.run(_kits(database_url)) == made
    asyncio.run(_forget(database_url))
    replayed = cli("refresh-kits", "--as-of", "2026-11-20T21:00:00+08:00")
    assert replayed.exit_code == 0 and "made or remade 2 kit(s)" in replayed.output
