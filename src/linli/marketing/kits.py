"""Making and remaking campaign kits: one per active leader per scheduled (or live) session.

A kit is a snapshot of what the leader shares: the copy filled from the session's template, the invite link,
the poster's words. Its fingerprint hashes all of it and the cover; `refresh_kits` compares fingerprints and
rewrites only the kits whose content changed (version + 1), so a redelivered event or a second refresh changes
nothing, and a change of title, time, template, cover or invite code remakes the kit in place, never a second.
The poster PNG is drawn on first download and kept in the file storage under the fingerprint (`poster_key`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.models import Brand
from linli.db import insert_missing
from linli.leaders import invite_codes
from linli.leaders.models import Leader
from linli.leaders.share_cards import ShareCard, share_cards
from linli.live import service as live
from linli.live.models import LiveSession
from linli.marketing import copy
from linli.marketing.models import CampaignKit, CopyTemplate, SessionCampaign
from linli.members.models import Member
from linli.timefmt import format_announcement

KIT_STATUSES_OF_SESSION = ("scheduled", "live")  # a kit is worth sharing until the session ends
BATCH = 200  # leaders per refresh step: a brand with 50,000 leaders is 250 short transactions, not one long one


@dataclass(frozen=True)
class KitSource:
    """What every kit of one session shares."""

    brand: Brand
    live: LiveSession
    template_body: str
    cover_sha256: str | None


async def template_of_session(*, session: AsyncSession, brand_id: int, campaign: SessionCampaign | None) -> str:
    """The session's chosen template, else the brand's default, else linli's own."""
    if campaign is not None and campaign.copy_template_id is not None:
        chosen = await session.get(CopyTemplate, campaign.copy_template_id)
        if chosen is not None:
            return chosen.body
    default = await session.scalar(
        select(CopyTemplate.body).where(CopyTemplate.brand_id == brand_id, CopyTemplate.is_default.is_(True)).limit(1)
    )
    return default or copy.DEFAULT_TEMPLATE_BODY


async def campaign_of(*, session: AsyncSession, session_id: int) -> SessionCampaign | None:
    return await session.scalar(select(SessionCampaign).where(SessionCampaign.session_id == session_id))


async def kit_source(*, session: AsyncSession, brand_id: int, session_id: int) -> KitSource:
    live_session = await live.get_brand_session(session=session, brand_id=brand_id, session_id=session_id)
    campaign = await campaign_of(session=session, session_id=session_id)
    return KitSource(
        brand=await brands.get_brand(session=session, brand_id=brand_id),
        live=live_session,
        template_body=await template_of_session(session=session, brand_id=brand_id, campaign=campaign),
        cover_sha256=campaign.cover_sha256 if campaign is not None else None,
    )


@dataclass(frozen=True)
class KitContent:
    leader_name: str
    badge: str
    invite_code: str
    invite_link: str
    copy_text: str
    fingerprint: str


def kit_content(source: KitSource, card: ShareCard, *, base_url: str) -> KitContent:
    assert card.invite_code is not None
    link = invite_codes.invite_link(base_url=base_url, code=card.invite_code)
    starts = format_announcement(source.live.scheduled_start_at, source.brand.timezone)
    text = copy.fill(source.template_body, {
        "团长": card.name, "小区": card.community_name, "品牌": source.brand.name, "直播标题": source.live.title,
        "开播时间": starts, "邀请链接": link, "邀请码": card.invite_code,
    })[:2000]
    drawn = [source.brand.name, source.live.title, starts, source.cover_sha256, card.badge, card.name, card.invite_code, link, text]
    fingerprint = hashlib.sha256(json.dumps(drawn, ensure_ascii=False).encode()).hexdigest()
    return KitContent(
        leader_name=card.name[:32], badge=card.badge[:100], invite_code=card.invite_code, invite_link=link,
        copy_text=text, fingerprint=fingerprint,
    )


@dataclass(frozen=True)
class KitChange:
    """A kit made or remade by a refresh: what its pushes need."""

    kit_id: int
    leader_id: int
    user_id: int
    version: int


@dataclass(frozen=True)
class RefreshResult:
    changed: list[KitChange]
    withdrawn: int
    last_leader_id: int | None  # where the next step starts; None: every leader is done


async def withdraw_kits(*, session: AsyncSession, session_id: int, now: datetime, leader_ids: list[int] | None = None) -> int:
    query = update(CampaignKit).where(CampaignKit.session_id == session_id, CampaignKit.status == "current")
    if leader_ids is not None:
        if not leader_ids:
            return 0
        query = query.where(CampaignKit.leader_id.in_(leader_ids))
    result = await session.execute(query.values(status="withdrawn", remade_at=now))
    return result.rowcount or 0


async def refresh_kits(
    *, session: AsyncSession, brand_id: int, session_id: int, base_url: str, now: datetime,
    leader_ids: list[int] | None = None, after_leader_id: int = 0,
) -> RefreshResult:
    """Brings the kits of `leader_ids` (else of the next BATCH active leaders after `after_leader_id`) up to date."""
    source = await kit_source(session=session, brand_id=brand_id, session_id=session_id)
    if source.live.status not in KIT_STATUSES_OF_SESSION:
        withdrawn = await withdraw_kits(session=session, session_id=session_id, now=now)
        return RefreshResult(changed=[], withdrawn=withdrawn, last_leader_id=None)
    cards = await share_cards(
        session=session, brand_id=brand_id, brand_name=source.brand.name, leader_ids=leader_ids,
        after_leader_id=after_leader_id, limit=None if leader_ids is not None else BATCH,
    )
    sharing = [c for c in cards if c.invite_code is not None]  # no current code: nothing to share until a new one
    existing_query = select(CampaignKit).where(CampaignKit.session_id == session_id).with_for_update()
    if leader_ids is not None:
        existing_query = existing_query.where(CampaignKit.leader_id.in_(leader_ids))
    else:
        last = cards[-1].leader_id if len(cards) == BATCH else None
        existing_query = existing_query.where(CampaignKit.leader_id > after_leader_id)
        if last is not None:
            existing_query = existing_query.where(CampaignKit.leader_id <= last)
    existing = {k.leader_id: k for k in await session.scalars(existing_query)}
    contents = {c.leader_id: kit_content(source, c, base_url=base_url) for c in sharing}

    await insert_missing(session, CampaignKit, [
        {
            "brand_id": brand_id, "session_id": session_id, "leader_id": leader_id, "status": "current",
            "leader_name": content.leader_name, "badge": content.badge, "invite_code": content.invite_code,
            "invite_link": content.invite_link, "copy_text": content.copy_text, "fingerprint": content.fingerprint,
            "version": 1, "made_at": now, "remade_at": now, "reminded": "",
        }
        for leader_id, content in contents.items() if leader_id not in existing
    ])
    changed: list[KitChange] = []
    users = {c.leader_id: c.user_id for c in sharing}
    for leader_id, content in contents.items():
        kit = existing.get(leader_id)
        if kit is None or (kit.fingerprint == content.fingerprint and kit.status == "current"):
            continue
        kit.status, kit.version, kit.remade_at = "current", kit.version + 1, now
        kit.leader_name, kit.badge, kit.invite_code = content.leader_name, content.badge, content.invite_code
        kit.invite_link, kit.copy_text, kit.fingerprint = content.invite_link, content.copy_text, content.fingerprint
        changed.append(KitChange(kit_id=kit.id, leader_id=leader_id, user_id=users[leader_id], version=kit.version))
    made = [leader_id for leader_id in contents if leader_id not in existing]
    if made:
        rows = await session.execute(
            select(CampaignKit.id, CampaignKit.leader_id, CampaignKit.version)
            .where(CampaignKit.session_id == session_id, CampaignKit.leader_id.in_(made), CampaignKit.made_at == now)
        )
        # A concurrent refresh that made the same kit first made it: it also announces it.
        changed += [KitChange(kit_id=i, leader_id=leader, user_id=users[leader], version=v) for i, leader, v in rows if v == 1]
    gone = [leader_id for leader_id, kit in existing.items() if leader_id not in contents and kit.status == "current"]
    withdrawn = await withdraw_kits(session=session, session_id=session_id, now=now, leader_ids=gone)
    await session.flush()
    done = leader_ids is not None or len(cards) < BATCH
    return RefreshResult(
        changed=sorted(changed, key=lambda c: c.leader_id), withdrawn=withdrawn,
        last_leader_id=None if done else cards[-1].leader_id,
    )


async def upcoming_sessions(*, session: AsyncSession, brand_id: int | None) -> list[tuple[int, int]]:
    """(brand, session) of every session whose kits are worth keeping current, of one brand or of all."""
    query = select(LiveSession.brand_id, LiveSession.id).where(LiveSession.status.in_(KIT_STATUSES_OF_SESSION))
    if brand_id is not None:
        query = query.where(LiveSession.brand_id == brand_id)
    return [(b, s) for b, s in await session.execute(query.order_by(LiveSession.id))]


def poster_key(kit: CampaignKit) -> str:
    return f"kits/{kit.session_id}/{kit.leader_id}-{kit.fingerprint[:32]}.png"


async def kits_to_remind(*, session: AsyncSession, session_id: int, reminder: str, limit: int) -> list[tuple[CampaignKit, int]]:
    """Current kits of active leaders not yet sent `reminder`, with each leader's user, locked (a second reminder
    job waits, then finds them sent)."""
    rows = await session.execute(
        select(CampaignKit, Member.user_id)
        .join(Leader, Leader.id == CampaignKit.leader_id).join(Member, Member.id == Leader.member_id)
        .where(CampaignKit.session_id == session_id, CampaignKit.status == "current", CampaignKit.reminded != reminder,
               Leader.status == "active")
        .order_by(CampaignKit.id).limit(limit).with_for_update(of=CampaignKit)
    )
    return [(kit, user_id) for kit, user_id in rows]


async def kits_by_community(*, session: AsyncSession, session_id: int) -> dict[int, CampaignKit]:
    """The current kit of each community's active leader for the session."""
    rows = await session.execute(
        select(Leader.community_id, CampaignKit).join(Leader, Leader.id == CampaignKit.leader_id)
        .where(CampaignKit.session_id == session_id, CampaignKit.status == "current", Leader.status == "active")
    )
    return {community_id: kit for community_id, kit in rows}
