"""Inviting a member into their community's group after their first paid order — once.

On `order.paid` the member of the order is invited into the group of the order's community (its pickup
community) when that group can be joined (it has a join link). A member is invited once, whatever happens later:
`community_invites.member_id` is unique, so a redelivered event, two orders paid at once or a second paid order
invite nobody again, and the inbox message has a dedupe key per member as well.

A member whose community has no group yet, or a group without a join link, is not forgotten: when the group's join
link is first set (`community.group_ready`) every member who paid an order there and was never invited is invited
then; one who pays again before that is invited on that order, as a first buyer would be.

The invitation is a transactional message (站内信 via `notifications.notify`, never a push, never muted): the
group's name, and a link to 我的社区群 (`/me/groups`), which shows the join link and its QR code.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.community.models import CommunityGroup, GroupInvite
from linli.community.service import group_of_community
from linli.db import id_chunks, insert_unique
from linli.notifications import service as notifications
from linli.orders import service as orders
from linli.orders import stats as order_stats

INVITE_KIND = "community_invite"
GROUPS_PAGE = "/me/groups"


async def _invite(
    session: AsyncSession, group: CommunityGroup, *, member_id: int, user_id: int, order_id: int | None, now: datetime
) -> GroupInvite | None:
    row = GroupInvite(group_id=group.id, member_id=member_id, user_id=user_id, order_id=order_id, invited_at=now)
    if not await insert_unique(session, row):
        return None  # invited before (another event, another order): once only
    brand = await brands.get_brand(session=session, brand_id=group.brand_id)
    community = await brands.get_community(session=session, brand_id=group.brand_id, community_id=group.community_id)
    await notifications.notify(
        session=session, user_id=user_id, brand_id=group.brand_id, order_id=order_id, kind=INVITE_KIND,
        title=f"邀请您加入「{group.name}」"[:notifications.MAX_TITLE],
        body=(
            f"感谢您在{brand.name}下单！{community.name}的邻居都在「{group.name}」：团购预告、到货提醒、邻里互助。"
            "打开「我的社区群」扫码或点链接即可加入。"
        )[:notifications.MAX_BODY],
        link=GROUPS_PAGE, dedupe_key=f"community_invite:member:{member_id}", now=now,
    )
    return row


async def invite_after_payment(*, session: AsyncSession, order_id: int, now: datetime) -> GroupInvite | None:
    """On `order.paid`: the member's invitation, if they have none yet and their community's group can be joined."""
    order = await orders.get_order(session=session, order_id=order_id)
    if order.paid_at is None or order.community_id is None:
        return None
    if await session.scalar(select(GroupInvite.id).where(GroupInvite.member_id == order.member_id)) is not None:
        return None
    group = await group_of_community(session=session, community_id=order.community_id)
    if group is None or not group.join_url:
        return None  # invited when the group can be joined (invite_waiting)
    return await _invite(session, group, member_id=order.member_id, user_id=order.user_id, order_id=order.id, now=now)


async def invite_waiting(*, session: AsyncSession, group_id: int, now: datetime) -> int:
    """On `community.group_ready`: everyone who paid in the group's community and was never invited; how many."""
    group = await session.get(CommunityGroup, group_id)
    if group is None or not group.join_url:
        return 0
    payers = await order_stats.first_paid_orders_in_community(session=session, community_id=group.community_id)
    invited: set[int] = set()
    for chunk in id_chunks(m for m, _, _ in payers):
        invited.update(await session.scalars(select(GroupInvite.member_id).where(GroupInvite.member_id.in_(chunk))))
    made = 0
    for member_id, user_id, order_id in payers:
        if member_id not in invited and await _invite(
            session, group, member_id=member_id, user_id=user_id, order_id=order_id, now=now
        ) is not None:
            made += 1
    return made


async def invitations_of(*, session: AsyncSession, user_id: int) -> list[tuple[GroupInvite, CommunityGroup]]:
    """The groups a person was invited into (one per brand they bought from), newest first."""
    rows = await session.execute(
        select(GroupInvite, CommunityGroup).join(CommunityGroup, CommunityGroup.id == GroupInvite.group_id)
        .where(GroupInvite.user_id == user_id).order_by(GroupInvite.id.desc())
    )
    return [(invite, group) for invite, group in rows.all()]


async def invitation_to(*, session: AsyncSession, user_id: int, group_id: int) -> CommunityGroup | None:
    """The group, if this person was invited into it (nobody else sees its join link)."""
    row = (await session.execute(
        select(CommunityGroup).join(GroupInvite, GroupInvite.group_id == CommunityGroup.id)
        .where(GroupInvite.user_id == user_id, CommunityGroup.id == group_id)
    )).scalar_one_or_none()
    return row
