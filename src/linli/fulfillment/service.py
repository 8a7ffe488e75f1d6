"""Fulfillment rules (waves, pickup, tracking). Other contexts read a parcel through these functions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.fulfillment.models import Parcel


async def find_parcel(*, session: AsyncSession, order_id: int) -> Parcel | None:
    return await session.scalar(select(Parcel).where(Parcel.order_id == order_id))


async def picked_up_at(*, session: AsyncSession, order_id: int) -> datetime | None:
    """When the member collected the order (the after-sales window counts from here); None if not yet."""
    return await session.scalar(select(Parcel.picked_up_at).where(Parcel.order_id == order_id))
