"""Where reports read without a replica, and with one that does not answer: the primary, and no staleness is
claimed. The setting itself, and how a page words the staleness. (A real replica: test_replica.py.)"""

from __future__ import annotations

import logging

import pytest

from linli.config import Settings, SettingsError
from linli.context import AppContext
from linli.replica import Replica
from linli.web.templating import staleness_text
from linli.web.visitor import SESSION_COOKIE
from tests.conftest import POSTGRESQL_ONLY
from tests.dashboards.test_rollups import evening  # noqa: F401 - the fixture
from tests.process_support import free_port

REPLICA_URL = "postgresql+asyncpg://reader@replica.internal:5432/linli"


async def _figures(client, stage) -> list[dict]:  # noqa: ANN001
    brand, owner, leader = stage.brand_id, stage.owner.headers, stage.leader.actor.headers
    answers = [
        await client.get(f"/api/v1/brands/{brand}/leader/dashboard", params={"period": "month"}, headers=leader),
        await client.get(f"/api/v1/brands/{brand}/dashboard", headers=owner),
        await client.get(f"/api/v1/brands/{brand}/commission-report", params={"from": "2026-12-01", "to": "2026-12-15"},
                         headers=owner),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    return [a.json() for a in answers]


async def test_without_a_replica_the_figures_are_the_primarys_and_no_staleness_is_shown(ctx, client, evening):  # noqa: F811
    stage, _ = evening
    assert ctx.db.replica is None
    mine, brand, report = await _figures(client, stage)
    assert [mine["staleness_seconds"], brand["staleness_seconds"], report["staleness_seconds"]] == [None, None, None]
    # December for 小李: orders b and c; the brand's last 30 days: all four; the report's December: b and c (the
    # walk-in's order d earns nobody commission).
    assert (mine["orders"], brand["totals"]["orders"], report["total"]["orders"]) == (2, 4, 2)
    client.cookies.set(SESSION_COOKIE, stage.leader.actor.token)
    page = await client.get(f"/brands/{stage.brand_id}/leader/dashboard", params={"period": "month"})
    client.cookies.set(SESSION_COOKIE, stage.owner.token)
    console = await client.get(f"/brands/{stage.brand_id}/console/reports/commission")
    assert (page.status_code, console.status_code) == (200, 200)
    assert 'data-testid="orders">2<' in page.text
    assert "数据延迟" not in page.text and "数据延迟" not in console.text


@POSTGRESQL_ONLY
async def test_a_replica_that_does_not_answer_leaves_reports_to_the_primary_and_is_tried_again_later(
    ctx, client, evening, caplog  # noqa: F811
):
    stage, _ = evening
    clock = [0.0]
    ctx.db.replica = Replica(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/linli", pool_size=1,
                             max_overflow=0, retry_seconds=30, monotonic=lambda: clock[0])
    try:
        with caplog.at_level(logging.WARNING, logger="linli.replica"):
            first = await _figures(client, stage)
            warned = [r.getMessage() for r in caplog.records if r.name == "linli.replica"]
            clock[0] = 29.0
            await _figures(client, stage)  # within the pause: the primary without trying
            assert [r.getMessage() for r in caplog.records if r.name == "linli.replica"] == warned
            clock[0] = 31.0
            await _figures(client, stage)
            tried_again = [r.getMessage() for r in caplog.records if r.name == "linli.replica"]
    finally:
        await ctx.db.replica.dispose()
        ctx.db.replica = None
    assert [f["staleness_seconds"] for f in first] == [None, None, None]
    assert (first[0]["orders"], first[1]["totals"]["orders"], first[2]["total"]["orders"]) == (2, 4, 2)
    assert warned == ["replica.unreachable"] and tried_again == ["replica.unreachable"] * 2


async def test_the_setting_names_a_postgresql_replica(monkeypatch, tmp_path):
    monkeypatch.setenv("LINLI_SECRET_KEY", "s")
    monkeypatch.setenv("LINLI_DATABASE_URL", "postgresql+asyncpg://linli@primary.internal/linli")
    monkeypatch.setenv("LINLI_READ_DATABASE_URL", f" {REPLICA_URL} ")
    settings = Settings.from_env()
    assert settings.read_database_url == REPLICA_URL and REPLICA_URL not in repr(settings)  # it may hold a password
    ctx = AppContext.build(settings, providers=False)
    try:
        assert ctx.db.replica is not None and ctx.db.replica.url == REPLICA_URL
    finally:
        await ctx.db.dispose()
    monkeypatch.delenv("LINLI_READ_DATABASE_URL")
    assert Settings.from_env().read_database_url == ""
    plain = AppContext.build(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db", secret_key="s"), providers=False)
    try:
        assert plain.db.replica is None
    finally:
        await plain.db.dispose()


@pytest.mark.parametrize(("primary", "replica"), [
    ("sqlite+aiosqlite:///var/linli.db", REPLICA_URL),
    ("postgresql+asyncpg://linli@primary.internal/linli", "sqlite+aiosqlite:///var/copy.db"),
])
def test_a_replica_beside_sqlite_is_refused_with_what_to_fix(primary, replica):
    with pytest.raises(SettingsError, match="LINLI_READ_DATABASE_URL 须为 PostgreSQL 只读副本"):
        Settings(database_url=primary, read_database_url=replica, secret_key="s")


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "数据延迟不到 1 秒"), (0.4, "数据延迟不到 1 秒"), (2.6, "数据延迟约 3 秒"), (119, "数据延迟约 119 秒"),
    (300, "数据延迟约 5 分钟"), (3 * 3600 + 100, "数据延迟约 3 小时"),
])
def test_the_page_words_the_staleness(seconds, text):
    assert staleness_text(seconds) == text
