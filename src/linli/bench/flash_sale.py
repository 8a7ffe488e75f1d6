"""`linli bench flash-sale`: many distinct members rush one community offer over HTTP.

The run creates its own database, seeds a brand, a leader, N members bound to that leader and a
live session with offers of `quota` units, starts `linli serve` in another process (on PostgreSQL with
its in-process outbox worker off and one `linli worker` process beside it) and sends the members at an
offer `concurrency` at a time. Winners pay through the payment simulator. Then the
database is checked: nothing oversold, no paid order lost.

Two ceilings, each on its own offer with the same quota, the same members and the same concurrency:
- the engine's (linli.bench.engine_ceiling): the least work any correct server does per attempt, on a raw
  driver, run just before and just after the HTTP run (the mean is reported, and both values), while no
  server is up (its connections and the server's pool would not fit in PostgreSQL's default 100 together);
- `ceiling_per_second`: linli's own reservation transaction (`orders.place_order`) called in-process.
Beside them the HTTP floor (linli.bench.bare_order): the engine's statements behind a bare Starlette endpoint
with as many processes as the server under test, driven by the same client: what HTTP in Python costs here.
Each run is also split into its phases (linli.bench.phases): the opening rush while units remain and the
refusals after the sell-out; and an "every attempt buys" run (quota = buyers) measures purchases alone.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import math
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from linli import migrate
from linli.accounts import service as accounts
from linli.attribution import service as attribution
from linli.bench.engine_ceiling import run_engine_ceiling
from linli.bench.harness import (
    KeepAliveConnection, free_port, http_process, scratch_database, server_process, worker_process,
)
from linli.bench.seeding import brand_with_leader
from linli.bench.phases import Attempt, RunFigures, figures, mean, ratio
from linli.bench.statements import count_statements
from linli.catalog import service as catalog
from linli.clock import SystemClock
from linli.config import Settings
from linli.context import AppContext
from linli.errors import DomainError
from linli.live import listings as live_listings
from linli.live import offers as live_offers
from linli.live import sessions as live_sessions
from linli.live.models import CommunityOffer
from linli.orders import service as orders
from linli.orders.models import Order
from linli.payments.models import Payment
from linli.preflight import api_processes


ALL_BUY_BUYERS = 300  # the "every attempt buys" run: this many members (or all, if fewer) on an offer of as many units


@dataclass
class FlashSaleResult:
    db: str
    server_workers: int
    attempts: int
    concurrency: int
    quota: int
    sold: int
    oversold: int
    paid: int
    lost_paid_orders: int
    errors: int
    attempts_per_second: float
    p50_ms: float
    p99_ms: float
    ceiling_per_second: float  # orders.place_order in-process (linli's own transaction, no HTTP)
    ratio: float
    # The engine's ceiling: the mean of the raw client's runs just before and just after the HTTP run.
    engine_ceiling_per_second: float
    engine_ceiling_before_per_second: float
    engine_ceiling_after_per_second: float
    engine_ratio: float
    engine_p50_ms: float
    engine_p99_ms: float
    p99_vs_engine: float
    purchases_per_second: float
    engine_purchases_per_second: float
    purchase_ratio: float
    refusals_per_second: float
    engine_refusals_per_second: float
    refusal_ratio: float
    refusals_after_sell_out: int  # the HTTP run's attempts that began after its last purchase
    all_buy_buyers: int
    all_buy_sold: int
    all_buy_purchases_per_second: float
    engine_all_buy_purchases_per_second: float
    all_buy_ratio: float
    # The HTTP floor: the engine's statements behind a bare Starlette endpoint, the same client and processes.
    http_floor_per_second: float
    http_floor_purchases_per_second: float
    http_floor_refusals_per_second: float
    http_floor_all_buy_purchases_per_second: float
    http_floor_p99_ms: float
    http_floor_ratio: float  # the floor's attempts per second over the engine's: HTTP in Python, nothing else
    http_floor_purchase_ratio: float
    http_floor_refusal_ratio: float
    http_floor_all_buy_ratio: float
    floor_share: float  # linli's attempts per second over the floor's: what linli's own stack keeps of it
    http_floor_sold: list[int]  # read back: the floor's rush offer, then its all-buy offer
    http_floor_errors: int
    engine_sold: list[int]  # read back from the database: the engine's rush offers (before, after), then all-buy
    engine_oversold: int
    engine_errors: int
    statements_per_order: int
    statements_per_refusal: int


@dataclass
class Offers:
    http: int
    ceiling: int
    engine_before: int
    engine_after: int
    all_buy_http: int
    all_buy_engine: int
    statements: int  # quota 2: two orders then a sold-out refusal, counted in-process
    floor: int
    all_buy_floor: int


@dataclass
class Seed:
    brand_id: int
    session_id: int
    offers: Offers
    users: list[tuple[int, str]]  # (user id, bearer token)


async def _seed(ctx: AppContext, *, members: int, quota: int, all_buy: int) -> Seed:
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        seeded = await brand_with_leader(session=s, slug="bench", now=now)
        product, skus = await catalog.create_product(
            session=s, brand_id=seeded.brand_id,
            product=catalog.ProductInput(
                name="黄金奶油草莓", skus=[catalog.SkuInput(name="500g/盒", list_price_fen=9800, stock_quantity=10 * quota + all_buy + 100)]
            ),
            now=now,
        )
        del product
        live_session = await live_sessions.create_session(
            session=s, brand_id=seeded.brand_id, data=live_sessions.SessionInput(title="黄金奶油草莓专场", scheduled_start_at=now), now=now
        )
        listing = await live_listings.add_listing(
            session=s, brand_id=seeded.brand_id, session_id=live_session.id, sku_id=skus[0].id, live_price_fen=8800,
            allocation=10 * quota + all_buy + 100, per_member_limit=None, now=now,
        )
        await live_sessions.start_session(session=s, brand_id=seeded.brand_id, session_id=live_session.id, now=now)
        offer_ids = []
        # The HTTP run, the in-process ceiling, the engine before and after, all-buy over HTTP and by the engine,
        # the statement count, and the HTTP floor's rush and all-buy: each its own offer, so every member may try
        # each once.
        for offer_quota in (quota, quota, quota, quota, all_buy, all_buy, 2, quota, all_buy):
            offer = await live_offers.create_offer(
                session=s, brand_id=seeded.brand_id, session_id=live_session.id,
                data=live_offers.OfferInput(
                    listing_id=listing.listing.id, community_id=seeded.community_id, price_fen=6800, quota=offer_quota, per_member_limit=1,
                    starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=6), title="云顶华府邻居专享",
                ),
                now=now,
            )
            await live_offers.open_offer(session=s, brand_id=seeded.brand_id, session_id=live_session.id, offer_id=offer.offer.id, now=now)
            offer_ids.append(offer.offer.id)
    users: list[tuple[int, str]] = []
    batch = 250
    for start in range(0, members, batch):
        async with ctx.db.transaction() as s:
            for index in range(start, min(members, start + batch)):
                user = await accounts.get_or_create_user_by_phone(session=s, phone=f"139{index:08d}", now=now)
                await attribution.enter_with_code(session=s, user_id=user.id, raw_code=seeded.invite_code, now=now)
                issued = await accounts.issue_token(session=s, settings=ctx.settings, user=user, method="sms", now=now)
                users.append((user.id, issued.token))
    return Seed(brand_id=seeded.brand_id, session_id=live_session.id, offers=Offers(*offer_ids), users=users)


async def _rush_over_http(
    base: str, *, offer_id: int, users: list[tuple[int, str]], concurrency: int
) -> tuple[list[Attempt], list[int], float]:
    """Every member tries once; returns the attempts, the winners' order ids and the elapsed seconds.

    `concurrency` connections each send one request at a time, so that many are in flight at once.
    """
    host, port = base.removeprefix("http://").split(":")
    queue: asyncio.Queue[str] = asyncio.Queue()
    for _, token in users:
        queue.put_nowait(token)
    attempts: list[Attempt] = []
    winners: list[int] = []
    body = json.dumps({"offer_id": offer_id, "quantity": 1}).encode()

    async def client() -> None:
        connection = KeepAliveConnection(host, int(port))
        try:
            while not queue.empty():
                token = queue.get_nowait()
                started = time.perf_counter() - origin
                status, payload = await connection.request(
                    "POST", "/api/v1/orders", body=body,
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                )
                attempts.append(Attempt(started, time.perf_counter() - origin, bought=status == 201, failed=status not in (201, 409)))
                if status == 201:
                    winners.append(json.loads(payload)["id"])
        finally:
            await connection.close()

    origin = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return attempts, winners, time.perf_counter() - origin


@asynccontextmanager
async def _floor_server(*, database_url: str, secret_key: str, processes: int, connections: int) -> AsyncIterator[str]:
    """linli.bench.bare_order in its own process(es); yields its base URL."""
    port = free_port()
    env = {
        **os.environ, "LINLI_DATABASE_URL": database_url, "LINLI_SECRET_KEY": secret_key,
        "LINLI_BENCH_FLOOR_CONNECTIONS": str(math.ceil(connections / processes)),
    }
    argv = [sys.executable, "-m", "linli.bench.bare_order", "--port", str(port), "--processes", str(processes)]
    async with http_process(argv=argv, env=env, port=port) as server:
        yield server.base_url


async def _pay_winners(base: str, *, winners: list[int], tokens: dict[int, str], concurrency: int) -> int:
    gate = asyncio.Semaphore(concurrency)
    failures = 0
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def pay(order_id: int) -> None:
            nonlocal failures
            async with gate:
                headers = {"Authorization": f"Bearer {tokens[order_id]}"}
                payment = await client.post(f"/api/v1/orders/{order_id}/payments", json={"provider": "simulator"}, headers=headers)
                if payment.status_code not in (200, 201):
                    failures += 1
                    return
                done = await client.post(
                    f"/api/v1/payments/simulator/{payment.json()['out_trade_no']}/complete", json={"outcome": "success"}
                )
                if done.status_code != 200:
                    failures += 1

        await asyncio.gather(*(pay(order_id) for order_id in winners))
    return failures


async def _ceiling(ctx: AppContext, *, offer_id: int, users: list[tuple[int, str]], concurrency: int) -> float:
    """The same reservation transaction, called directly: attempts per second at the same concurrency."""
    gate = asyncio.Semaphore(concurrency)

    async def attempt(user_id: int) -> None:
        async with gate:
            try:
                async with ctx.db.transaction() as s:
                    await orders.place_order(
                        session=s, user_id=user_id, listing_id=None, offer_id=offer_id, quantity=1,
                        idempotency_key=uuid.uuid4().hex, pickup_community_id=None,
                        payment_ttl=timedelta(minutes=10), now=ctx.clock.now(),
                    )
            except DomainError:
                pass

    started = time.perf_counter()
    await asyncio.gather(*(attempt(user_id) for user_id, _ in users))
    return len(users) / (time.perf_counter() - started)


async def _verify(ctx: AppContext, *, offer_id: int, quota: int, paid_order_ids: list[int]) -> tuple[int, int, int, int]:
    """(sold, oversold, paid, lost paid orders), read back from the database."""
    async with ctx.db.read() as s:
        offer = await s.get(CommunityOffer, offer_id)
        assert offer is not None
        held = await s.scalar(
            select(func.coalesce(func.sum(Order.quantity), 0)).where(
                Order.offer_id == offer_id, Order.status.in_(("pending_payment", "paid"))
            )
        )
        paid = await s.scalar(select(func.count()).where(Order.offer_id == offer_id, Order.status == "paid"))
        succeeded_orders = set(
            (
                await s.scalars(
                    select(Payment.order_id).where(Payment.status == "succeeded", Payment.order_id.in_(paid_order_ids or [0]))
                )
            ).all()
        )
        paid_orders = set(
            (await s.scalars(select(Order.id).where(Order.id.in_(succeeded_orders or {0}), Order.status == "paid"))).all()
        )
    sold = max(offer.sold, int(held or 0))
    lost = len(succeeded_orders - paid_orders) + (len(paid_order_ids) - len(succeeded_orders))
    return sold, max(0, sold - quota), int(paid or 0), lost


async def _engine_sold(ctx: AppContext, *, offer_ids: list[int]) -> list[int]:
    """Units the engine's offers sold, read back: the offer's counter or its held orders, whichever is more."""
    sold = []
    async with ctx.db.read() as s:
        for offer_id in offer_ids:
            offer = await s.get(CommunityOffer, offer_id)
            assert offer is not None
            held = await s.scalar(select(func.coalesce(func.sum(Order.quantity), 0)).where(Order.offer_id == offer_id))
            sold.append(max(offer.sold, int(held or 0)))
    return sold


async def run_flash_sale(
    *, db: str, members: int, concurrency: int, quota: int, server_workers: int | None = None
) -> FlashSaleResult:
    """`server_workers` None: as many API processes as `linli serve` runs by default on that database."""
    all_buy = min(ALL_BUY_BUYERS, members)
    async with scratch_database(db) as url:
        server_workers = api_processes(url=url, requested=server_workers)
        await asyncio.to_thread(migrate.upgrade, url)
        secret = secrets.token_urlsafe(32)
        settings = Settings(database_url=url, secret_key=secret, inprocess_worker=False, payment_simulator_enabled=True)
        ctx = AppContext.build(settings, clock=SystemClock())
        try:
            seed = await _seed(ctx, members=members, quota=quota, all_buy=all_buy)
            offers = seed.offers
            tokens_by_user = dict(seed.users)
            tokens = [token for _, token in seed.users]

            async def engine(offer_id: int, buyers: list[str]) -> RunFigures:
                return await run_engine_ceiling(
                    database_url=url, secret_key=secret, offer_id=offer_id, tokens=buyers, concurrency=concurrency,
                    clock=ctx.clock, payment_ttl=timedelta(minutes=settings.order_payment_minutes),
                )

            # The engine runs while no server is up: its `concurrency` connections and the server's pool would
            # not fit in PostgreSQL's default max_connections (100) together. One server start: the rush meets a
            # cold server, as it always has.
            engine_before = await engine(offers.engine_before, tokens)
            # Deployed as for a rush (docs/operations.md): on PostgreSQL the API processes only serve and a
            # `linli worker` beside them takes the outbox; SQLite keeps its one process's in-process worker.
            separate_worker = db == "postgresql"
            async with (
                server_process(
                    database_url=url, secret_key=secret, workers=server_workers,
                    extra_env={"LINLI_INPROCESS_WORKER": "0"} if separate_worker else None,
                ) as base,
                worker_process(database_url=url, secret_key=secret) if separate_worker else nullcontext(),
            ):
                attempts, winners, elapsed = await _rush_over_http(
                    base, offer_id=offers.http, users=seed.users, concurrency=concurrency
                )
                all_buy_attempts, _, all_buy_elapsed = await _rush_over_http(
                    base, offer_id=offers.all_buy_http, users=seed.users[:all_buy], concurrency=concurrency
                )
                async with ctx.db.read() as s:
                    owners = dict(
                        (await s.execute(select(Order.id, Order.user_id).where(Order.id.in_(winners or [0])))).all()
                    )
                pay_failures = await _pay_winners(
                    base, winners=winners, tokens={o: tokens_by_user[u] for o, u in owners.items()}, concurrency=concurrency
                )
            engine_after = await engine(offers.engine_after, tokens)
            # The floor, like the engine, runs while linli's server is down (connections; the same cores).
            async with _floor_server(
                database_url=url, secret_key=secret, processes=server_workers, connections=concurrency
            ) as floor_base:
                floor_attempts, _, floor_elapsed = await _rush_over_http(
                    floor_base, offer_id=offers.floor, users=seed.users, concurrency=concurrency
                )
                floor_all_buy_attempts, _, floor_all_buy_elapsed = await _rush_over_http(
                    floor_base, offer_id=offers.all_buy_floor, users=seed.users[:all_buy], concurrency=concurrency
                )
            floor_sold = await _engine_sold(ctx, offer_ids=[offers.floor, offers.all_buy_floor])
            engine_all_buy = await engine(offers.all_buy_engine, tokens[:all_buy])
            ceiling = await _ceiling(ctx, offer_id=offers.ceiling, users=seed.users, concurrency=concurrency)
            counts = await count_statements(ctx, offer_id=offers.statements, tokens=tokens[:3])
            sold, oversold, paid, lost = await _verify(ctx, offer_id=offers.http, quota=quota, paid_order_ids=winners)
            engine_sold = await _engine_sold(ctx, offer_ids=[offers.engine_before, offers.engine_after, offers.all_buy_engine])
        finally:
            await ctx.db.dispose()
    http = figures(attempts, elapsed=elapsed)
    http_all_buy = figures(all_buy_attempts, elapsed=all_buy_elapsed)
    floor = figures(floor_attempts, elapsed=floor_elapsed)
    floor_all_buy = figures(floor_all_buy_attempts, elapsed=floor_all_buy_elapsed)
    raw = mean([engine_before, engine_after])
    return FlashSaleResult(
        db=db, server_workers=server_workers, attempts=len(seed.users), concurrency=concurrency, quota=quota, sold=sold,
        oversold=oversold, paid=paid, lost_paid_orders=lost, errors=http.errors + http_all_buy.errors + pay_failures,
        attempts_per_second=round(http.attempts_per_second, 1),
        p50_ms=round(http.p50_ms, 1), p99_ms=round(http.p99_ms, 1),
        ceiling_per_second=round(ceiling, 1), ratio=ratio(http.attempts_per_second, ceiling),
        engine_ceiling_per_second=round(raw.attempts_per_second, 1),
        engine_ceiling_before_per_second=round(engine_before.attempts_per_second, 1),
        engine_ceiling_after_per_second=round(engine_after.attempts_per_second, 1),
        engine_ratio=ratio(http.attempts_per_second, raw.attempts_per_second),
        engine_p50_ms=round(raw.p50_ms, 1), engine_p99_ms=round(raw.p99_ms, 1), p99_vs_engine=ratio(http.p99_ms, raw.p99_ms),
        purchases_per_second=round(http.purchases_per_second, 1),
        engine_purchases_per_second=round(raw.purchases_per_second, 1),
        purchase_ratio=ratio(http.purchases_per_second, raw.purchases_per_second),
        refusals_per_second=round(http.refusals_per_second, 1),
        engine_refusals_per_second=round(raw.refusals_per_second, 1),
        refusal_ratio=ratio(http.refusals_per_second, raw.refusals_per_second),
        refusals_after_sell_out=http.refusals_after_sell_out,
        all_buy_buyers=all_buy, all_buy_sold=http_all_buy.sold,
        all_buy_purchases_per_second=round(http_all_buy.purchases_per_second, 1),
        engine_all_buy_purchases_per_second=round(engine_all_buy.purchases_per_second, 1),
        all_buy_ratio=ratio(http_all_buy.purchases_per_second, engine_all_buy.purchases_per_second),
        http_floor_per_second=round(floor.attempts_per_second, 1),
        http_floor_purchases_per_second=round(floor.purchases_per_second, 1),
        http_floor_refusals_per_second=round(floor.refusals_per_second, 1),
        http_floor_all_buy_purchases_per_second=round(floor_all_buy.purchases_per_second, 1),
        http_floor_p99_ms=round(floor.p99_ms, 1),
        http_floor_ratio=ratio(floor.attempts_per_second, raw.attempts_per_second),
        http_floor_purchase_ratio=ratio(floor.purchases_per_second, raw.purchases_per_second),
        http_floor_refusal_ratio=ratio(floor.refusals_per_second, raw.refusals_per_second),
        http_floor_all_buy_ratio=ratio(floor_all_buy.purchases_per_second, engine_all_buy.purchases_per_second),
        floor_share=ratio(http.attempts_per_second, floor.attempts_per_second),
        http_floor_sold=floor_sold,
        http_floor_errors=floor.errors + floor_all_buy.errors,
        engine_sold=engine_sold,
        engine_oversold=sum(max(0, n - cap) for n, cap in zip(engine_sold, (quota, quota, all_buy), strict=True)),
        engine_errors=engine_before.errors + engine_after.errors + engine_all_buy.errors,
        statements_per_order=counts.per_order, statements_per_refusal=counts.per_refusal,
    )


def as_dict(result: FlashSaleResult) -> dict:
    return asdict(result)


# (label, linli key, engine key, ratio key): the rows the table shows side by side.
_SIDE_BY_SIDE = [
    ("attempts/s", "attempts_per_second", "engine_ceiling_per_second", "engine_ratio"),
    ("purchases/s (rush)", "purchases_per_second", "engine_purchases_per_second", "purchase_ratio"),
    ("refusals/s (sold out)", "refusals_per_second", "engine_refusals_per_second", "refusal_ratio"),
    ("all-buy purchases/s", "all_buy_purchases_per_second", "engine_all_buy_purchases_per_second", "all_buy_ratio"),
    ("p50 ms", "p50_ms", "engine_p50_ms", None),
    ("p99 ms", "p99_ms", "engine_p99_ms", "p99_vs_engine"),
]


def as_table(result: FlashSaleResult) -> str:
    """linli beside the engine for each figure, then the rest of the result one per line."""
    data = as_dict(result)
    lines = [f"{'':>24}  {'linli':>10}  {'engine':>10}  {'ratio':>7}"]
    shown: set[str] = set()
    for label, mine, theirs, quotient in _SIDE_BY_SIDE:
        lines.append(f"{label:>24}  {data[mine]:>10}  {data[theirs]:>10}  {data[quotient] if quotient else '':>7}")
        shown |= {mine, theirs, quotient or ""}
    lines.append("")
    lines += [f"{key:>32}: {value}" for key, value in data.items() if key not in shown]
    return "\n".join(lines)
