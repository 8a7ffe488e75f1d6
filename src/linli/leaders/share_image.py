"""The leader's downloadable share image: what the invite poster says, taken from the leader's own record."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from linli import posters
from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.config import Settings
from linli.leaders import invite_codes, service
from linli.security import mask_name


async def invite_poster_for(*, session: AsyncSession, brand_id: int, user_id: int, base_url: str) -> posters.InvitePoster:
    """The caller's poster: only an active leader has a badge and a usable code (403 / 404 otherwise)."""
    leader = await service.require_active_leader(session=session, brand_id=brand_id, user_id=user_id)
    invite = await service.current_invite_code(session=session, leader_id=leader.id)
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    community = await brands.get_community(session=session, brand_id=brand_id, community_id=leader.community_id)
    user = await accounts.get_user(session=session, user_id=user_id)
    # As the live room names a leader: the nickname, else the masked real name (a poster is public).
    name = user.display_name or mask_name(leader.real_name)
    return posters.InvitePoster(
        brand_name=brand.name,
        badge=service.badge_text(community_name=community.name, brand_name=brand.name),
        leader_name=name,
        invitation=f"我是{community.name}的社区主理人{name}，邀请邻居们一起看直播、享{brand.name}社区专享价，到小区自提点取货",
        invite_code=invite.code,
        link=invite_codes.invite_link(base_url=base_url, code=invite.code),
    )


@dataclass(frozen=True)
class PosterFile:
    filename: str
    png: bytes


async def invite_poster_file(*, session: AsyncSession, brand_id: int, user_id: int, settings: Settings) -> PosterFile:
    """The caller's poster drawn as a PNG to download (the API and the workbench page answer this one file)."""
    poster = await invite_poster_for(session=session, brand_id=brand_id, user_id=user_id, base_url=settings.public_base_url)
    font = posters.find_cjk_font(setting=settings.cjk_font)
    png = await run_in_threadpool(posters.invite_poster_png, poster, font_path=font)  # drawing is CPU work
    return PosterFile(filename=f"invite-{poster.invite_code}.png", png=png)
