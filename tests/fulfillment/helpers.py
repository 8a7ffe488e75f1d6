"""Helpers for fulfillment tests: a stage with paid orders, waves through the API, codes, the CLI.

The stage (brand, 小李 of 云顶华府, 王姐 of 翠湖花园, a live session with a listing and 小李's offer)
comes from tests/orders/setup.py; paid orders come from tests/ledger/helpers.buy (a real payment row).
The clock starts at 10:00 on 20 Nov (Asia/Shanghai): orders are paid then, the wave is cut at 23:05 for the
23:00 cut-off and arrives after 16:00 the next day.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from linli.cli import app as cli_app
from linli.context import AppContext
from linli.fulfillment.models import DeliveryWave, Parcel
from linli.notifications.models import Notification
from linli.orders.models import Order
from linli.worker import run_until_idle
from tests.conftest import START
from tests.factories import Actor
from tests.orders.setup import Stage

CUTOFF = START + timedelta(hours=13)  # 23:00 Shanghai
CUT_AT = CUTOFF + timedelta(minutes=5)
ARRIVE_AFTER = START + timedelta(hours=30)  # 16:00 Shanghai the next day
ARRIVED_AT = ARRIVE_AFTER + timedelta(minutes=30)


async def cut_wave(client, ctx: AppContext, stage: Stage, *, community_id: int | None = None, cutoff: datetime = CUTOFF):  # noqa: ANN001, ANN201
    """Cuts a wave at 23:05 for the 23:00 cut-off, through the staff API; returns the response."""
    if ctx.clock.now() < CUT_AT:
        ctx.clock.set(CUT_AT)
    return await client.post(
        f"/api/v1/brands/{stage.brand_id}/delivery-waves",
        json={"community_id": community_id or stage.community_id, "cutoff_at": cutoff.isoformat(),
              "arrive_after": ARRIVE_AFTER.isoformat()},
        headers=stage.owner.headers,
    )


async def move(client, stage: Stage, wave_id: int, status: str):  # noqa: ANN001, ANN201
    return await client.post(
        f"/api/v1/brands/{stage.brand_id}/delivery-waves/{wave_id}/status", json={"status": status},
        headers=stage.owner.headers,
    )


async def deliver(client, ctx: AppContext, stage: Stage, wave_id: int) -> None:  # noqa: ANN001
    """packed → in_transit → arrived (at 16:30 the next day), then the worker runs (notifications)."""
    for status in ("packed", "in_transit"):
        response = await move(client, stage, wave_id, status)
        assert response.status_code == 200, response.text
    ctx.clock.set(ARRIVED_AT)
    response = await move(client, stage, wave_id, "arrived")
    assert response.status_code == 200, response.text
    await run_until_idle(ctx)


async def code_of(client, buyer: Actor, order_id: int) -> str:  # noqa: ANN001
    response = await client.get(f"/api/v1/orders/{order_id}/pickup-code", headers=buyer.headers)
    assert response.status_code == 200, response.text
    return response.json()["code"]


async def verify(client, stage: Stage, actor: Actor, code: str, *, all_of_member: bool = False):  # noqa: ANN001, ANN201
    return await client.post(
        f"/api/v1/brands/{stage.brand_id}/leader/pickups", json={"code": code, "all_of_member": all_of_member},
        headers=actor.headers,
    )


async def parcel_of(ctx: AppContext, order_id: int) -> Parcel:
    async with ctx.db.read() as s:
        parcel = await s.scalar(select(Parcel).where(Parcel.order_id == order_id))
    assert parcel is not None
    return parcel


async def snapshot(ctx: AppContext) -> tuple:
    """Everything fulfillment writes (and the orders it may refund): a refused request leaves it unchanged."""
    async with ctx.db.read() as s:
        parcels = [
            (p.id, p.status, p.wave_id, p.open_code, p.picked_up_at, p.reminders_sent, p.next_action_at)
            for p in await s.scalars(select(Parcel).order_by(Parcel.id))
        ]
        waves = [(w.id, w.status, w.packed_at, w.shipped_at, w.arrived_at) for w in await s.scalars(select(DeliveryWave).order_by(DeliveryWave.id))]
        orders = [(o.id, o.status) for o in await s.scalars(select(Order).order_by(Order.id))]
        notes = len(list(await s.scalars(select(Notification))))
    return parcels, waves, orders, notes


def run_cli(database_url: str, tmp_path, monkeypatch, *args: str):  # noqa: ANN001, ANN201
    """`linli …` against the test database, in a thread (the command runs its own event loop)."""
    monkeypatch.setenv("LINLI_DATABASE_URL", database_url)
    monkeypatch.setenv("LINLI_SECRET_KEY", "test-secret")
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LINLI_PAYMENT_SIMULATOR", "1")
    return asyncio.to_thread(CliRunner().invoke, cli_app, list(args))
