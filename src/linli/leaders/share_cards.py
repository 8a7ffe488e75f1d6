"""What a public piece of a leader's material shows (a campaign kit, a poster): the public name, the badge,
the community and the current invite code, read for many leaders in one statement."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts.models import User
from linli.brands.models import Community
from linli.leaders.models import InviteCode, Leader
from linli.leaders.service import badge_text
from linli.members.models import Member
from linli.security import mask_name


@dataclass(frozen=True)
class ShareCard:
    leader_id: int
    user_id: int
    community_id: int
    community_name: str
    name: str  # the nickname, else the masked real name: as the live room and the invite poster name a leader
    badge: str
    invite_code: str | None  # None: the codes were revoked and no new one was issued


async def share_cards(
    *, session: AsyncSession, brand_id: int, brand_name: str, leader_ids: list[int] | None = None,
    after_leader_id: int = 0, limit: int | None = None,
) -> list[ShareCard]:
    """The brand's active leaders (those of `leader_ids`, else every one after `after_leader_id`, up to `limit`),
    by id."""
    query = (
        select(Leader.id, Member.user_id, Leader.community_id, Community.name, User.display_name, Leader.real_name, InviteCode.code)
        .join(Member, Member.id == Leader.member_id)
        .join(User, User.id == Member.user_id)
        .join(Community, Community.id == Leader.community_id)
        .outerjoin(InviteCode, (InviteCode.leader_id == Leader.id) & (InviteCode.status == "active"))
        .where(Leader.brand_id == brand_id, Leader.status == "active", Leader.id > after_leader_id)
        .order_by(Leader.id)
    )
    if leader_ids is not None:
        query = query.where(Leader.id.in_(leader_ids))
    if limit is not None:
        query = query.limit(limit)
    return [
        ShareCard(
            leader_id=leader_id, user_id=user_id, community_id=community_id, community_name=community_name,
            name=display_name or mask_name(real_name), badge=badge_text(community_name=community_name, brand_name=brand_name),
            invite_code=code,
        )
        for leader_id, user_id, community_id, community_name, display_name, real_name, code in await session.execute(query)
    ]
