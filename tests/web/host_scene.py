"""The host panel's tests run on the demo's live strawberry evening (phase 2 of 3, 社区专享团购, 云顶华府's offer
open), with a draft offer of oranges for a community added: what the host opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from linli.accounts import service as accounts
from linli.brands.models import Community
from linli.context import AppContext
from linli.demo.cast import STRAWBERRY_TITLE
from linli.live import offers as live_offers
from linli.live.models import CommunityOffer, Listing, LiveSession
from linli.live.service import room_stream
from linli.outbox.models import OutboxEvent
from tests.web.workbench_scene import Demo, load


@dataclass
class HostScene:
    demo: Demo
    session_id: int
    open_offer_id: int  # 云顶华府's strawberries, 68 元, 100 left
    draft_offer_id: int  # oranges for `draft_community`, a draft
    orange_listing_id: int

    @property
    def panel(self) -> str:
        return f"/brands/{self.demo.brand_id}/console/sessions/{self.session_id}/host"


async def host_scene(ctx: AppContext, *, draft_community: str = "翠湖花园") -> HostScene:
    demo = await load(ctx)
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        live = await s.scalar(select(LiveSession).where(LiveSession.title == STRAWBERRY_TITLE))
        assert live is not None
        [open_offer] = (await s.scalars(select(CommunityOffer).where(CommunityOffer.session_id == live.id))).all()
        orange = await s.scalar(
            select(Listing).where(Listing.session_id == live.id, Listing.id != open_offer.listing_id)
        )
        community = await s.scalar(
            select(Community).where(Community.brand_id == demo.brand_id, Community.name == draft_community)
        )
        assert orange is not None and community is not None
        draft = await live_offers.create_offer(
            session=s, brand_id=demo.brand_id, session_id=live.id,
            data=live_offers.OfferInput(
                listing_id=orange.id, community_id=community.id, price_fen=3990, quota=20, per_member_limit=3,
                starts_at=now, ends_at=now + timedelta(hours=2), title=f"{draft_community}邻居专享·爱媛果冻橙",
            ),
            now=now,
        )
    return HostScene(demo, live.id, open_offer.id, draft.offer.id, orange.id)


@dataclass(frozen=True)
class Seen:
    """What the host's actions change, read back from the database."""

    status: str
    current_phase: int | None
    offers: dict[int, str]
    announced: int
    room_events: int


async def seen(ctx: AppContext, session_id: int) -> Seen:
    async with ctx.db.read() as s:
        live = await s.get(LiveSession, session_id)
        assert live is not None
        offers = dict((await s.execute(select(CommunityOffer.id, CommunityOffer.status).where(
            CommunityOffer.session_id == session_id))).all())
        stream = OutboxEvent.stream == room_stream(session_id)
        announced = await s.scalar(select(func.count()).where(stream, OutboxEvent.topic == live_offers.ANNOUNCED_TOPIC))
        events = await s.scalar(select(func.count()).where(stream))
        return Seen(live.status, live.current_phase, offers, int(announced or 0), int(events or 0))


async def member_token(ctx: AppContext, phone: str) -> str:
    """The token an SMS sign-in would set as the page cookie (the sign-in pages have their own tests)."""
    async with ctx.db.transaction() as s:
        user = await accounts.get_or_create_user_by_phone(session=s, phone=phone, now=ctx.clock.now())
        issued = await accounts.issue_token(session=s, settings=ctx.settings, user=user, method="sms", now=ctx.clock.now())
    return issued.token
