"""The 70/30 guideline, kept by the system: a community group's content stays about 70% value, 30% commerce.

Every message to a group (a push now, a UGC post later) carries a tag, `value` or `commerce`, and is counted in
`community_group_messages` when it is admitted. A commerce message that would make the commerce share of the
group's last N messages — the new one included — *exceed* the group's ceiling (default 30% of the last 10) is not
admitted: it is held for the brand. Exactly at the ceiling it goes (3 commerce of the last 10 at 30%); value always
goes. While a group has fewer than N messages, the share is of those it has: a new group begins with value.

`check` and `record` are the two halves (a push records once its content has an id); `admit` is both, for a
caller with an id already (a UGC post: `admit(session=…, group_id=…, tag=…, source="post", source_id=post.id,
now=…)`). Both lock the group row first, so two messages to one group are judged one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.community.models import CommunityGroup, GroupMessage
from linli.db import insert_unique
from linli.notifications.pushes import check_tag

SOURCES = ("push", "post")


def percent(bp: int) -> str:
    """Basis points as people read a share: 3000 → "30%", 3333 → "33.33%"."""
    whole, rest = divmod(bp, 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


@dataclass(frozen=True)
class Share:
    """The commerce share of a group's last `window` messages (with the candidate, when judging one)."""

    commerce: int
    counted: int
    ceiling_bp: int
    window: int

    @property
    def share_bp(self) -> int:
        return self.commerce * 10_000 // self.counted if self.counted else 0

    @property
    def over(self) -> bool:
        return self.commerce * 10_000 > self.ceiling_bp * self.counted  # exact: no rounding decides a boundary

    def note(self) -> str:
        return (
            f"最近 {self.counted} 条消息中商业内容将占 {percent(self.share_bp)}，"
            f"超过上限 {percent(self.ceiling_bp)}"
        )


@dataclass(frozen=True)
class Admission:
    admitted: bool
    share: Share  # with the candidate counted


async def _last_tags(session: AsyncSession, group: CommunityGroup, limit: int) -> list[str]:
    if limit <= 0:
        return []
    rows = await session.scalars(
        select(GroupMessage.tag).where(GroupMessage.group_id == group.id).order_by(GroupMessage.id.desc()).limit(limit)
    )
    return list(rows)


async def current_share(*, session: AsyncSession, group: CommunityGroup) -> Share:
    """The share of the group's last N messages as they are (the console's figure)."""
    tags = await _last_tags(session, group, group.window_messages)
    return Share(commerce=tags.count("commerce"), counted=len(tags), ceiling_bp=group.commerce_ceiling_bp,
                 window=group.window_messages)


async def lock_group(*, session: AsyncSession, group_id: int) -> CommunityGroup:
    group = await session.get(CommunityGroup, group_id, with_for_update=True, populate_existing=True)
    assert group is not None
    return group


async def check(*, session: AsyncSession, group: CommunityGroup, tag: str) -> Admission:
    """Whether a message tagged `tag` may go to the group now; writes nothing. Lock the group first (`lock_group`)."""
    check_tag(tag)
    tags = await _last_tags(session, group, group.window_messages - 1) + [tag]
    share = Share(commerce=tags.count("commerce"), counted=len(tags), ceiling_bp=group.commerce_ceiling_bp,
                  window=group.window_messages)
    return Admission(admitted=tag == "value" or not share.over, share=share)


async def record(*, session: AsyncSession, group_id: int, tag: str, source: str, source_id: int, now: datetime) -> None:
    """Counts an admitted message in the group's last N (once per source and id)."""
    assert source in SOURCES
    row = GroupMessage(group_id=group_id, tag=tag, source=source, source_id=source_id, created_at=now)
    await insert_unique(session, row)


async def admit(
    *, session: AsyncSession, group_id: int, tag: str, source: str, source_id: int, now: datetime
) -> Admission:
    """Check and record in one (a message that already has its id). Not admitted: nothing is recorded, the caller
    holds the message and may ask again later. Admitting the same source and id twice counts it once."""
    group = await lock_group(session=session, group_id=group_id)
    already = await session.scalar(
        select(GroupMessage.id).where(GroupMessage.source == source, GroupMessage.source_id == source_id)
    )
    if already is not None:
        return Admission(admitted=True, share=await current_share(session=session, group=group))
    admission = await check(session=session, group=group, tag=tag)
    if admission.admitted:
        await record(session=session, group_id=group_id, tag=tag, source=source, source_id=source_id, now=now)
    return admission
