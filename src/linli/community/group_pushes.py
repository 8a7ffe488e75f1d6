"""Pushing to a community group, under the 70/30 guideline.

`enqueue_for_group` locks the group, judges the push (`balance.check`) and queues it (`notifications.pushes.enqueue`)
to the group's robot, or — a group without a robot — to the 站内信 of every member invited into it. An admitted
push is counted in the group's last N at once (its delivery then is the dispatcher's); a commerce push over the
ceiling is queued *held*, with the share that held it, for the brand to see on the console. The brand may release
it (judged again, as if it were new: 409 while it would still cross) or discard it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.community import balance
from linli.community.models import GroupInvite
from linli.community.service import get_group
from linli.errors import Conflict
from linli.notifications import pushes
from linli.notifications.models import PushContent


async def enqueue_for_group(
    *,
    session: AsyncSession,
    brand_id: int,
    group_id: int,
    title: str,
    body: str,
    tag: str,
    kind: str,
    dedupe_key: str,
    now: datetime,
    base_url: str,
    markdown: str | None = None,
    image_png: bytes | None = None,
    link: str | None = None,
    created_by_user_id: int | None = None,
) -> pushes.Enqueued:
    """Queues a push to the group (see the module's docstring); the same `dedupe_key` again writes nothing."""
    pushes.check_tag(tag)
    await get_group(session=session, brand_id=brand_id, group_id=group_id)
    group = await balance.lock_group(session=session, group_id=group_id)
    existing = await pushes.find_content(session=session, brand_id=brand_id, dedupe_key=dedupe_key)
    if existing is not None:
        return pushes.Enqueued(
            content=existing, pushes=await pushes.pushes_of(session=session, content_id=existing.id), created=False
        )
    admission = await balance.check(session=session, group=group, tag=tag)
    hold = None if admission.admitted else pushes.Hold(share_bp=admission.share.share_bp, note=admission.share.note())
    members = [] if group.robot_id else list(await session.scalars(
        select(GroupInvite.user_id).where(GroupInvite.group_id == group.id).order_by(GroupInvite.user_id)
    ))
    enqueued = await pushes.enqueue(
        session=session, brand_id=brand_id, title=title, body=body, tag=tag, kind=kind, dedupe_key=dedupe_key,
        now=now, base_url=base_url, robot_id=group.robot_id, recipients=members, group_id=group.id,
        markdown=markdown, image_png=image_png, link=link, hold=hold, created_by_user_id=created_by_user_id,
    )
    if enqueued.created and hold is None:
        await balance.record(session=session, group_id=group.id, tag=tag, source="push", source_id=enqueued.content.id,
                             now=now)
    return enqueued


@dataclass(frozen=True)
class Decision:
    content_id: int
    changed: int  # push rows that left `held`


async def _held(session: AsyncSession, *, brand_id: int, push_id: int) -> PushContent:
    content = await pushes.held_content(session=session, brand_id=brand_id, push_id=push_id)
    assert content.group_id is not None  # only a group's push is ever held
    return content


async def release(*, session: AsyncSession, brand_id: int, push_id: int, actor_user_id: int, now: datetime) -> Decision:
    """Sends a held push after all, if the group's share now allows it."""
    content = await _held(session, brand_id=brand_id, push_id=push_id)
    group = await balance.lock_group(session=session, group_id=content.group_id)
    admission = await balance.check(session=session, group=group, tag=content.tag)
    if not admission.admitted:
        raise Conflict(f"仍不能放行：{admission.share.note()}", code="push_still_over_ceiling",
                       details={"share_bp": admission.share.share_bp, "ceiling_bp": admission.share.ceiling_bp})
    await balance.record(session=session, group_id=group.id, tag=content.tag, source="push", source_id=content.id,
                         now=now)
    changed = await pushes.release_held(session=session, content=content, actor_user_id=actor_user_id, now=now)
    return Decision(content_id=content.id, changed=changed)


async def discard(*, session: AsyncSession, brand_id: int, push_id: int, actor_user_id: int, now: datetime) -> Decision:
    content = await _held(session, brand_id=brand_id, push_id=push_id)
    changed = await pushes.discard_held(session=session, content=content, actor_user_id=actor_user_id, now=now)
    return Decision(content_id=content.id, changed=changed)
