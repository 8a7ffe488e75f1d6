"""`linli bench flash-sale`: many distinct members rush one community offer over HTTP.

The run creates its own database, seeds a brand, a leader, N members bound to that leader and a
live session with an offer of `quota` units, starts `linli serve` in another process and sends the
members at the offer `concurrency` at a time. Winners pay through the payment simulator. Then the
database is checked: nothing oversold, no paid order lost. The ceiling is the same reservation
transaction (`orders.place_order`) run directly against the database, at the same concurrency, on a
second offer with the same quota, in the same run.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from linli import migrate
from linli.accounts import service as accounts
from linli.attribution import service as attribution
from linli.bench.harness import KeepAliveConnection, percentile, scratch_database, server_process
from linli.brands import service as brands
from linli.catalog import service as catalog
from linli.clock import SystemClock
from linli.config import Settings
from linli.context import AppContext
from linli.errors import DomainError
from linli.leaders import invite_codes
from linli.leaders import service as leaders
from linli.live import listings as live_listings
from linli.live import offers as live_offers
from linli.live import sessions as live_sessions
from linli.live.models import CommunityOffer
from linli.orders import service as orders
from linli.orders.models import Order
from linli.payments.models import Payment


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
    ceiling_per_second: float
    ratio: float


@dataclass
class Seed:
    brand_id: int
    session_id: int
    offer_ids: list[int]
    users: list[tuple[int, str]]  # (user id, bearer token)


async def _seed(ctx: AppContext, *, members: int, quota: int) -> Seed:
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        brand = await brands.create_brand(session=s, name="优邻优选", slug="bench", timezone="Asia/Shanghai", now=now)
        community, _ = await brands.create_community(
            session=s, brand_id=brand.id, name="云顶华府", address="云顶路 88 号",
            pickup=brands.PickupPointInput(
                name="云顶华府自提点", address="3 号楼底商", opening_hours="09:00-21:00", contact_name="小李",
                contact_phone="13800000001",
            ),
            now=now,
        )
        owner = await accounts.get_or_create_user_by_phone(session=s, phone="13700000000", now=now, display_name="店长")
        await brands.add_staff(session=s, brand_id=brand.id, user_id=owner.id, role="owner", now=now)
        leader_user = await accounts.get_or_create_user_by_phone(session=s, phone="13800000001", now=now, display_name="小李")
        leader = await leaders.apply(
            session=s, brand_id=brand.id, user_id=leader_user.id, community_id=community.id, real_name="小李", note="",
            now=now,
        )
        await leaders.approve(session=s, brand_id=brand.id, leader_id=leader.id, actor_user_id=owner.id, now=now)
        code = await invite_codes.current_code(session=s, leader_id=leader.id)
        assert code is not None
        product, skus = await catalog.create_product(
            session=s, brand_id=brand.id,
            product=catalog.ProductInput(
                name="黄金奶油草莓", skus=[catalog.SkuInput(name="500g/盒", list_price_fen=9800, stock_quantity=10 * quota + 100)]
            ),
            now=now,
        )
        del product
        live_session = await live_sessions.create_session(
            session=s, brand_id=brand.id, data=live_sessions.SessionInput(title="黄金奶油草莓专场", scheduled_start_at=now), now=now
        )
        listing = await live_listings.add_listing(
            session=s, brand_id=brand.id, session_id=live_session.id, sku_id=skus[0].id, live_price_fen=8800,
            allocation=10 * quota + 100, per_member_limit=None, now=now,
        )
        await live_sessions.start_session(session=s, brand_id=brand.id, session_id=live_session.id, now=now)
        offer_ids = []
        for _ in range(2):  # one for the HTTP run, one for the ceiling
            offer = await live_offers.create_offer(
                session=s, brand_id=brand.id, session_id=live_session.id,
                data=live_offers.OfferInput(
                    listing_id=listing.listing.id, community_id=community.id, price_fen=6800, quota=quota, per_member_limit=1,
                    starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=6), title="云顶华府邻居专享",
                ),
                now=now,
            )
            await live_offers.open_offer(session=s, brand_id=brand.id, session_id=live_session.id, offer_id=offer.offer.id, now=now)
            offer_ids.append(offer.offer.id)
    users: list[tuple[int, str]] = []
    batch = 250
    for start in range(0, members, batch):
        async with ctx.db.transaction() as s:
            for index in range(start, min(members, start + batch)):
                user = await accounts.get_or_create_user_by_phone(session=s, phone=f"139{index:08d}", now=now)
                await attribution.enter_with_code(session=s, user_id=user.id, raw_code=code.code, now=now)
                issued = await accounts.issue_token(session=s, settings=ctx.settings, user=user, method="sms", now=now)
                users.append((user.id, issued.token))
    return Seed(brand_id=brand.id, session_id=live_session.id, offer_ids=offer_ids, users=users)


async def _rush_over_http(base: str, *, offer_id: int, users: list[tuple[int, str]], concurrency: int) -> tuple[list[float], list[int], float, int]:
    """Every member tries once; returns latencies (ms), the winners' order ids, elapsed seconds and errors.

    `concurrency` connections each send one request at a time, so that many are in flight at once.
    """
    host, port = base.removeprefix("http://").split(":")
    queue: asyncio.Queue[str] = asyncio.Queue()
    for _, token in users:
        queue.put_nowait(token)
    latencies: list[float] = []
    winners: list[int] = []
    errors = 0
    body = json.dumps({"offer_id": offer_id, "quantity": 1}).encode()

    async def client() -> None:
        nonlocal errors
        connection = KeepAliveConnection(host, int(port))
        try:
            while not queue.empty():
                token = queue.get_nowait()
                started = time.perf_counter()
                status, payload = await connection.request(
                    "POST", "/api/v1/orders", body=body,
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                if status == 201:
                    winners.append(json.loads(payload)["id"])
                elif status != 409:
                    errors += 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, winners, time.perf_counter() - started, errors


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


async def run_flash_sale(*, db: str, members: int, concurrency: int, quota: int, server_workers: int = 1) -> FlashSaleResult:
    async with scratch_database(db) as url:
        await asyncio.to_thread(migrate.upgrade, url)
        secret = secrets.token_urlsafe(32)
        settings = Settings(database_url=url, secret_key=secret, inprocess_worker=False, payment_simulator_enabled=True)
        ctx = AppContext.build(settings, clock=SystemClock())
        try:
            seed = await _seed(ctx, members=members, quota=quota)
            tokens_by_user = dict(seed.users)
            async with server_process(database_url=url, secret_key=secret, workers=server_workers) as base:
                latencies, winners, elapsed, errors = await _rush_over_http(
                    base, offer_id=seed.offer_ids[0], users=seed.users, concurrency=concurrency
                )
                async with ctx.db.read() as s:
                    owners = dict(
                        (await s.execute(select(Order.id, Order.user_id).where(Order.id.in_(winners or [0])))).all()
                    )
                pay_failures = await _pay_winners(
                    base, winners=winners, tokens={o: tokens_by_user[u] for o, u in owners.items()}, concurrency=concurrency
                )
            ceiling = await _ceiling(ctx, offer_id=seed.offer_ids[1], users=seed.users, concurrency=concurrency)
            sold, oversold, paid, lost = await _verify(ctx, offer_id=seed.offer_ids[0], quota=quota, paid_order_ids=winners)
        finally:
            await ctx.db.dispose()
    rate = len(seed.users) / elapsed
    return FlashSaleResult(
        db=db, server_workers=server_workers, attempts=len(seed.users), concurrency=concurrency, quota=quota, sold=sold, oversold=oversold, paid=paid,
        lost_paid_orders=lost, errors=errors + pay_failures, attempts_per_second=round(rate, 1),
        p50_ms=round(percentile(latencies, 0.50), 1), p99_ms=round(percentile(latencies, 0.99), 1),
        ceiling_per_second=round(ceiling, 1), ratio=round(rate / ceiling, 3) if ceiling else 0.0,
    )


def as_dict(result: FlashSaleResult) -> dict:
    return asdict(result)
