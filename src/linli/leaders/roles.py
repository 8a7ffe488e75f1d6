"""A user's place in every brand (staff role, membership, leadership): what `GET /api/v1/me` lists, so that a
client can find its brand ids, and the brands where the user is an active leader (the workbench). Only the
user's own rows are read, so another brand's roles never appear."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands.models import Brand, StaffMember
from linli.leaders.models import Leader
from linli.members.models import Member


@dataclass(frozen=True)
class Leadership:
    leader_id: int
    status: str
    community_id: int


@dataclass(frozen=True)
class BrandRoles:
    brand: Brand
    staff_role: str | None
    member_id: int | None
    leader: Leadership | None  # the latest application or leadership of the member in this brand


async def roles_of_user(*, session: AsyncSession, user_id: int) -> list[BrandRoles]:
    staff_rows = await session.execute(
        select(StaffMember.brand_id, StaffMember.role).where(StaffMember.user_id == user_id)
    )
    staff: dict[int, str] = {brand_id: role for brand_id, role in staff_rows.all()}
    member_rows = await session.execute(select(Member.brand_id, Member.id).where(Member.user_id == user_id))
    members: dict[int, int] = {brand_id: member_id for brand_id, member_id in member_rows.all()}
    leaders: dict[int, Leadership] = {}
    if members:
        rows = await session.scalars(select(Leader).where(Leader.member_id.in_(members.values())).order_by(Leader.id))
        for leader in rows:  # ascending ids: the latest wins
            leaders[leader.brand_id] = Leadership(
                leader_id=leader.id, status=leader.status, community_id=leader.community_id
            )
    brand_ids = set(staff) | set(members)
    if not brand_ids:
        return []
    brands = await session.scalars(select(Brand).where(Brand.id.in_(brand_ids)).order_by(Brand.id))
    return [
        BrandRoles(brand=b, staff_role=staff.get(b.id), member_id=members.get(b.id), leader=leaders.get(b.id))
        for b in brands
    ]


async def active_leaderships(*, session: AsyncSession, user_id: int) -> list[tuple[Leader, Brand]]:
    """The brands where this user is an active leader, by brand name (the workbench lets them choose)."""
    rows = await session.execute(
        select(Leader, Brand)
        .join(Member, Member.id == Leader.member_id)
        .join(Brand, Brand.id == Leader.brand_id)
        .where(Member.user_id == user_id, Leader.status == "active")
        .order_by(Brand.name, Brand.id)
    )
    return [(leader, brand) for leader, brand in rows]
