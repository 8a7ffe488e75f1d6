"""A shop whose leaders have earned: 小李 and 王姐 of tests/orders/setup.py, commission settled to available."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from linli.context import AppContext
from linli.ledger.models import LedgerEntry, LedgerTransaction
from linli.outbox.models import OutboxEvent
from linli.payouts.models import PayoutCallback, PayoutPolicy, Withdrawal
from linli.payouts.simulator import SimulatorPayoutProvider
from tests.factories import Actor, LeaderRef
from tests.ledger.helpers import balances, buy, complete, settle
from tests.orders.setup import Stage, bound_member, build_stage


@pytest.fixture
async def stage(world) -> Stage:
    return await build_stage(world, quota=500, per_member_limit=100)


@pytest.fixture
def payout_sim(ctx: AppContext) -> SimulatorPayoutProvider:
    provider = ctx.payouts["simulator"]
    assert isinstance(provider, SimulatorPayoutProvider)
    return provider


@pytest.fixture(autouse=True)
async def _drain_payout_simulator(ctx: AppContext):
    """No delayed delivery may outlive its test (it would write into the next test's database)."""
    yield
    provider = ctx.payouts.get("simulator")
    if isinstance(provider, SimulatorPayoutProvider):
        await provider.drain()


async def earn(ctx: AppContext, world, stage: Stage, leader: LeaderRef | None = None, *, boxes: int = 10) -> int:
    """A bound member buys `boxes` (68 元 each on 小李's offer, 88 元 off-offer for 王姐), picks up, it settles.
    Returns the leader's available balance afterwards (15% commission: 10 boxes on the offer = 102 元)."""
    leader = leader or stage.leader
    buyer = await bound_member(world, leader)
    order_id = await buy(ctx, stage, buyer, quantity=boxes, offer=leader is stage.leader)
    await complete(ctx, order_id)
    ctx.clock.advance(timedelta(days=2))  # past the T+1 after-sales window
    await settle(ctx)
    return (await balances(ctx, stage, leader.leader_id)).available_fen


async def ask(http: httpx.AsyncClient, stage: Stage, actor: Actor, amount_fen: int, key: str | None = None) -> httpx.Response:
    return await http.post(
        f"/api/v1/brands/{stage.brand_id}/leader/withdrawals", json={"amount_fen": amount_fen},
        headers={**actor.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def approve(http: httpx.AsyncClient, stage: Stage, staff: Actor, withdrawal_id: int) -> httpx.Response:
    return await http.post(f"/api/v1/brands/{stage.brand_id}/withdrawals/{withdrawal_id}/approve", headers=staff.headers)


async def withdrawal(ctx: AppContext, withdrawal_id: int) -> Withdrawal:
    async with ctx.db.read() as s:
        row = await s.get(Withdrawal, withdrawal_id)
    assert row is not None
    return row


async def snapshot(ctx: AppContext) -> dict:
    """Everything a refused request must leave untouched."""
    async with ctx.db.read() as s:
        counts = {
            m.__tablename__: await s.scalar(select(func.count()).select_from(m))
            for m in (Withdrawal, LedgerTransaction, LedgerEntry, OutboxEvent, PayoutCallback, PayoutPolicy)
        }
        counts["withdrawals"] = sorted((w.id, w.status, w.amount_fen) for w in await s.scalars(select(Withdrawal)))
    return counts


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]
