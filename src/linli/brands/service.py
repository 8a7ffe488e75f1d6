"""Brands, staff roles, communities and pickup points."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands.models import Brand, Community, PickupPoint, StaffMember
from linli.db import insert_unique
from linli.errors import Conflict, Forbidden, InvalidInput, NotFound
from linli.pagination import PageParams
from linli.security import is_valid_phone

STAFF_ROLES = ("owner", "operator")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class PickupPointInput:
    name: str
    address: str
    opening_hours: str
    contact_name: str
    contact_phone: str


async def create_brand(*, session: AsyncSession, name: str, slug: str, timezone: str, now: datetime) -> Brand:
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput("品牌标识只能包含小写字母、数字和连字符", code="brand_slug_invalid")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput("时区无效", code="timezone_invalid") from exc
    brand = Brand(name=name.strip(), slug=slug, timezone=timezone, created_at=now)
    if not await insert_unique(session, brand):
        raise Conflict("品牌标识已存在", code="brand_slug_taken")
    return brand


async def get_brand(*, session: AsyncSession, brand_id: int) -> Brand:
    brand = await session.get(Brand, brand_id)
    if brand is None:
        raise NotFound("品牌不存在", code="brand_not_found")
    return brand


async def find_brand_by_slug(*, session: AsyncSession, slug: str) -> Brand | None:
    return await session.scalar(select(Brand).where(Brand.slug == slug))


async def add_staff(*, session: AsyncSession, brand_id: int, user_id: int, role: str, now: datetime) -> StaffMember:
    if role not in STAFF_ROLES:
        raise InvalidInput("员工角色只能是 owner 或 operator", code="staff_role_invalid")
    staff = StaffMember(brand_id=brand_id, user_id=user_id, role=role, created_at=now)
    if not await insert_unique(session, staff):
        raise Conflict("该用户已是本品牌员工", code="staff_exists")
    return staff


async def list_staff(*, session: AsyncSession, brand_id: int) -> list[StaffMember]:
    rows = await session.scalars(select(StaffMember).where(StaffMember.brand_id == brand_id).order_by(StaffMember.id))
    return list(rows)


async def staff_role(*, session: AsyncSession, brand_id: int, user_id: int) -> str | None:
    return await session.scalar(
        select(StaffMember.role).where(StaffMember.brand_id == brand_id, StaffMember.user_id == user_id)
    )


async def require_staff(
    *, session: AsyncSession, brand_id: int, user_id: int, roles: tuple[str, ...] = STAFF_ROLES
) -> str:
    """The caller's staff role in this brand, or 403. Unknown brands are 404 first."""
    await get_brand(session=session, brand_id=brand_id)
    role = await staff_role(session=session, brand_id=brand_id, user_id=user_id)
    if role is None or role not in roles:
        raise Forbidden("仅限本品牌员工操作" if role is None else "仅限品牌负责人操作", code="staff_only")
    return role


def _check_pickup(pickup: PickupPointInput) -> None:
    if not is_valid_phone(pickup.contact_phone):
        raise InvalidInput("自提点联系电话格式不正确", code="phone_invalid")


async def create_community(
    *, session: AsyncSession, brand_id: int, name: str, address: str, pickup: PickupPointInput, now: datetime
) -> tuple[Community, PickupPoint]:
    _check_pickup(pickup)
    community = Community(brand_id=brand_id, name=name.strip(), address=address.strip(), created_at=now)
    if not await insert_unique(session, community):
        raise Conflict("同名小区已存在", code="community_exists")
    point = PickupPoint(community_id=community.id, **pickup.__dict__)
    session.add(point)
    await session.flush()
    return community, point


async def get_community(*, session: AsyncSession, brand_id: int, community_id: int) -> Community:
    community = await session.get(Community, community_id)
    if community is None or community.brand_id != brand_id:
        raise NotFound("小区不存在", code="community_not_found")
    return community


async def get_pickup_point(*, session: AsyncSession, community_id: int) -> PickupPoint:
    point = await session.scalar(select(PickupPoint).where(PickupPoint.community_id == community_id))
    if point is None:
        raise NotFound("自提点不存在", code="pickup_point_not_found")
    return point


async def update_community(
    *,
    session: AsyncSession,
    brand_id: int,
    community_id: int,
    name: str | None,
    address: str | None,
    pickup: PickupPointInput | None,
) -> tuple[Community, PickupPoint]:
    community = await get_community(session=session, brand_id=brand_id, community_id=community_id)
    point = await get_pickup_point(session=session, community_id=community_id)
    if name is not None and name.strip() != community.name:
        clash = await session.scalar(
            select(Community.id).where(Community.brand_id == brand_id, Community.name == name.strip())
        )
        if clash is not None:
            raise Conflict("同名小区已存在", code="community_exists")
        community.name = name.strip()
    if address is not None:
        community.address = address.strip()
    if pickup is not None:
        _check_pickup(pickup)
        for key, value in pickup.__dict__.items():
            setattr(point, key, value)
    await session.flush()
    return community, point


async def list_communities(
    *, session: AsyncSession, brand_id: int, params: PageParams
) -> tuple[list[tuple[Community, PickupPoint]], int]:
    query = (
        select(Community, PickupPoint)
        .join(PickupPoint, PickupPoint.community_id == Community.id)
        .where(Community.brand_id == brand_id)
        .order_by(Community.id)
    )
    total = await session.scalar(select(func.count()).where(Community.brand_id == brand_id))
    rows = (await session.execute(query.limit(params.page_size).offset(params.offset))).all()
    return [(c, p) for c, p in rows], int(total or 0)


async def communities_by_ids(*, session: AsyncSession, community_ids: set[int]) -> dict[int, Community]:
    if not community_ids:
        return {}
    rows = await session.scalars(select(Community).where(Community.id.in_(community_ids)))
    return {c.id: c for c in rows}
