"""Reserving and releasing listing allocation and offer quota, each with one guarded statement.

`UPDATE … SET sold = sold + :q WHERE id = :id AND sold + :q <= cap RETURNING …`: zero rows means
sold out, and the database's row lock makes concurrent buyers queue on the row instead of racing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.live.models import CommunityOffer, Listing


@dataclass(frozen=True)
class Remaining:
    sold: int
    cap: int

    @property
    def left(self) -> int:
        return self.cap - self.sold


async def reserve_listing(*, session: AsyncSession, listing_id: int, quantity: int) -> Remaining | None:
    row = (
        await session.execute(
            update(Listing)
            .where(Listing.id == listing_id, Listing.status == "active", Listing.sold + quantity <= Listing.allocation)
            .values(sold=Listing.sold + quantity)
            .returning(Listing.sold, Listing.allocation)
        )
    ).one_or_none()
    return Remaining(sold=row[0], cap=row[1]) if row else None


async def release_listing(*, session: AsyncSession, listing_id: int, quantity: int) -> Remaining:
    row = (
        await session.execute(
            update(Listing)
            .where(Listing.id == listing_id)
            .values(sold=Listing.sold - quantity)
            .returning(Listing.sold, Listing.allocation)
        )
    ).one()
    return Remaining(sold=row[0], cap=row[1])


async def reserve_offer(*, session: AsyncSession, offer_id: int, quantity: int, now: datetime) -> Remaining | None:
    row = (
        await session.execute(
            update(CommunityOffer)
            .where(
                CommunityOffer.id == offer_id,
                CommunityOffer.status == "open",
                CommunityOffer.starts_at <= now,
                CommunityOffer.ends_at > now,
                CommunityOffer.sold + quantity <= CommunityOffer.quota,
            )
            .values(sold=CommunityOffer.sold + quantity)
            .returning(CommunityOffer.sold, CommunityOffer.quota)
        )
    ).one_or_none()
    return Remaining(sold=row[0], cap=row[1]) if row else None


async def release_offer(*, session: AsyncSession, offer_id: int, quantity: int) -> Remaining:
    row = (
        await session.execute(
            update(CommunityOffer)
            .where(CommunityOffer.id == offer_id)
            .values(sold=CommunityOffer.sold - quantity)
            .returning(CommunityOffer.sold, CommunityOffer.quota)
        )
    ).one()
    return Remaining(sold=row[0], cap=row[1])
