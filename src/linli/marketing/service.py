"""Campaign kits, the face other contexts and the routes use: the brand's copy templates, a session's
campaign settings (its template, the cover on its posters), the leader's kits and their posters.

A change that alters kits (a template, a session's settings) emits `marketing.kits_stale`; the worker remakes
the kits (handlers.py), never the request that made the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from linli import posters
from linli import images
from linli.brands import service as brands
from linli.config import Settings
from linli.errors import InvalidInput, NotFound
from linli.leaders import service as leaders
from linli.live import service as live
from linli.live.models import LiveSession
from linli.marketing import copy, kits
from linli.marketing.models import CampaignKit, CopyTemplate, SessionCampaign
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page
from linli.storage import FileStorage
from linli.timefmt import format_announcement

KITS_STALE = "marketing.kits_stale"
MAX_TEMPLATES = 50


def kits_stale(session: AsyncSession, *, brand_id: int, session_id: int | None, now: datetime) -> None:
    """The kits of `session_id` (None: of every upcoming session of the brand) must be remade."""
    emit(session, topic=KITS_STALE, payload={"brand_id": brand_id, "session_id": session_id}, now=now)


# --- copy templates -----------------------------------------------------------------------------------------

async def list_templates(*, session: AsyncSession, brand_id: int) -> list[CopyTemplate]:
    rows = await session.scalars(select(CopyTemplate).where(CopyTemplate.brand_id == brand_id).order_by(CopyTemplate.id))
    return list(rows)


async def get_template(*, session: AsyncSession, brand_id: int, template_id: int, for_update: bool = False) -> CopyTemplate:
    row = await session.get(CopyTemplate, template_id, with_for_update=for_update)
    if row is None or row.brand_id != brand_id:
        raise NotFound("话术模板不存在", code="copy_template_not_found")
    return row


async def _only_default(session: AsyncSession, *, brand_id: int, keep_id: int) -> None:
    await session.execute(
        update(CopyTemplate).where(CopyTemplate.brand_id == brand_id, CopyTemplate.id != keep_id, CopyTemplate.is_default.is_(True))
        .values(is_default=False)
    )


async def create_template(
    *, session: AsyncSession, brand_id: int, name: str, body: str, is_default: bool, now: datetime
) -> CopyTemplate:
    name, body = copy.clean_template(name=name, body=body)
    await brands.get_brand(session=session, brand_id=brand_id)
    count = await session.scalar(select(func.count()).where(CopyTemplate.brand_id == brand_id))
    if (count or 0) >= MAX_TEMPLATES:
        raise InvalidInput(f"每个品牌最多 {MAX_TEMPLATES} 个话术模板", code="copy_template_limit")
    row = CopyTemplate(brand_id=brand_id, name=name, body=body, is_default=is_default, created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    if is_default:
        await _only_default(session, brand_id=brand_id, keep_id=row.id)
        kits_stale(session, brand_id=brand_id, session_id=None, now=now)
    return row


async def update_template(
    *, session: AsyncSession, brand_id: int, template_id: int, name: str | None, body: str | None,
    is_default: bool | None, now: datetime,
) -> CopyTemplate:
    row = await get_template(session=session, brand_id=brand_id, template_id=template_id, for_update=True)
    new_name, new_body = copy.clean_template(name=row.name if name is None else name, body=row.body if body is None else body)
    row.name, row.body, row.updated_at = new_name, new_body, now
    if is_default is not None:
        row.is_default = is_default
    await session.flush()
    if row.is_default:
        await _only_default(session, brand_id=brand_id, keep_id=row.id)
    kits_stale(session, brand_id=brand_id, session_id=None, now=now)
    return row


# --- a session's campaign settings ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CampaignSettings:
    session_id: int
    copy_template_id: int | None
    has_cover: bool
    template_body: str  # what the kits are filled from (the chosen, the brand's default or linli's own)


async def campaign_settings(*, session: AsyncSession, brand_id: int, session_id: int) -> CampaignSettings:
    await live.get_brand_session(session=session, brand_id=brand_id, session_id=session_id)
    campaign = await kits.campaign_of(session=session, session_id=session_id)
    return CampaignSettings(
        session_id=session_id,
        copy_template_id=campaign.copy_template_id if campaign else None,
        has_cover=bool(campaign and campaign.cover_key),
        template_body=await kits.template_of_session(session=session, brand_id=brand_id, campaign=campaign),
    )


async def _campaign_for_update(session: AsyncSession, *, brand_id: int, session_id: int, now: datetime) -> SessionCampaign:
    live_session = await live.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    if live_session.status not in kits.KIT_STATUSES_OF_SESSION:
        raise live.status_conflict(live_session, "修改作战包")
    campaign = await kits.campaign_of(session=session, session_id=session_id)
    if campaign is None:
        campaign = SessionCampaign(brand_id=brand_id, session_id=session_id, updated_at=now)
        session.add(campaign)
    return campaign


async def choose_template(
    *, session: AsyncSession, brand_id: int, session_id: int, template_id: int | None, now: datetime
) -> SessionCampaign:
    """The session's kits use this template (None: the brand's default)."""
    if template_id is not None:
        await get_template(session=session, brand_id=brand_id, template_id=template_id)
    campaign = await _campaign_for_update(session, brand_id=brand_id, session_id=session_id, now=now)
    campaign.copy_template_id, campaign.updated_at = template_id, now
    await session.flush()
    kits_stale(session, brand_id=brand_id, session_id=session_id, now=now)
    return campaign


async def set_cover(
    *, session: AsyncSession, storage: FileStorage, brand_id: int, session_id: int, data: bytes, now: datetime
) -> SessionCampaign:
    """The cover drawn on the session's posters: JPEG, PNG or WebP by its first bytes, at most 5 MB, and a
    picture Pillow can open (a truncated or disguised file is refused, 422)."""
    photo = images.check_photo(data, index=0)
    try:
        await run_in_threadpool(images.check_image, photo.data)
    except ValueError:
        raise InvalidInput("图片无法读取，请换一张", code="photo_unreadable") from None
    campaign = await _campaign_for_update(session, brand_id=brand_id, session_id=session_id, now=now)
    key = f"covers/{session_id}/{photo.sha256[:32]}.{photo.extension}"
    await storage.put(key, photo.data, content_type=photo.content_type)
    campaign.cover_key, campaign.cover_sha256, campaign.updated_at = key, photo.sha256, now
    await session.flush()
    kits_stale(session, brand_id=brand_id, session_id=session_id, now=now)
    return campaign


# --- the kits -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KitView:
    kit: CampaignKit
    live: LiveSession
    starts: str  # the start in the brand's time, as the kit announces it


async def leader_kits(*, session: AsyncSession, brand_id: int, user_id: int) -> list[KitView]:
    """The caller's current kits (the caller must be this brand's active leader), the next session first."""
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id)
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    rows = await session.execute(
        select(CampaignKit, LiveSession).join(LiveSession, LiveSession.id == CampaignKit.session_id)
        .where(CampaignKit.leader_id == leader.id, CampaignKit.status == "current",
               LiveSession.status.in_(kits.KIT_STATUSES_OF_SESSION))
        .order_by(LiveSession.scheduled_start_at, LiveSession.id)
    )
    return [KitView(kit=k, live=s, starts=format_announcement(s.scheduled_start_at, brand.timezone)) for k, s in rows]


async def leader_kit(*, session: AsyncSession, brand_id: int, user_id: int, kit_id: int) -> KitView:
    """One of the caller's current kits; anyone else's (or a withdrawn one) is a 404."""
    for view in await leader_kits(session=session, brand_id=brand_id, user_id=user_id):
        if view.kit.id == kit_id:
            return view
    raise NotFound("作战包不存在", code="campaign_kit_not_found")


async def session_kits(
    *, session: AsyncSession, brand_id: int, session_id: int, params: PageParams
) -> tuple[list[CampaignKit], int]:
    """Staff: every kit of a session, current and withdrawn, by leader."""
    await live.get_brand_session(session=session, brand_id=brand_id, session_id=session_id)
    return await fetch_page(
        session, select(CampaignKit).where(CampaignKit.session_id == session_id).order_by(CampaignKit.leader_id), params
    )


@dataclass(frozen=True)
class PosterFile:
    filename: str
    png: bytes


async def kit_poster(
    *, session: AsyncSession, storage: FileStorage, settings: Settings, brand_id: int, view: KitView
) -> PosterFile:
    """The kit's poster, drawn once per content (kept under its fingerprint) and served from storage after."""
    kit = view.kit
    key = kits.poster_key(kit)
    filename = f"kit-{kit.session_id}-{kit.invite_code}.png"
    try:
        return PosterFile(filename=filename, png=await storage.open(key))
    except NotFound:
        pass
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    campaign = await kits.campaign_of(session=session, session_id=kit.session_id)
    cover = await storage.open(campaign.cover_key) if campaign is not None and campaign.cover_key else None
    font = posters.find_cjk_font(setting=settings.cjk_font)
    poster = posters.CampaignPoster(
        brand_name=brand.name, title=view.live.title, starts=view.starts, cover=cover, badge=kit.badge,
        leader_name=kit.leader_name, invite_code=kit.invite_code, link=kit.invite_link,
    )
    png = await run_in_threadpool(posters.campaign_poster_png, poster, font_path=font)  # drawing is CPU work
    await storage.put(key, png, content_type="image/png")
    return PosterFile(filename=filename, png=png)
