"""What campaign kits push, automatically: each leader hears of a new or remade kit the moment the worker makes it,
each leader is reminded a day and an hour before the session starts, and an hour before it each community's group
gets its own leader's preview text (under the group's 70/30 ceiling: a preview is commerce, so a group whose recent
messages are already commerce-heavy holds it for the brand instead of sending it).

Every push carries a dedupe key (the kit and its version; the session, its start and the lead time; the group), so
a redelivered event or a second run of the reminder job pushes nothing twice, and a rescheduled session is
reminded again for its new start.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.community import group_pushes
from linli.community import service as community
from linli.live.models import LiveSession
from linli.marketing import kits
from linli.marketing.models import CampaignKit
from linli.notifications import pushes
from linli.pagination import PageParams
from linli.timefmt import format_announcement

REMINDERS = (("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)))  # the nearest first
LEAD_TEXT = {"1h": "1 小时后开播", "24h": "明天这个时候开播"}
GROUP_PREVIEW_LEAD = "1h"
MAX_PREVIEW = 450  # the inbox's 500 characters and a robot's 2,048 bytes of text, with room for the title
KITS_PER_STEP = 500
GROUPS_PER_PAGE = 200


def _title(prefix: str, title: str) -> str:
    return (prefix + title)[:64]  # the inbox's title limit


async def announce_kits(
    *, session: AsyncSession, brand_id: int, session_id: int, changes: list[kits.KitChange], base_url: str, now: datetime
) -> int:
    """Tells each leader whose kit was just made or remade; returns the pushes queued."""
    if not changes:
        return 0
    source = await kits.kit_source(session=session, brand_id=brand_id, session_id=session_id)
    starts = format_announcement(source.live.scheduled_start_at, source.brand.timezone)
    for change in changes:
        fresh = change.version == 1
        await pushes.enqueue(
            session=session, brand_id=brand_id, tag="commerce", kind="campaign_kit", now=now, base_url=base_url,
            title=_title("新的直播作战包：" if fresh else "直播作战包已更新：", source.live.title),
            body=(f"{starts} 开播。海报（带您的邀请二维码）和预告文案已备好：下载海报、复制文案，发到小区群和朋友圈。" if fresh
                  else f"{starts} 开播。直播的时间、标题或文案有变，请改用新版海报和文案。"),
            dedupe_key=f"campaign_kit:{change.kit_id}:v{change.version}", recipients=[change.user_id],
            link=f"/brands/{brand_id}/leader/kits",
        )
    return len(changes)


def lead_of(start: datetime, now: datetime) -> str | None:
    """Which reminder is due for a session starting at `start`: the nearest lead time it is within."""
    for lead, ahead in REMINDERS:
        if now < start <= now + ahead:
            return lead
    return None


async def remind(*, session: AsyncSession, base_url: str, now: datetime) -> int:
    """The reminders due now for every scheduled session starting within a day; returns the pushes queued
    (already-queued ones, from an earlier run, are not counted again)."""
    upcoming = await session.scalars(
        select(LiveSession).where(
            LiveSession.status == "scheduled", LiveSession.scheduled_start_at > now,
            LiveSession.scheduled_start_at <= now + REMINDERS[-1][1],
        ).order_by(LiveSession.id)
    )
    queued = 0
    for live_session in list(upcoming):
        lead = lead_of(live_session.scheduled_start_at, now)
        assert lead is not None
        queued += await _remind_leaders(session, live_session, lead=lead, base_url=base_url, now=now)
        if lead == GROUP_PREVIEW_LEAD:
            queued += await _preview_to_groups(session, live_session, base_url=base_url, now=now)
    return queued


async def _remind_leaders(session: AsyncSession, live_session: LiveSession, *, lead: str, base_url: str, now: datetime) -> int:
    brand = await brands.get_brand(session=session, brand_id=live_session.brand_id)
    starts = format_announcement(live_session.scheduled_start_at, brand.timezone)
    reminder = f"{lead}:{live_session.scheduled_start_at.isoformat()}"  # a rescheduled session is reminded again
    queued = 0
    while batch := await kits.kits_to_remind(session=session, session_id=live_session.id, reminder=reminder, limit=KITS_PER_STEP):
        for kit, user_id in batch:
            done = await pushes.enqueue(
                session=session, brand_id=brand.id, tag="commerce", kind="kit_reminder", now=now, base_url=base_url,
                title=_title(f"{LEAD_TEXT[lead]}：", live_session.title),
                body=f"{starts} 开播。还没转发的话，现在把作战包的海报和文案发到小区群吧。",
                dedupe_key=f"kit_reminder:{kit.id}:{reminder}", recipients=[user_id], link=f"/brands/{brand.id}/leader/kits",
            )
            kit.reminded = reminder
            queued += int(done.created)
        await session.flush()
    return queued


async def _preview_to_groups(session: AsyncSession, live_session: LiveSession, *, base_url: str, now: datetime) -> int:
    """Each community's group gets its own leader's preview (the kit's text, which names that leader and community)."""
    by_community = await kits.kits_by_community(session=session, session_id=live_session.id)
    queued, page = 0, 1
    while groups := (await community.brand_groups(
        session=session, brand_id=live_session.brand_id, params=PageParams(page=page, page_size=GROUPS_PER_PAGE)
    ))[0]:
        page += 1
        queued += await _preview_page(session, live_session, groups, by_community, base_url=base_url, now=now)
    return queued


async def _preview_page(
    session: AsyncSession, live_session: LiveSession, groups: list, by_community: dict[int, CampaignKit], *,  # noqa: ANN001
    base_url: str, now: datetime,
) -> int:
    queued = 0
    for group in groups:
        kit = by_community.get(group.community_id)
        if kit is None:
            continue
        text = kit.copy_text if len(kit.copy_text) <= MAX_PREVIEW else kit.copy_text[: MAX_PREVIEW - 1] + "…"
        done = await group_pushes.enqueue_for_group(
            session=session, brand_id=live_session.brand_id, group_id=group.id, tag="commerce", kind="session_preview",
            title=_title("今天直播：", live_session.title), body=text, now=now, base_url=base_url,
            dedupe_key=f"session_preview:{live_session.id}:{live_session.scheduled_start_at.isoformat()}:{group.id}",
        )
        queued += int(done.created)
    return queued
