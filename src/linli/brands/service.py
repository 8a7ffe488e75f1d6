"""Brands, staff roles, communities and pickup points."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.accounts.models import User
from linli.brands.models import Brand, Community, PickupPoint, StaffMember
from linli.db import id_chunks, insert_unique
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


@dataclass(frozen=True)
class PickupPointPatch:
    """The pickup-point fields to change; None leaves a field as it is."""

    name: str | None = None
    address: str | None = None
    opening_hours: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


def _required_text(value: str, *, label: str, code: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"{label}不能为空", code=code)
    return value


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


async def create_brand_with_owner(
    *,
    session: AsyncSession,
    name: str,
    slug: str,
    timezone: str,
    owner_login: str,
    owner_password: str,
    owner_display_name: str,
    now: datetime,
) -> tuple[Brand, User]:
    """A new brand and its first owner (`linli brand create`): every later staff member, community and leader is
    added through the API by this owner. Either both are created or neither."""
    name = _required_text(name, label="品牌名称", code="brand_name_invalid")
    if len(name) > 64:
        raise InvalidInput("品牌名称不能超过 64 个字", code="brand_name_invalid")
    accounts.require_strong_password(password=owner_password, login_name=owner_login)
    brand = await create_brand(session=session, name=name, slug=slug, timezone=timezone, now=now)
    _, owner = await create_staff_account(
        session=session, brand_id=brand.id, login_name=owner_login, password=owner_password,
        display_name=owner_display_name, role="owner", now=now,
    )
    return brand, owner


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


async def create_staff_account(
    *,
    session: AsyncSession,
    brand_id: int,
    login_name: str,
    password: str,
    display_name: str,
    role: str,
    now: datetime,
) -> tuple[StaffMember, User]:
    """A new staff login (password, argon2) and its role in this brand; a taken login name is a 409."""
    if role not in STAFF_ROLES:
        raise InvalidInput("员工角色只能是 owner 或 operator", code="staff_role_invalid")
    user = await accounts.create_staff_user(
        session=session, login_name=login_name, password=password, display_name=display_name, now=now
    )
    staff = await add_staff(session=session, brand_id=brand_id, user_id=user.id, role=role, now=now)
    return staff, user


async def list_staff_page(
    *, session: AsyncSession, brand_id: int, params: PageParams
) -> tuple[list[tuple[StaffMember, User]], int]:
    total = await session.scalar(select(func.count()).where(StaffMember.brand_id == brand_id))
    rows = await session.execute(
        select(StaffMember, User)
        .join(User, User.id == StaffMember.user_id)
        .where(StaffMember.brand_id == brand_id)
        .order_by(StaffMember.id)
        .limit(params.page_size)
        .offset(params.offset)
    )
    return [(staff, user) for staff, user in rows.all()], int(total or 0)


async def list_staff(*, session: AsyncSession, brand_id: int) -> list[StaffMember]:
    rows = await session.scalars(select(StaffMember).where(StaffMember.brand_id == brand_id).order_by(StaffMember.id))
    return list(rows)


async def staff_role(*, session: AsyncSession, brand_id: int, user_id: int) -> str | None:
    return await session.scalar(
        select(StaffMember.role).where(StaffMember.brand_id == brand_id, StaffMember.user_id == user_id)
    )


async def staff_brand_ids(*, session: AsyncSession, user_id: int) -> set[int]:
    """The brands the user works for (any staff role)."""
    return set(await session.scalars(select(StaffMember.brand_id).where(StaffMember.user_id == user_id)))


async def require_staff(
    *, session: AsyncSession, brand_id: int, user_id: int, roles: tuple[str, ...] = STAFF_ROLES
) -> str:
    """The caller's staff role in this brand, or 403. Unknown brands are 404 first."""
    await get_brand(session=session, brand_id=brand_id)
    role = await staff_role(session=session, brand_id=brand_id, user_id=user_id)
    if role is None or role not in roles:
        raise Forbidden("仅限本品牌员工操作" if role is None else "仅限品牌负责人操作", code="staff_only")
    return role


_PICKUP_LABELS = {
    "name": "自提点名称",
    "address": "自提点地址",
    "opening_hours": "营业时间",
    "contact_name": "自提点联系人",
    "contact_phone": "自提点联系电话",
}


def _clean_pickup(pickup: PickupPointInput | PickupPointPatch) -> dict[str, str]:
    """The given pickup-point fields, stripped; blank text and a malformed phone are refused."""
    cleaned = {
        key: _required_text(value, label=_PICKUP_LABELS[key], code="pickup_point_invalid")
        for key, value in pickup.__dict__.items()
        if value is not None
    }
    if "contact_phone" in cleaned and not is_valid_phone(cleaned["contact_phone"]):
        raise InvalidInput("自提点联系电话格式不正确", code="phone_invalid")
    return cleaned


async def create_community(
    *, session: AsyncSession, brand_id: int, name: str, address: str, pickup: PickupPointInput, now: datetime
) -> tuple[Community, PickupPoint]:
    name = _required_text(name, label="小区名称", code="community_name_invalid")
    address = _required_text(address, label="小区地址", code="community_address_invalid")
    fields = _clean_pickup(pickup)
    community = Community(brand_id=brand_id, name=name, address=address, created_at=now)
    if not await insert_unique(session, community):
        raise Conflict("同名小区已存在", code="community_exists")
    point = PickupPoint(community_id=community.id, **fields)
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
    pickup: PickupPointInput | PickupPointPatch | None,
) -> tuple[Community, PickupPoint]:
    """Changes the given fields only; everything is checked before anything is written."""
    if name is not None:
        name = _required_text(name, label="小区名称", code="community_name_invalid")
    if address is not None:
        address = _required_text(address, label="小区地址", code="community_address_invalid")
    pickup_fields = _clean_pickup(pickup) if pickup is not None else {}
    community = await get_community(session=session, brand_id=brand_id, community_id=community_id)
    point = await get_pickup_point(session=session, community_id=community_id)
    if name is not None and name != community.name:
        clash = await session.scalar(select(Community.id).where(Community.brand_id == brand_id, Community.name == name))
        if clash is not None:
            raise Conflict("同名小区已存在", code="community_exists")
        community.name = name
    if address is not None:
        community.address = address
    for key, value in pickup_fields.items():
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
    found: dict[int, Community] = {}
    for chunk in id_chunks(community_ids):
        found.update((c.id, c) for c in await session.scalars(select(Community).where(Community.id.in_(chunk))))
    return found
