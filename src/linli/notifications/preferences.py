"""Muting a channel: a member or leader who does not want a brand's pushes on 站内信 or 短信.

Every push (`pushes.enqueue`) is the brand's marketing — campaign kits, reminders, group posts — and can be muted;
a muted push is recorded as skipped (跳过：已静音) when the dispatcher reaches it, never sent. What is not a push
cannot be muted: the transactional messages other contexts put in the inbox directly with `notifications.notify`
(pickup codes, arrivals, refunds, payment notices, claim decisions, the community-group invitation). A robot
speaks to a whole group, so nobody mutes it for everyone else.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.errors import InvalidInput, NotFound
from linli.members import service as members
from linli.notifications.channels import MUTABLE_CHANNELS
from linli.notifications.models import ChannelMute


async def require_member(*, session: AsyncSession, brand_id: int, user_id: int) -> None:
    await brands.get_brand(session=session, brand_id=brand_id)
    if await members.find_member(session=session, brand_id=brand_id, user_id=user_id) is None:
        raise NotFound("您还不是该品牌的用户", code="member_not_found")


async def muted_channels(*, session: AsyncSession, brand_id: int, user_id: int) -> set[str]:
    rows = await session.scalars(
        select(ChannelMute.channel).where(ChannelMute.brand_id == brand_id, ChannelMute.user_id == user_id)
    )
    return set(rows)


async def set_muted(
    *, session: AsyncSession, brand_id: int, user_id: int, muted: set[str], now: datetime
) -> set[str]:
    """The channels muted from now on are exactly `muted` (a subset of 站内信 and 短信); setting it twice is a no-op."""
    unknown = muted - set(MUTABLE_CHANNELS)
    if unknown:
        raise InvalidInput("只能静音站内信（inbox）或短信（sms）", code="mute_channel_invalid")
    await require_member(session=session, brand_id=brand_id, user_id=user_id)
    current = await muted_channels(session=session, brand_id=brand_id, user_id=user_id)
    if current - muted:
        await session.execute(delete(ChannelMute).where(
            ChannelMute.brand_id == brand_id, ChannelMute.user_id == user_id, ChannelMute.channel.in_(current - muted)
        ))
    # Two saves at once meet the unique key: one is 409 concurrent_conflict, the other's choice stands.
    session.add_all(
        ChannelMute(user_id=user_id, brand_id=brand_id, channel=c, muted_at=now) for c in sorted(muted - current)
    )
    await session.flush()
    return muted


async def muted_users(*, session: AsyncSession, brand_id: int, channel: str, user_ids: set[int]) -> set[int]:
    """Of `user_ids`, who muted `channel` of this brand (the dispatcher asks once per batch)."""
    if not user_ids:
        return set()
    rows = await session.scalars(select(ChannelMute.user_id).where(
        ChannelMute.brand_id == brand_id, ChannelMute.channel == channel, ChannelMute.user_id.in_(user_ids)
    ))
    return set(rows)
