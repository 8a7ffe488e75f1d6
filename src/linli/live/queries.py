"""Read access to live sessions, listings and offers for other contexts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.errors import NotFound
from linli.live.models import CommunityOffer, Listing, LiveSession


async def order_target(
    *, session: AsyncSession, offer_id: int | None, listing_id: int | None
) -> tuple[CommunityOffer | None, Listing, LiveSession]:
    """What an order is placed against, read in one query: (offer or None, listing, live session)."""
    if offer_id is not None:
        row = (
            await session.execute(
                select(CommunityOffer, Listing, LiveSession)
                .join(Listing, Listing.id == CommunityOffer.listing_id)
                .join(LiveSession, LiveSession.id == Listing.session_id)
                .where(CommunityOffer.id == offer_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("社区专享价不存在", code="offer_not_found")
        return row[0], row[1], row[2]
    row = (
        await session.execute(
            select(Listing, LiveSession).join(LiveSession, LiveSession.id == Listing.session_id).where(Listing.id == listing_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("直播商品不存在", code="listing_not_found")
    return None, row[0], row[1]
