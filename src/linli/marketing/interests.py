"""Interest groups (兴趣小组): a rule over each member's purchases in a window, the members it finds, recomputed on
schedule (daily per brand, `linli interest-groups --as-of`) and whenever the rule changes.

A rule names a focus (some categories, or some products) and asks, over the last `window_days` before the moment it
is computed for: a share of the member's spend on the focus of at least `min_share_bp`, at least `min_focus_fen` on
it and at least `min_focus_orders` orders of it. Spend is what members paid net of refunds (the paid-order
roll-up). A recomputation adds whom the rule now finds and removes whom it no longer finds, in one transaction, so
running it twice for the same moment changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.catalog import service as catalog
from linli.dashboards import purchases
from linli.db import insert_missing
from linli.errors import Conflict, InvalidInput, NotFound
from linli.marketing.models import InterestGroup, InterestMember
from linli.members import service as members
from linli.money import yuan
from linli.notifications import pushes
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page
from linli.security import mask_phone

RULE_CHANGED = "marketing.interest_rule_changed"
MAX_FOCUS = 20
MAX_GROUPS = 100


@dataclass(frozen=True)
class GroupInput:
    name: str
    category_ids: list[int] = field(default_factory=list)
    product_ids: list[int] = field(default_factory=list)
    description: str = ""
    window_days: int = 90
    min_share_bp: int = 3000
    min_focus_fen: int = 0
    min_focus_orders: int = 1


async def _clean(session: AsyncSession, *, brand_id: int, data: GroupInput) -> GroupInput:
    name, description = data.name.strip(), data.description.strip()
    if not 1 <= len(name) <= 32:
        raise InvalidInput("小组名称须为 1 到 32 个字", code="interest_group_name_invalid")
    if len(description) > 200:
        raise InvalidInput("小组说明不能超过 200 字", code="interest_group_description_invalid")
    categories, products = sorted(set(data.category_ids)), sorted(set(data.product_ids))
    if bool(categories) == bool(products) or len(categories) > MAX_FOCUS or len(products) > MAX_FOCUS:
        raise InvalidInput(f"请选择 1 到 {MAX_FOCUS} 个品类，或 1 到 {MAX_FOCUS} 个商品（二选一）", code="interest_focus_invalid")
    found = (await catalog.categories_by_ids(session=session, category_ids=set(categories)) if categories
             else await catalog.products_by_ids(session=session, product_ids=set(products)))
    if len(found) != len(categories or products) or any(row.brand_id != brand_id for row in found.values()):
        raise NotFound("品类或商品不存在", code="interest_focus_not_found")
    if not 7 <= data.window_days <= 365:
        raise InvalidInput("统计天数须为 7 到 365 天", code="interest_window_invalid")
    if not 0 <= data.min_share_bp <= 10_000:
        raise InvalidInput("消费占比须在 0% 到 100% 之间", code="interest_share_invalid")
    if not 0 <= data.min_focus_fen <= 10_000_000_00:
        raise InvalidInput("最低消费金额须在 0 到 1,000 万元之间", code="interest_spend_invalid")
    if not 1 <= data.min_focus_orders <= 100:
        raise InvalidInput("最少订单数须为 1 到 100", code="interest_orders_invalid")
    return GroupInput(
        name=name, description=description, category_ids=categories, product_ids=products,
        window_days=data.window_days, min_share_bp=data.min_share_bp, min_focus_fen=data.min_focus_fen,
        min_focus_orders=data.min_focus_orders,
    )


async def _name_taken(session: AsyncSession, *, brand_id: int, name: str, except_id: int | None = None) -> None:
    query = select(InterestGroup.id).where(InterestGroup.brand_id == brand_id, InterestGroup.name == name)
    if except_id is not None:
        query = query.where(InterestGroup.id != except_id)
    if await session.scalar(query) is not None:
        raise Conflict("已有同名的兴趣小组", code="interest_group_name_taken")


def _apply(group: InterestGroup, data: GroupInput) -> None:
    group.name, group.description = data.name, data.description
    group.category_ids, group.product_ids = data.category_ids, data.product_ids
    group.window_days, group.min_share_bp = data.window_days, data.min_share_bp
    group.min_focus_fen, group.min_focus_orders = data.min_focus_fen, data.min_focus_orders


async def create_group(*, session: AsyncSession, brand_id: int, data: GroupInput, now: datetime) -> InterestGroup:
    data = await _clean(session, brand_id=brand_id, data=data)
    count = await session.scalar(select(func.count()).where(InterestGroup.brand_id == brand_id))
    if (count or 0) >= MAX_GROUPS:
        raise InvalidInput(f"每个品牌最多 {MAX_GROUPS} 个兴趣小组", code="interest_group_limit")
    await _name_taken(session, brand_id=brand_id, name=data.name)
    group = InterestGroup(brand_id=brand_id, status="active", created_at=now, updated_at=now, member_count=0)
    _apply(group, data)
    session.add(group)
    await session.flush()
    emit(session, topic=RULE_CHANGED, payload={"brand_id": brand_id, "group_id": group.id}, now=now)
    return group


async def get_group(*, session: AsyncSession, brand_id: int, group_id: int, for_update: bool = False) -> InterestGroup:
    group = await session.get(InterestGroup, group_id, with_for_update=for_update, populate_existing=for_update)
    if group is None or group.brand_id != brand_id:
        raise NotFound("兴趣小组不存在", code="interest_group_not_found")
    return group


async def update_group(
    *, session: AsyncSession, brand_id: int, group_id: int, data: GroupInput, now: datetime
) -> InterestGroup:
    data = await _clean(session, brand_id=brand_id, data=data)
    group = await get_group(session=session, brand_id=brand_id, group_id=group_id, for_update=True)
    await _name_taken(session, brand_id=brand_id, name=data.name, except_id=group.id)
    _apply(group, data)
    group.updated_at = now
    await session.flush()
    emit(session, topic=RULE_CHANGED, payload={"brand_id": brand_id, "group_id": group.id}, now=now)
    return group


async def archive_group(*, session: AsyncSession, brand_id: int, group_id: int, now: datetime) -> InterestGroup:
    """An archived group targets nobody and is no longer recomputed; archiving twice is the same."""
    group = await get_group(session=session, brand_id=brand_id, group_id=group_id, for_update=True)
    if group.status != "archived":
        await session.execute(delete(InterestMember).where(InterestMember.group_id == group.id))
        group.status, group.member_count, group.updated_at = "archived", 0, now
    return group


async def list_groups(*, session: AsyncSession, brand_id: int) -> list[InterestGroup]:
    rows = await session.scalars(
        select(InterestGroup).where(InterestGroup.brand_id == brand_id).order_by(InterestGroup.status, InterestGroup.id)
    )
    return list(rows)


@dataclass(frozen=True)
class Recomputed:
    group_id: int
    joined: int
    left: int
    members: int


async def recompute_group(*, session: AsyncSession, group: InterestGroup, as_of: datetime) -> Recomputed:
    """The group's members as the rule finds them for `as_of` (the window ends there)."""
    if group.status != "active":
        return Recomputed(group_id=group.id, joined=0, left=0, members=0)
    found = await purchases.members_with_focus(
        session=session, brand_id=group.brand_id, since=as_of - timedelta(days=group.window_days), until=as_of,
        category_ids=group.category_ids, product_ids=group.product_ids, min_share_bp=group.min_share_bp,
        min_focus_fen=group.min_focus_fen, min_focus_orders=group.min_focus_orders,
    )
    current = set(await session.scalars(select(InterestMember.member_id).where(InterestMember.group_id == group.id)))
    joined, left = found - current, current - found
    await insert_missing(session, InterestMember, [
        {"group_id": group.id, "member_id": member_id, "joined_at": as_of} for member_id in sorted(joined)
    ])
    if left:
        await session.execute(
            delete(InterestMember).where(InterestMember.group_id == group.id, InterestMember.member_id.in_(sorted(left)))
        )
    group.member_count, group.computed_at = len(found), as_of
    await session.flush()
    return Recomputed(group_id=group.id, joined=len(joined), left=len(left), members=len(found))


async def recompute_brand(*, session: AsyncSession, brand_id: int, as_of: datetime) -> list[Recomputed]:
    groups = await session.scalars(
        select(InterestGroup).where(InterestGroup.brand_id == brand_id, InterestGroup.status == "active")
        .order_by(InterestGroup.id).with_for_update()
    )
    return [await recompute_group(session=session, group=group, as_of=as_of) for group in groups]


async def group_members(
    *, session: AsyncSession, brand_id: int, group_id: int, params: PageParams
) -> tuple[InterestGroup, list[InterestMember], int]:
    group = await get_group(session=session, brand_id=brand_id, group_id=group_id)
    rows, total = await fetch_page(
        session, select(InterestMember).where(InterestMember.group_id == group.id).order_by(InterestMember.member_id), params
    )
    return group, rows, total


async def member_ids_of(*, session: AsyncSession, brand_id: int, group_id: int) -> list[int]:
    """Whom a push or a coupon campaign aimed at the group reaches: its members now (an archived group: nobody)."""
    group = await get_group(session=session, brand_id=brand_id, group_id=group_id)
    rows = await session.scalars(
        select(InterestMember.member_id).where(InterestMember.group_id == group.id).order_by(InterestMember.member_id)
    )
    return list(rows)


async def groups_of_member(*, session: AsyncSession, member_id: int) -> list[InterestGroup]:
    rows = await session.scalars(
        select(InterestGroup).join(InterestMember, InterestMember.group_id == InterestGroup.id)
        .where(InterestMember.member_id == member_id, InterestGroup.status == "active").order_by(InterestGroup.id)
    )
    return list(rows)


def rule_text(group: InterestGroup, *, focus_names: list[str]) -> str:
    """The rule as staff read it: 近 90 天在「轻食、沙拉」的消费占比 ≥ 30%，至少 1 单."""
    share = f"{group.min_share_bp / 100:g}%"
    spend = f"、至少 ¥{yuan(group.min_focus_fen)}" if group.min_focus_fen else ""
    return f"近 {group.window_days} 天在「{'、'.join(focus_names)}」的消费占比 ≥ {share}{spend}，至少 {group.min_focus_orders} 单"


@dataclass(frozen=True)
class GroupView:
    group: InterestGroup
    rule_text: str


async def group_views(*, session: AsyncSession, groups: list[InterestGroup]) -> list[GroupView]:
    """Each group with its rule in words (the focus named by the catalog's names)."""
    categories = await catalog.categories_by_ids(session=session, category_ids={i for g in groups for i in g.category_ids})
    products = await catalog.products_by_ids(session=session, product_ids={i for g in groups for i in g.product_ids})
    return [
        GroupView(group=g, rule_text=rule_text(g, focus_names=[categories[i].name for i in g.category_ids if i in categories]
                                               or [products[i].name for i in g.product_ids if i in products]))
        for g in groups
    ]


@dataclass(frozen=True)
class MemberCard:
    member_id: int
    name: str
    phone: str  # masked: a marketing list needs no full number
    joined_at: datetime


async def member_cards(*, session: AsyncSession, rows: list[InterestMember]) -> list[MemberCard]:
    found = await members.members_by_ids(session=session, member_ids={r.member_id for r in rows})
    users = await accounts.users_by_ids(session=session, user_ids={m.user_id for m in found.values()})
    cards = []
    for row in rows:
        user = users.get(found[row.member_id].user_id) if row.member_id in found else None
        cards.append(MemberCard(
            member_id=row.member_id, name=(user.display_name if user else "") or "邻居",
            phone=mask_phone(user.phone if user else None), joined_at=row.joined_at,
        ))
    return cards


async def push_to_group(
    *, session: AsyncSession, brand_id: int, group_id: int, title: str, body: str, tag: str, dedupe_key: str,
    base_url: str, now: datetime, actor_user_id: int | None = None, link: str | None = None,
) -> pushes.Enqueued:
    """A message to every member of an active interest group, to each one's 站内信 (a muted member is skipped by the
    dispatcher); the same `dedupe_key` again sends nothing more. An empty group is a 409: there is nobody to tell."""
    group = await get_group(session=session, brand_id=brand_id, group_id=group_id)
    if group.status != "active":
        raise Conflict("兴趣小组已停用，不能推送", code="interest_group_archived")
    member_rows = await members.members_by_ids(session=session, member_ids=set(await member_ids_of(
        session=session, brand_id=brand_id, group_id=group_id)))
    if not member_rows:
        raise Conflict("兴趣小组还没有成员", code="interest_group_empty")
    return await pushes.enqueue(
        session=session, brand_id=brand_id, title=title, body=body, tag=tag, kind="interest_group", now=now,
        base_url=base_url, dedupe_key=dedupe_key, recipients=sorted(m.user_id for m in member_rows.values()), link=link,
        created_by_user_id=actor_user_id,
    )
