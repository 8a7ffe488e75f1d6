"""Members: a user as known to one brand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.db import insert_unique
from linli.errors import NotFound
from linli.members.models import Member


async def find_member(*, session: AsyncSession, brand_id: int, user_id: int) -> Member | None:
    return await session.scalar(select(Member).where(Member.brand_id == brand_id, Member.user_id == user_id))


async def get_member(*, session: AsyncSession, brand_id: int, member_id: int) -> Member:
    member = await session.get(Member, member_id)
    if member is None or member.brand_id != brand_id:
        raise NotFound("用户不存在", code="member_not_found")
    return member


async def get_or_create_member(
    *, session: AsyncSession, brand_id: int, user_id: int, now: datetime
) -> tuple[Member, bool]:
    """The member for this user in this brand, and whether this call created it (a first visit)."""
    existing = await find_member(session=session, brand_id=brand_id, user_id=user_id)
    if existing is not None:
        return existing, False
    member = Member(brand_id=brand_id, user_id=user_id, joined_at=now)
    if await insert_unique(session, member):
        return member, True
    found = await find_member(session=session, brand_id=brand_id, user_id=user_id)
    assert found is not None  # the unique constraint said it exists
    return found, False


async def members_by_ids(*, session: AsyncSession, member_ids: set[int]) -> dict[int, Member]:
    if not member_ids:
        return {}
    rows = await session.scalars(select(Member).where(Member.id.in_(member_ids)))
    return {m.id: m for m in rows}


async def lock_member(*, session: AsyncSession, member_id: int) -> Member:
    """Row-locks the member: one member's concurrent orders queue here (per-member limits, idempotency)."""
    member = await session.scalar(select(Member).where(Member.id == member_id).with_for_update())
    if member is None:
        raise NotFound("用户不存在", code="member_not_found")
    return member


async def brand_ids_of_user(*, session: AsyncSession, user_id: int) -> list[int]:
    """The brands where the user is a member, in the order they joined: the member's own pages (my orders,
    my leader) go brand by brand, as the API's per-brand routes do."""
    rows = await session.scalars(select(Member.brand_id).where(Member.user_id == user_id).order_by(Member.id))
    return list(rows)
