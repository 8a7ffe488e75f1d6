"""Community groups: one per community, made by the brand's staff (or by its leader, who sets its join link), with
a name (by default `{community}·{brand}品质生活圈`, e.g. 云顶华府·优邻优选品质生活圈), the WeChat group's invite
link the leader or staff paste (its QR code is drawn from it, `linli.qrcodes`), an optional WeCom robot and the
70/30 ceiling (`balance.py`).

A group becomes *ready* when it has a join link: members who paid before are invited then (`invites.py`, on the
`community.group_ready` event), later buyers on their first paid order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.models import Community
from linli.catalog.service import is_http_url
from linli.community.models import CommunityGroup, GroupInvite
from linli.db import insert_unique
from linli.errors import Conflict, InvalidInput, NotFound
from linli.leaders.models import Leader
from linli.notifications import robots
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page
from linli.preflight import is_loopback

GROUP_READY_EVENT = "community.group_ready"
NAME_SUFFIX = "品质生活圈"
MAX_NAME = 64
MAX_WINDOW = 100


def default_name(*, community_name: str, brand_name: str) -> str:
    return f"{community_name}·{brand_name}{NAME_SUFFIX}"[:MAX_NAME]


@dataclass(frozen=True)
class GroupPatch:
    """What to change in a group; None leaves a field as it is, "" clears a link or the robot."""

    name: str | None = None
    join_url: str | None = None
    webhook_url: str | None = None
    commerce_ceiling_bp: int | None = None
    window_messages: int | None = None


def clean_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"群名称须为 1 到 {MAX_NAME} 个字", code="group_name_invalid")
    return name


def clean_join_url(value: str, *, allow_loopback: bool) -> str | None:
    """The group's invite link: https (http only to this machine, in development mode); empty clears it."""
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value) if is_http_url(value) else None
    loopback = parts is not None and is_loopback(parts.hostname or "")
    if parts is None or not (parts.scheme == "https" or (loopback and allow_loopback)):
        raise InvalidInput("入群链接须为 https 开头的网址（微信群邀请链接）", code="join_url_invalid")
    return value


def clean_ceiling(bp: int) -> int:
    if not 0 <= bp <= 10_000:
        raise InvalidInput("商业内容上限须在 0% 到 100% 之间", code="commerce_ceiling_invalid")
    return bp


def clean_window(n: int) -> int:
    if not 1 <= n <= MAX_WINDOW:
        raise InvalidInput(f"计算占比的消息条数须在 1 到 {MAX_WINDOW} 之间", code="group_window_invalid")
    return n


async def get_group(*, session: AsyncSession, brand_id: int, group_id: int, for_update: bool = False) -> CommunityGroup:
    group = await session.get(CommunityGroup, group_id, with_for_update=for_update, populate_existing=for_update)
    if group is None or group.brand_id != brand_id:
        raise NotFound("社区群不存在", code="community_group_not_found")
    return group


async def group_of_community(
    *, session: AsyncSession, community_id: int, for_update: bool = False
) -> CommunityGroup | None:
    query = select(CommunityGroup).where(CommunityGroup.community_id == community_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def create_group(
    *, session: AsyncSession, brand_id: int, community_id: int, now: datetime, name: str | None = None
) -> CommunityGroup:
    """The community's group, with the default name unless one is given; a second one is a 409."""
    community = await brands.get_community(session=session, brand_id=brand_id, community_id=community_id)
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    group = CommunityGroup(
        brand_id=brand_id, community_id=community.id,
        name=clean_name(name) if name else default_name(community_name=community.name, brand_name=brand.name),
        created_at=now, updated_at=now,
    )
    if not await insert_unique(session, group):
        raise Conflict("该小区已有社区群", code="community_group_exists")
    return group


async def ensure_group(*, session: AsyncSession, brand_id: int, community_id: int, now: datetime) -> CommunityGroup:
    """The community's group, made with the default name when it has none yet (a concurrent maker's wins)."""
    existing = await group_of_community(session=session, community_id=community_id)
    if existing is not None:
        return existing
    try:
        return await create_group(session=session, brand_id=brand_id, community_id=community_id, now=now)
    except Conflict:
        made = await group_of_community(session=session, community_id=community_id)
        assert made is not None
        return made


def _set_join_url(session: AsyncSession, group: CommunityGroup, url: str | None, *, now: datetime) -> None:
    if url is not None and group.join_url is None:  # it can be joined from now: those who paid before are invited
        group.ready_at = group.ready_at or now
        emit(session, topic=GROUP_READY_EVENT, payload={"group_id": group.id, "brand_id": group.brand_id}, now=now)
    group.join_url = url


async def update_group(
    *, session: AsyncSession, brand_id: int, group_id: int, patch: GroupPatch, policy: robots.WebhookPolicy,
    now: datetime,
) -> CommunityGroup:
    """Changes what `patch` gives; every field is checked before anything is written."""
    name = clean_name(patch.name) if patch.name is not None else None
    join_url = (clean_join_url(patch.join_url, allow_loopback=policy.allow_loopback)
                if patch.join_url is not None else None)
    ceiling = clean_ceiling(patch.commerce_ceiling_bp) if patch.commerce_ceiling_bp is not None else None
    window = clean_window(patch.window_messages) if patch.window_messages is not None else None
    group = await get_group(session=session, brand_id=brand_id, group_id=group_id, for_update=True)
    if patch.webhook_url is not None:
        current = (await robots.get_robot(session=session, brand_id=brand_id, robot_id=group.robot_id)
                   if group.robot_id else None)
        robot = await robots.save_robot(
            session=session, brand_id=brand_id, robot=current, scope="group", url=patch.webhook_url, policy=policy,
            now=now,
        )
        group.robot_id = robot.id if robot is not None else None
    if name is not None:
        group.name = name
    if patch.join_url is not None:
        _set_join_url(session, group, join_url, now=now)
    if ceiling is not None:
        group.commerce_ceiling_bp = ceiling
    if window is not None:
        group.window_messages = window
    group.updated_at = now
    await session.flush()
    return group


async def set_join_url_as_leader(
    *, session: AsyncSession, leader: Leader, join_url: str, allow_loopback: bool, now: datetime
) -> CommunityGroup:
    """The leader pastes their group's invite link (the group is made, with the default name, if need be)."""
    cleaned = clean_join_url(join_url, allow_loopback=allow_loopback)
    made = await ensure_group(session=session, brand_id=leader.brand_id, community_id=leader.community_id, now=now)
    group = await get_group(session=session, brand_id=leader.brand_id, group_id=made.id, for_update=True)
    _set_join_url(session, group, cleaned, now=now)
    group.updated_at = now
    await session.flush()
    return group


@dataclass(frozen=True)
class CommunityWithGroup:
    community: Community
    group: CommunityGroup | None
    invited: int  # members invited into the group


async def list_groups(
    *, session: AsyncSession, brand_id: int, params: PageParams
) -> tuple[list[CommunityWithGroup], int]:
    """Every community of the brand, with its group if it has one (the console's list)."""
    rows, total = await brands.list_communities(session=session, brand_id=brand_id, params=params)
    ids = [c.id for c, _ in rows]
    groups = {g.community_id: g for g in await session.scalars(
        select(CommunityGroup).where(CommunityGroup.community_id.in_(ids))
    )} if ids else {}
    counts = dict((await session.execute(
        select(GroupInvite.group_id, func.count()).where(GroupInvite.group_id.in_([g.id for g in groups.values()]))
        .group_by(GroupInvite.group_id)
    )).all()) if groups else {}
    return [
        CommunityWithGroup(community=c, group=groups.get(c.id),
                           invited=int(counts.get(groups[c.id].id, 0)) if c.id in groups else 0)
        for c, _ in rows
    ], total


async def brand_groups(
    *, session: AsyncSession, brand_id: int, params: PageParams
) -> tuple[list[CommunityGroup], int]:
    return await fetch_page(
        session, select(CommunityGroup).where(CommunityGroup.brand_id == brand_id).order_by(CommunityGroup.id), params
    )


async def invited_count(*, session: AsyncSession, group_id: int) -> int:
    return int(await session.scalar(select(func.count()).where(GroupInvite.group_id == group_id)) or 0)


async def groups_by_ids(*, session: AsyncSession, group_ids: set[int]) -> dict[int, CommunityGroup]:
    if not group_ids:
        return {}
    return {g.id: g for g in await session.scalars(select(CommunityGroup).where(CommunityGroup.id.in_(group_ids)))}
