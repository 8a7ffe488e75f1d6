"""Helpers for after-sales tests: a paid order picked up, photos, filing over HTTP, and "nothing changed".

The stage (brand, 小李 of 云顶华府, 王姐 of 翠湖花园, a live session with 小李's community offer at 68 yuan)
comes from tests/orders/setup.py; orders are bought with a real succeeded payment (tests/ledger/helpers.py),
so refunds go through payments and the commission through the ledger.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from linli.aftersales.models import Claim, ClaimPhoto, ClaimStatusChange, DeliveredOrder
from linli.brands.models import StaffMember
from linli.context import AppContext
from linli.fulfillment import pickup, waves
from linli.fulfillment import service as fulfillment
from linli.fulfillment.models import WAVE_ARRIVED, WAVE_IN_TRANSIT, WAVE_PACKED
from linli.leaders.models import Leader
from linli.ledger.models import CommissionLine, CommissionRefund, LedgerTransaction
from linli.members.models import Member
from linli.orders.models import Order
from linli.outbox.models import OutboxEvent
from linli.payments.models import Refund
from linli.worker import run_until_idle
from tests.factories import Actor
from tests.orders.setup import Stage

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x22" * 200
WEBP = b"RIFF\x00\x01\x00\x00WEBPVP8 " + b"\x33" * 200


def jpeg(variant: int = 0) -> tuple[str, bytes, str]:
    return (f"photo{variant}.jpg", JPEG + bytes([variant]), "image/jpeg")


async def mark_picked_up(ctx: AppContext, *order_ids: int, arrived_only: bool = False) -> dict[int, int]:
    """The real fulfillment flow for these paid orders, at the clock's current time: the worker makes their
    parcels, staff cut one wave per pickup point and move it packed → in transit → arrived, then the point's
    leader verifies each pickup code (核销), which emits `order.completed`. Returns each order's wave id."""
    await run_until_idle(ctx)
    now = ctx.clock.now()
    async with ctx.db.read() as s:
        parcels = [await fulfillment.find_parcel(session=s, order_id=order_id) for order_id in order_ids]
    assert all(p is not None for p in parcels), "every order must be paid (its parcel is made on payment)"
    points = {(p.brand_id, p.community_id) for p in parcels if p.wave_id is None}
    for brand_id, community_id in sorted(points):
        async with ctx.db.transaction() as s:
            staff_user_id = await s.scalar(select(StaffMember.user_id).where(StaffMember.brand_id == brand_id).limit(1))
            wave = await waves.create_wave(
                session=s, brand_id=brand_id, community_id=community_id, cutoff_at=now,
                arrive_after=now + timedelta(hours=1), actor_user_id=staff_user_id, now=now,
            )
        for step in (WAVE_PACKED, WAVE_IN_TRANSIT, WAVE_ARRIVED):
            async with ctx.db.transaction() as s:
                await waves.advance_wave(session=s, brand_id=brand_id, wave_id=wave.id, to=step, now=now)
    async with ctx.db.read() as s:
        parcels = [await fulfillment.find_parcel(session=s, order_id=order_id) for order_id in order_ids]
    if not arrived_only:
        for parcel in parcels:
            async with ctx.db.transaction() as s:
                holder = await s.scalar(
                    select(Member.user_id).join(Leader, Leader.member_id == Member.id)
                    .where(Leader.community_id == parcel.community_id, Leader.status == "active")
                )
                await pickup.verify_pickup(
                    session=s, brand_id=parcel.brand_id, user_id=holder, raw_code=parcel.pickup_code,
                    all_of_member=False, now=now,
                )
    await run_until_idle(ctx)
    return {p.order_id: p.wave_id for p in parcels}


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
    """The claim photos stored (the demo's campaign cover lives beside them, under covers/)."""
    root = ctx.settings.media_path / "claims"
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
