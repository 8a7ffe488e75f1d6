"""Dashboards and reports read from a real PostgreSQL streaming replica; money is decided on the primary.

Two throwaway clusters (tests/replica_support.py): the primary, migrated by Alembic, and a hot standby made by
`pg_basebackup -R`. With the replica's replay paused, what the primary writes afterwards is on the primary only:
the dashboards show the older figures and say how stale they are, while the leader's balances and the withdrawal
they allow come from the primary. Resumed, the replica catches up; stopped, the dashboards fall back to the primary.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from linli import migrate
from linli.accounts.sms import InboxSmsSender
from linli.accounts.wechat import SimulatedWeChatClient
from linli.app import create_app
from linli.clock import FixedClock
from linli.config import Settings
from linli.context import AppContext
from linli.db import Database
from linli.ledger import service as ledger
from linli.payments.providers import build_providers
from linli.payouts.providers import build_payout_providers
from linli.payouts.simulator import SimulatorPayoutProvider
from linli.web.visitor import SESSION_COOKIE
from tests.conftest import POSTGRESQL_ONLY, START
from tests.factories import World
from tests.ledger.helpers import buy, complete, settle
from tests.orders.setup import Stage, bound_member, build_stage
from tests.replica_support import Clusters, primary_and_replica

WAIT_SECONDS = 60  # the most replay, a pause or a catch-up may take here before the test says which


@dataclass
class Setup:
    clusters: Clusters
    ctx: AppContext
    http: httpx.AsyncClient
    primary: AsyncEngine  # superuser connections, autocommit, for watching replication
    replica: AsyncEngine


async def _scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:  # noqa: ANN401 - whatever the query says
    async with engine.connect() as conn:
        return await conn.scalar(text(sql), params)


async def _until(check: Callable[[], Awaitable[Any]], what: str) -> Any:  # noqa: ANN401
    deadline = time.monotonic() + WAIT_SECONDS
    while not (found := await check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {WAIT_SECONDS} s")
        await asyncio.sleep(0.1)
    return found


async def _replica_has(setup: Setup, what: str) -> None:
    """Until the replica has `what` ("received" or "replayed") everything the primary has written so far."""
    lsn = await _scalar(setup.primary, "SELECT pg_current_wal_lsn()::text")
    function = "pg_last_wal_receive_lsn" if what == "received" else "pg_last_wal_replay_lsn"
    await _until(lambda: _scalar(setup.replica, f"SELECT {function}() >= CAST(CAST(:lsn AS text) AS pg_lsn)", lsn=lsn), f"replica {what} {lsn}")


@pytest.fixture
async def setup(tmp_path) -> AsyncIterator[Setup]:
    with primary_and_replica() as clusters:
        primary = create_async_engine(clusters.url(clusters.primary_port), isolation_level="AUTOCOMMIT")
        replica = create_async_engine(clusters.url(clusters.replica_port), isolation_level="AUTOCOMMIT")
        try:
            async with primary.connect() as conn:
                await conn.execute(text("CREATE DATABASE linli"))
            primary_url = clusters.url(clusters.primary_port, "linli")
            await asyncio.to_thread(migrate.upgrade, primary_url)
            replica_url = clusters.url(clusters.replica_port, "linli")
            settings = Settings(
                database_url=primary_url, read_database_url=replica_url, secret_key="test-secret", data_dir=tmp_path,
                dev_mode=True, payment_simulator_enabled=True,
            )
            ctx = AppContext(
                settings=settings, db=Database(primary_url, pool_size=4, max_overflow=2, replica_url=replica_url),
                clock=FixedClock(START), sms_sender=InboxSmsSender(), wechat=SimulatedWeChatClient(),
                payments=build_providers(settings), payouts=build_payout_providers(settings),
            )
            app = create_app(ctx, dispose_on_shutdown=False)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
                try:
                    yield Setup(clusters, ctx, http, primary, replica)
                finally:
                    payouts = ctx.payouts.get("simulator")
                    if isinstance(payouts, SimulatorPayoutProvider):
                        await payouts.drain()
                    await ctx.stop_background()
                    await ctx.db.dispose()
        finally:
            await primary.dispose()
            await replica.dispose()


async def _dashboard(setup: Setup, stage: Stage) -> dict:
    answer = await setup.http.get(f"/api/v1/brands/{stage.brand_id}/leader/dashboard", params={"period": "month"},
                                  headers=stage.leader.actor.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _caught_up(setup: Setup, stage: Stage, orders: int) -> dict:
    """The dashboard once it shows `orders` and says the replica is caught up (0 s)."""
    async def shown() -> dict | None:
        figures = await _dashboard(setup, stage)
        return figures if (figures["orders"], figures["staleness_seconds"]) == (orders, 0) else None

    return await _until(shown, f"the dashboard from the caught-up replica with {orders} orders")


@POSTGRESQL_ONLY
@pytest.mark.postgresql
async def test_dashboards_read_the_replica_and_money_reads_the_primary(backend, setup, caplog):  # noqa: ARG001
    ctx = setup.ctx
    world = World(ctx)
    stage = await build_stage(world, per_member_limit=10)
    # 小李's neighbour takes 10 boxes at 68 元 and picks them up; the worker rolls the order up and accrues 102 元.
    first = await buy(ctx, stage, await bound_member(world, stage.leader), quantity=10)
    await complete(ctx, first)
    ctx.clock.advance(timedelta(days=2))  # past the T+1 after-sales window, not settled yet
    await _replica_has(setup, "replayed")
    before = await _caught_up(setup, stage, orders=1)
    assert (before["gmv_fen"], before["pending_fen"], before["available_fen"]) == (68000, 10200, 0)

    # Replay paused: the settlement and a second order are on the primary only.
    await _scalar(setup.replica, "SELECT pg_wal_replay_pause()")
    await _until(lambda: _scalar(setup.replica, "SELECT pg_get_wal_replay_pause_state() = 'paused'"), "replay paused")
    await settle(ctx)
    await buy(ctx, stage, await bound_member(world, stage.leader), quantity=1, offer=False)  # 88 元, the offer is over
    await _replica_has(setup, "received")  # received but not replayed: the replica knows it is behind
    await asyncio.sleep(1.2)  # a second since the last transaction it replayed, at least

    stale = await _dashboard(setup, stage)
    assert (stale["orders"], stale["gmv_fen"]) == (1, 68000)  # the second order is not on the replica
    assert stale["staleness_seconds"] >= 1
    # The commission is the primary's: settled (available 102 元) and the second order's 13.20 元 pending.
    assert (stale["available_fen"], stale["pending_fen"]) == (10200, 1320)
    async with ctx.db.report() as on_replica:
        unsettled = await ledger.leader_balances(session=on_replica, brand_id=stage.brand_id, leader_id=stage.leader.leader_id)
    assert unsettled.available_fen == 0  # what the replica would have said

    setup.http.cookies.set(SESSION_COOKIE, stage.leader.actor.token)
    page = (await setup.http.get(f"/brands/{stage.brand_id}/leader/dashboard", params={"period": "month"})).text
    assert 'data-testid="orders">1<' in page and 'data-testid="available">¥102.00<' in page
    shown = int(page.split("数据延迟约 ", 1)[1].split(" 秒", 1)[0])
    assert shown >= 1

    # What the leader sees before withdrawing, and the withdrawal's own check, are the primary's.
    policy = (await setup.http.get(f"/api/v1/brands/{stage.brand_id}/leader/withdrawal-policy",
                                   headers=stage.leader.actor.headers)).json()
    assert policy["available_fen"] == 10200
    asked = await setup.http.post(f"/api/v1/brands/{stage.brand_id}/leader/withdrawals", json={"amount_fen": 10200},
                                  headers={**stage.leader.actor.headers, "Idempotency-Key": "replica-paused-1"})
    assert asked.status_code == 201, asked.text

    # The brand's dashboard and the commission report are served from the replica too, and say so.
    owner = stage.owner.headers
    brand = (await setup.http.get(f"/api/v1/brands/{stage.brand_id}/dashboard", headers=owner)).json()
    assert brand["totals"]["orders"] == 1 and brand["staleness_seconds"] >= 1
    report = (await setup.http.get(f"/api/v1/brands/{stage.brand_id}/commission-report", headers=owner,
                                   params={"from": "2026-11-01", "to": "2026-11-30"})).json()
    assert report["total"]["orders"] == 1 and report["staleness_seconds"] >= 1
    setup.http.cookies.set(SESSION_COOKIE, stage.owner.token)
    console = (await setup.http.get(f"/brands/{stage.brand_id}/console/reports/commission")).text
    assert 'data-testid="staleness">数据延迟约 ' in console
    board = (await setup.http.get(f"/brands/{stage.brand_id}/console/dashboard")).text
    assert 'data-testid="total-orders">1<' in board and 'data-testid="staleness">数据延迟约 ' in board

    # Resumed, it catches up: both orders, and 0 s.
    await _scalar(setup.replica, "SELECT pg_wal_replay_resume()")
    after = await _caught_up(setup, stage, orders=2)
    assert after["gmv_fen"] == 68000 + 8800 and after["withdrawing_fen"] == 10200

    # Stopped, the dashboards are read from the primary (null: not the replica's), with one warning.
    setup.clusters.stop("replica")
    with caplog.at_level(logging.WARNING, logger="linli.replica"):
        fallen_back = [await _dashboard(setup, stage) for _ in range(2)]
    assert [(f["orders"], f["staleness_seconds"]) for f in fallen_back] == [(2, None), (2, None)]
    assert [r.getMessage() for r in caplog.records if r.name == "linli.replica"] == ["replica.unreachable"]  # then waits
