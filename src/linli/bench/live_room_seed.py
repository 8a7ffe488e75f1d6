"""The room `linli bench live-room` watches: one brand, one community and its leader, a live session.

Everything goes through the service functions (as the flash-sale bench's seed does), so the snapshot a
viewer gets and the events the host fires are the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from linli.accounts import service as accounts
from linli.attribution import service as attribution
from linli.bench.seeding import brand_with_leader
from linli.catalog import service as catalog
from linli.context import AppContext
from linli.live import listings as live_listings
from linli.live import offers as live_offers
from linli.live import sessions as live_sessions

OPEN_AT_START = 2  # community offers already open when the viewers arrive (they are in the snapshot)
MEMBER_BATCH = 250


@dataclass(frozen=True)
class RoomSeed:
    brand_id: int
    session_id: int
    listing_id: int
    draft_offer_ids: list[int]  # opened one by one during the evening
    member_user_ids: list[int]  # bound to the community's leader; each buys once


async def seed_room(ctx: AppContext, *, phases: int, drafts: int, members: int) -> RoomSeed:
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        seeded = await brand_with_leader(session=s, slug="bench-room", now=now)
        units = 10 * (members + 100)
        _, skus = await catalog.create_product(
            session=s, brand_id=seeded.brand_id,
            product=catalog.ProductInput(
                name="黄金奶油草莓", skus=[catalog.SkuInput(name="500g/盒", list_price_fen=9800, stock_quantity=units)]
            ),
            now=now,
        )
        run_of_show = [
            live_sessions.PhaseInput(code=f"segment_{n}", title=f"第 {n + 1} 段：源头直击与社区专享", minutes=10)
            for n in range(phases)
        ]
        live_session = await live_sessions.create_session(
            session=s, brand_id=seeded.brand_id,
            data=live_sessions.SessionInput(title="黄金奶油草莓专场", scheduled_start_at=now, phases=run_of_show), now=now,
        )
        listing = await live_listings.add_listing(
            session=s, brand_id=seeded.brand_id, session_id=live_session.id, sku_id=skus[0].id, live_price_fen=8800,
            allocation=units, per_member_limit=None, now=now,
        )
        await live_sessions.start_session(session=s, brand_id=seeded.brand_id, session_id=live_session.id, now=now)
        offer_ids = []
        for index in range(OPEN_AT_START + drafts):
            offer = await live_offers.create_offer(
                session=s, brand_id=seeded.brand_id, session_id=live_session.id,
                data=live_offers.OfferInput(
                    listing_id=listing.listing.id, community_id=seeded.community_id, price_fen=6800 - 100 * (index % 10),
                    quota=members + 100, per_member_limit=1, starts_at=now - timedelta(minutes=1),
                    ends_at=now + timedelta(hours=6), title=f"云顶华府邻居专享 #{index + 1}",
                ),
                now=now,
            )
            offer_ids.append(offer.offer.id)
        for offer_id in offer_ids[:OPEN_AT_START]:
            await live_offers.open_offer(session=s, brand_id=seeded.brand_id, session_id=live_session.id, offer_id=offer_id, now=now)
    member_ids: list[int] = []
    for start in range(0, members, MEMBER_BATCH):
        async with ctx.db.transaction() as s:
            for index in range(start, min(members, start + MEMBER_BATCH)):
                user = await accounts.get_or_create_user_by_phone(
                    session=s, phone=f"139{index:08d}", now=now, display_name=f"邻居{index + 1}"
                )
                await attribution.enter_with_code(session=s, user_id=user.id, raw_code=seeded.invite_code, now=now)
                member_ids.append(user.id)
    return RoomSeed(
        brand_id=seeded.brand_id, session_id=live_session.id, listing_id=listing.listing.id,
        draft_offer_ids=offer_ids[OPEN_AT_START:], member_user_ids=member_ids,
    )
