"""The worker keeps campaign kits current: a session scheduled or changed, a template or cover changed, a
leader approved, suspended, reinstated or given a new invite code. It also recomputes an interest group whose
rule was created or changed, at once (the daily recomputation is a scheduled job).

A session's kits are made BATCH leaders per event: each step handles the next leaders and, if there are more,
emits `marketing.kits_continue` for the rest, so 50,000 leaders are many short transactions, each retried
alone if it fails. Every step compares fingerprints, so replaying any of them changes nothing; each kit it makes or
remakes is pushed to its leader (`announcements.py`, one push per kit version).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.context import AppContext
from linli.leaders.service import LEADER_SHARE_CHANGED
from linli.marketing import announcements, interests, kits
from linli.marketing.service import KITS_STALE
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry, emit

KITS_CONTINUE = "marketing.kits_continue"
SESSION_TOPICS = ("live.session_scheduled", "live.session_updated", "live.session_cancelled", "live.session_ended")


def register(registry: HandlerRegistry, ctx: AppContext) -> None:
    base_url = ctx.settings.public_base_url

    async def step(session: AsyncSession, *, brand_id: int, session_id: int, after_leader_id: int, now: datetime) -> None:
        result = await kits.refresh_kits(
            session=session, brand_id=brand_id, session_id=session_id, base_url=base_url, now=now,
            after_leader_id=after_leader_id,
        )
        await announcements.announce_kits(
            session=session, brand_id=brand_id, session_id=session_id, changes=result.changed, base_url=base_url, now=now
        )
        if result.last_leader_id is not None:
            emit(session, topic=KITS_CONTINUE, now=now, payload={
                "brand_id": brand_id, "session_id": session_id, "after_leader_id": result.last_leader_id})

    async def session_changed(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        card = event.payload
        await step(session, brand_id=card["brand_id"], session_id=card["id"], after_leader_id=0, now=now)

    async def continued(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        p = event.payload
        await step(session, brand_id=p["brand_id"], session_id=p["session_id"], after_leader_id=p["after_leader_id"], now=now)

    async def stale(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        brand_id, session_id = event.payload["brand_id"], event.payload["session_id"]
        if session_id is not None:
            targets = [session_id]
        else:
            targets = [target for _, target in await kits.upcoming_sessions(session=session, brand_id=brand_id)]
        for target in targets:
            await step(session, brand_id=brand_id, session_id=target, after_leader_id=0, now=now)

    async def leader_changed(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        brand_id, leader_id = event.payload["brand_id"], event.payload["leader_id"]
        for _, target in await kits.upcoming_sessions(session=session, brand_id=brand_id):
            result = await kits.refresh_kits(
                session=session, brand_id=brand_id, session_id=target, base_url=base_url, now=now, leader_ids=[leader_id]
            )
            await announcements.announce_kits(
                session=session, brand_id=brand_id, session_id=target, changes=result.changed, base_url=base_url, now=now
            )

    async def interest_rule_changed(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        group = await interests.get_group(
            session=session, brand_id=event.payload["brand_id"], group_id=event.payload["group_id"], for_update=True
        )
        await interests.recompute_group(session=session, group=group, as_of=now)

    for topic in SESSION_TOPICS:
        registry.register(topic, session_changed)
    registry.register(KITS_CONTINUE, continued)
    registry.register(KITS_STALE, stale)
    registry.register("leader.approved", leader_changed)
    registry.register(LEADER_SHARE_CHANGED, leader_changed)
    registry.register(interests.RULE_CHANGED, interest_rule_changed)
