"""Many processes on one database: two `linli serve` processes, two `linli worker`s (one killed mid-run and
replaced), a flash sale split across both API processes and viewers of the room on both.

What must hold however the processes interleave: no unit sold twice (the offer's `sold` equals the units its
live orders hold, never above the quota; the listing and the SKU's stock agree), every paid order accrued
exactly once (one commission line, one balanced accrual posting), no paid order lost, and every viewer of
either process saw every event of the room's stream after its snapshot, exactly once.

On PostgreSQL the workers share the outbox with FOR UPDATE SKIP LOCKED; on SQLite the one write lock
serialises them (`linli serve` runs one process there by default, but several stay correct: this checks it).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from linli import preflight
from linli.catalog.models import Sku
from linli.cli import app as cli_app
from linli.clock import SystemClock
from linli.config import Settings
from linli.context import AppContext
from linli.ledger.audit import run_audit
from linli.ledger.models import TX_ACCRUAL, CommissionLine, LedgerEntry, LedgerTransaction
from linli.live.models import CommunityOffer, Listing
from linli.live.service import room_stream
from linli.orders.models import Order
from linli.outbox.models import OutboxEvent
from linli.payments.models import Payment
from tests.factories import LeaderRef, World, make_bound_member, make_listing, make_live_session, make_offer, make_product
from tests.process_support import ProcessGroup, migrated_database, process_group

MEMBERS = 48
QUOTA = 12
STOCK = 200
VIEWERS_PER_PROCESS = 3
SETTLE_SECONDS = 45  # the most any wait below may take before the test says what is missing


@dataclass
class Stage:
    brand_id: int
    owner_token: str
    leader: LeaderRef
    session_id: int
    listing_id: int
    offer_id: int
    sku_id: int
    member_tokens: list[str]


async def _stage(ctx: AppContext) -> Stage:
    world = World(ctx)
    brand = await world.brand()
    owner = await world.staff(brand)
    community = await world.community(brand, "云顶华府")
    leader = await world.leader(brand, community, approver=owner, name="小李")
    _, skus = await make_product(world, brand, skus=(("500g/盒", 9800, STOCK),))
    session_id = await make_live_session(world, brand, start=True)
    listing = await make_listing(world, brand, session_id, skus[0], allocation=STOCK)
    offer = await make_offer(world, brand, session_id, listing, community, quota=QUOTA, per_member_limit=1, open_now=True)
    members = [await make_bound_member(world, leader) for _ in range(MEMBERS)]
    return Stage(brand, owner.token, leader, session_id, listing, offer, skus[0], [m.token for m in members])


@dataclass
class Viewer:
    """One SSE connection to the room: the snapshot's event id, then the id of every event, in arrival order."""

    base: str
    snapshot_id: int | None = None
    ids: list[int] = field(default_factory=list)
    ended: bool = False
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def watch(self, client: httpx.AsyncClient, session_id: int) -> None:
        event: dict[str, str] = {}
        async with client.stream("GET", f"{self.base}/api/v1/live-sessions/{session_id}/events") as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line:
                    name, _, value = line.partition(": ")
                    event[name] = value
                    continue
                if event.get("event") == "snapshot":
                    self.snapshot_id = json.loads(event["data"])["as_of_event_id"]
                    self.connected.set()
                elif event.get("event") == "session_ended":
                    self.ended = True
                    return
                elif "id" in event:
                    self.ids.append(int(event["id"]))
                event = {}


async def _buy_and_pay(client: httpx.AsyncClient, *, base: str, other: str, token: str, offer_id: int) -> int | None:
    """One member rushes the offer on `base`; a winner pays there and the payer's page completes on `other`."""
    headers = {"Authorization": f"Bearer {token}"}
    placed = await client.post(
        f"{base}/api/v1/orders", json={"offer_id": offer_id, "quantity": 1},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    if placed.status_code == 409:
        return None
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    payment = await client.post(f"{base}/api/v1/orders/{order_id}/payments", json={"provider": "simulator"}, headers=headers)
    assert payment.status_code in (200, 201), payment.text
    done = await client.post(
        f"{other}/api/v1/payments/simulator/{payment.json()['out_trade_no']}/complete", json={"outcome": "success"}
    )
    assert done.status_code == 200, done.text
    return order_id


async def _rush_killing_a_worker(
    client: httpx.AsyncClient, group: ProcessGroup, *, bases: list[str], stage: Stage, doomed
) -> list[int]:
    """Every member tries once, alternating between the API processes; when a third have had their answer the
    doomed worker is SIGKILLed (whatever it holds is rolled back by the database) and a new one starts."""
    finished = 0
    third = asyncio.Event()

    async def member(index: int, token: str) -> int | None:
        nonlocal finished
        base, other = bases[index % 2], bases[(index + 1) % 2]
        try:
            return await _buy_and_pay(client, base=base, other=other, token=token, offer_id=stage.offer_id)
        finally:
            finished += 1
            if finished * 3 >= len(stage.member_tokens):
                third.set()

    async def kill_and_replace() -> None:
        await third.wait()
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        await group.worker()

    outcomes, _ = await asyncio.gather(
        asyncio.gather(*(member(i, t) for i, t in enumerate(stage.member_tokens))), kill_and_replace()
    )
    return [order_id for order_id in outcomes if order_id is not None]


async def _until(condition, *, what: str):  # noqa: ANN001, ANN202 - a coroutine function returning (done, detail)
    """Waits for the system to settle (delivery is asynchronous), at most SETTLE_SECONDS; fails saying what is missing."""
    detail = None
    for _ in range(int(SETTLE_SECONDS / 0.2)):
        done, detail = await condition()
        if done:
            return detail
        await asyncio.sleep(0.2)
    pytest.fail(f"{what} did not happen within {SETTLE_SECONDS} s: {detail}")


async def test_two_api_processes_and_two_workers_one_killed_keep_every_invariant(backend, tmp_path):
    secret = secrets.token_urlsafe(32)
    async with migrated_database(backend, tmp_path) as url:
        settings = Settings(database_url=url, secret_key=secret, data_dir=tmp_path, inprocess_worker=False,
                            payment_simulator_enabled=True, db_pool_size=2, db_max_overflow=2)
        ctx = AppContext.build(settings, clock=SystemClock())
        try:
            stage = await _stage(ctx)
            # The API processes deliver nothing themselves: only the `linli worker` processes do. Small pools: the
            # PostgreSQL server (max_connections) is shared with every other test run on the machine.
            with process_group(
                database_url=url, secret_key=secret, folder=tmp_path, LINLI_INPROCESS_WORKER="0",
                LINLI_DB_POOL_SIZE="5", LINLI_DB_MAX_OVERFLOW="5",
            ) as group:
                first, second, doomed, _ = await asyncio.gather(group.serve(), group.serve(), group.worker(), group.worker())
                bases = [first, second]
                limits = httpx.Limits(max_connections=MEMBERS + 2 * VIEWERS_PER_PROCESS + 8)
                async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=None), limits=limits) as client:
                    viewers = [Viewer(base) for base in bases for _ in range(VIEWERS_PER_PROCESS)]
                    watching = [asyncio.create_task(v.watch(client, stage.session_id)) for v in viewers]
                    await asyncio.wait_for(asyncio.gather(*(v.connected.wait() for v in viewers)), SETTLE_SECONDS)
                    winners = await _rush_killing_a_worker(client, group, bases=bases, stage=stage, doomed=doomed)
                    ended = await client.post(
                        f"{bases[1]}/api/v1/brands/{stage.brand_id}/live-sessions/{stage.session_id}/end",
                        headers={"Authorization": f"Bearer {stage.owner_token}"},
                    )
                    assert ended.status_code == 200, ended.text
                    done, pending = await asyncio.wait(watching, timeout=SETTLE_SECONDS)
                    for task in pending:
                        task.cancel()
                    assert not pending, [(v.base, len(v.ids)) for v in viewers if not v.ended]
                    for task in done:
                        task.result()  # a viewer whose stream failed fails here
                await _until(lambda: _outbox_delivered(ctx), what="delivery of every outbox event")
            await _check_sale(ctx, stage, winners)
            await _check_accruals(ctx, winners)
            await _check_viewers(ctx, stage, viewers)
        finally:
            await ctx.db.dispose()


async def _outbox_delivered(ctx: AppContext) -> tuple[bool, int]:
    async with ctx.db.read() as s:
        pending = await s.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.processed_at.is_(None)))
    return pending == 0, pending


async def _check_sale(ctx: AppContext, stage: Stage, winners: list[int]) -> None:
    async with ctx.db.read() as s:
        offer = await s.get(CommunityOffer, stage.offer_id)
        listing = await s.get(Listing, stage.listing_id)
        sku = await s.get(Sku, stage.sku_id)
        orders = (await s.scalars(select(Order).where(Order.listing_id == stage.listing_id))).all()
        succeeded = (await s.scalars(select(Payment.order_id).where(Payment.status == "succeeded"))).all()
    holding = [o for o in orders if o.status in ("pending_payment", "paid")]
    assert len(winners) == len(set(winners)) == QUOTA  # more members than units: the quota sells out, once
    assert offer.sold == sum(o.quantity for o in holding if o.offer_id == stage.offer_id) == QUOTA
    assert listing.sold == sum(o.quantity for o in holding) == QUOTA
    assert sku.stock_quantity + listing.sold == STOCK
    assert len({o.user_id for o in holding}) == len(holding)  # one unit per member, as the offer's limit says
    paid = {o.id for o in orders if o.status == "paid"}
    assert paid == set(winners)  # every winner paid, and nobody else did
    assert sorted(succeeded) == sorted(winners)  # one succeeded payment per paid order, none without its order


async def _check_accruals(ctx: AppContext, winners: list[int]) -> None:
    async with ctx.db.read() as s:
        lines = (await s.scalars(select(CommissionLine).where(CommissionLine.order_id.in_(winners)))).all()
        postings = (
            await s.scalars(select(LedgerTransaction).where(LedgerTransaction.kind == TX_ACCRUAL, LedgerTransaction.order_id.in_(winners)))
        ).all()
        entries = (
            await s.scalars(select(LedgerEntry).where(LedgerEntry.transaction_id.in_([p.id for p in postings] or [0])))
        ).all()
        audit = await run_audit(session=s, now=ctx.clock.now())
    assert Counter(line.order_id for line in lines) == Counter(winners)  # one commission line per paid order
    assert Counter(p.order_id for p in postings) == Counter(winners)  # accrued exactly once each
    commission = {line.order_id: line.commission_fen for line in lines}
    assert all(amount > 0 for amount in commission.values())
    for posting in postings:
        amounts = sorted(e.amount_fen for e in entries if e.transaction_id == posting.id)
        assert amounts == [-commission[posting.order_id], commission[posting.order_id]]  # expense → leader pending
    assert audit.ok, audit.to_text()


async def _check_viewers(ctx: AppContext, stage: Stage, viewers: list[Viewer]) -> None:
    async with ctx.db.read() as s:
        stream = (
            await s.scalars(select(OutboxEvent.id).where(OutboxEvent.stream == room_stream(stage.session_id)).order_by(OutboxEvent.id))
        ).all()
    assert len(stream) > 2 * QUOTA  # the stock and ticker events of the sale, the closed offer, the end
    for viewer in viewers:
        assert viewer.ended and viewer.snapshot_id is not None
        expected = [i for i in stream if i > viewer.snapshot_id]
        assert len(viewer.ids) == len(set(viewer.ids)), f"{viewer.base} saw an event twice"
        missing = sorted(set(expected) - set(viewer.ids))
        assert not missing, f"{viewer.base} missed {missing}"
        assert set(viewer.ids) <= set(stream), f"{viewer.base} got ids the stream does not have"


# --- how many processes `linli serve` runs ---------------------------------------------------------------


def test_serve_runs_one_process_per_core_on_postgresql_and_one_on_sqlite(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert preflight.api_processes(url="postgresql+asyncpg://db/linli", requested=None) == 4
    assert preflight.api_processes(url="sqlite+aiosqlite:///var/linli.db", requested=None) == 1
    assert preflight.api_processes(url="sqlite+aiosqlite:///var/linli.db", requested=3) == 3  # asked for: honoured
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # the count is unknown: one
    assert preflight.api_processes(url="postgresql+asyncpg://db/linli", requested=None) == 1


def test_serve_on_the_embedded_database_starts_one_process_unless_told(monkeypatch, tmp_path):
    import uvicorn

    calls: list[tuple[object, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    for name in [k for k in os.environ if k.startswith("LINLI_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LINLI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/serve.db")
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LINLI_DEV_MODE", "1")
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    one_process = CliRunner().invoke(cli_app, ["serve"])
    assert one_process.exit_code == 0 and "写锁" not in one_process.output
    told = CliRunner().invoke(cli_app, ["serve", "--no-migrate", "--workers", "2"])
    assert told.exit_code == 0 and "2 个进程共用同一把写锁" in told.output  # honoured, and said what it buys
    (one, one_kw), (two, two_kw) = calls
    assert not isinstance(one, str) and "workers" not in one_kw  # the app itself, in this process
    assert two == "linli.asgi:app" and two_kw["workers"] == 2
    refused = CliRunner().invoke(cli_app, ["serve", "--workers", "0"])
    assert refused.exit_code == 2 and len(calls) == 2
