"""Helpers for after-sales tests: a paid order picked up, photos, filing over HTTP, and "nothing changed".

The stage (brand, 小李 of 云顶华府, 王姐 of 翠湖花园, a live session with 小李's community offer at 68 yuan)
comes from tests/orders/setup.py; orders are bought with a real succeeded payment (tests/ledger/helpers.py),
so refunds go through payments and the commission through the ledger.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from linli.aftersales.models import Claim, ClaimPhoto, ClaimStatusChange, DeliveredOrder
from linli.context import AppContext
from linli.fulfillment.models import PARCEL_ARRIVED, PARCEL_PICKED_UP, DeliveryWave, Parcel
from linli.ledger.handlers import ORDER_COMPLETED, order_completed_payload
from linli.ledger.models import CommissionLine, CommissionRefund, LedgerTransaction
from linli.orders.models import Order
from linli.outbox.models import OutboxEvent
from linli.outbox.service import emit
from linli.payments.models import Refund
from linli.worker import run_until_idle
from tests.factories import Actor
from tests.orders.setup import Stage

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x22" * 200
WEBP = b"RIFF\x00\x01\x00\x00WEBPVP8 " + b"\x33" * 200


def jpeg(variant: int = 0) -> tuple[str, bytes, str]:
    return (f"photo{variant}.jpg", JPEG + bytes([variant]), "image/jpeg")


async def make_wave(ctx: AppContext, stage: Stage, *, community_id: int | None = None, by: Actor | None = None) -> int:
    """A delivery wave row (stands in for the fulfillment flow, which is built in parallel)."""
    from linli.brands.models import PickupPoint

    community_id = community_id or stage.community_id
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        point = await s.scalar(select(PickupPoint).where(PickupPoint.community_id == community_id))
        wave = DeliveryWave(
            brand_id=stage.brand_id, pickup_point_id=point.id, community_id=community_id, cutoff_at=now, arrive_after=now,
            status="arrived", created_at=now, created_by_user_id=(by or stage.owner).user_id, arrived_at=now,
        )
        s.add(wave)
        await s.flush()
        return wave.id


async def mark_picked_up(
    ctx: AppContext, order_id: int, *, at: datetime | None = None, wave_id: int | None = None, arrived_only: bool = False
) -> None:
    """Puts the order's parcel in the picked-up state (or only arrived at the pickup point).

    STAND-IN for the fulfillment flow (waves, pickup codes, 核销), built in parallel: it writes the Parcel row
    directly and emits `order.completed` as pickup will. Switch it to the real flow after merging.
    """
    at = at or ctx.clock.now()
    async with ctx.db.transaction() as s:
        order = await s.get(Order, order_id)
        parcel = await s.scalar(select(Parcel).where(Parcel.order_id == order_id))
        if parcel is None:
            parcel = Parcel(
                order_id=order.id, brand_id=order.brand_id, member_id=order.member_id, leader_id=order.leader_id,
                community_id=order.community_id, pickup_point_id=order.pickup_point_id, pickup_code=f"{order.id % 1000000:06d}",
                status=PARCEL_ARRIVED, paid_at=order.paid_at, created_at=order.paid_at, reminders_sent=0,
            )
            s.add(parcel)
        parcel.wave_id = wave_id
        parcel.arrived_at = at
        if not arrived_only:
            parcel.status = PARCEL_PICKED_UP
            parcel.picked_up_at = at
            parcel.picked_up_by_user_id = order.user_id
            emit(s, topic=ORDER_COMPLETED, payload=order_completed_payload(order_id=order_id, completed_at=at), now=ctx.clock.now())
    await run_until_idle(ctx)


async def file_claim(
    client: httpx.AsyncClient,
    actor: Actor,
    order_id: int,
    *,
    reason: str = "bad",
    quantity: int = 1,
    amount_fen: int = 2000,
    description: str = "草莓压坏了两颗",
    photos: list[tuple[str, bytes, str]] | None = None,
    key: str | None = None,
) -> httpx.Response:
    files = [("photos", p) for p in (photos if photos is not None else [jpeg()])]
    return await client.post(
        f"/api/v1/orders/{order_id}/claims",
        data={"reason": reason, "quantity": str(quantity), "amount_fen": str(amount_fen), "description": description},
        files=files or None,
        headers={**actor.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def decide(client: httpx.AsyncClient, stage: Stage, claim_id: int, staff: Actor | None = None, **body: object) -> httpx.Response:
    return await client.post(
        f"/api/v1/brands/{stage.brand_id}/claims/{claim_id}/decision", json=body, headers=(staff or stage.owner).headers
    )


async def claim_row(ctx: AppContext, claim_id: int) -> Claim:
    async with ctx.db.read() as s:
        claim = await s.get(Claim, claim_id)
    assert claim is not None
    return claim


async def refunds_of(ctx: AppContext, order_id: int) -> list[Refund]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)))


async def line_clawed(ctx: AppContext, order_id: int) -> tuple[int, int, int, str]:
    """(commission, refunded, clawed back, status) of the order's commission line."""
    async with ctx.db.read() as s:
        line = await s.scalar(select(CommissionLine).where(CommissionLine.order_id == order_id))
    assert line is not None
    return line.commission_fen, line.refunded_fen, line.clawed_back_fen, line.status


def media_files(ctx: AppContext) -> list[Path]:
    root = ctx.settings.media_path
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def snapshot(ctx: AppContext) -> dict:
    """Everything a refused request must leave untouched."""
    async with ctx.db.read() as s:
        counts = {
            m.__tablename__: await s.scalar(select(func.count()).select_from(m))
            for m in (Claim, ClaimPhoto, ClaimStatusChange, Refund, LedgerTransaction, CommissionRefund, OutboxEvent,
                      DeliveredOrder)
        }
        counts["claims"] = sorted((c.id, c.status, c.approved_fen, c.refunded_fen) for c in await s.scalars(select(Claim)))
        counts["orders"] = sorted((o.id, o.status) for o in await s.scalars(select(Order)))
    counts["files"] = [str(p) for p in media_files(ctx)]
    return counts


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]
