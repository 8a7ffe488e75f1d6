"""Notifications: other contexts call `notify` (from an outbox handler, never inside the request that
caused it); the member reads, counts and marks their own inbox.

`notify` is idempotent by `dedupe_key`: the outbox may deliver an event twice, the inbox shows it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.db import insert_unique
from linli.errors import NotFound
from linli.notifications.models import Notification
from linli.pagination import PageParams, fetch_page

MAX_TITLE = 64
MAX_BODY = 500


async def notify(
    *,
    session: AsyncSession,
    user_id: int,
    kind: str,
    title: str,
    body: str,
    dedupe_key: str,
    now: datetime,
    brand_id: int | None = None,
    order_id: int | None = None,
    link: str | None = None,
) -> Notification:
    """Puts a message in the user's inbox once per `dedupe_key`; a repeat returns the first message. `link` is a
    page of linli (`/me/groups`) or an https address the message points to, checked by its maker
    (`pushes.clean_link`)."""
    row = Notification(
        user_id=user_id, brand_id=brand_id, kind=kind[:32], title=title[:MAX_TITLE], body=body[:MAX_BODY],
        order_id=order_id, link=link[:255] if link else None, dedupe_key=dedupe_key[:128], created_at=now, read_at=None,
    )
    if await insert_unique(session, row):
        return row
    existing = await session.scalar(select(Notification).where(Notification.dedupe_key == dedupe_key[:128]))
    assert existing is not None
    return existing


async def list_inbox(
    *, session: AsyncSession, user_id: int, unread_only: bool, params: PageParams
) -> tuple[list[Notification], int]:
    query = select(Notification).where(Notification.user_id == user_id).order_by(Notification.id.desc())
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return await fetch_page(session, query, params)


async def unread_count(*, session: AsyncSession, user_id: int) -> int:
    count = await session.scalar(
        select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_read(*, session: AsyncSession, user_id: int, notification_id: int, now: datetime) -> Notification:
    """Marks one of the caller's messages read (reading twice keeps the first time); another's is a 404."""
    row = await session.get(Notification, notification_id, with_for_update=True)
    if row is None or row.user_id != user_id:
        raise NotFound("消息不存在", code="notification_not_found")
    if row.read_at is None:
        row.read_at = now
    return row


async def mark_all_read(*, session: AsyncSession, user_id: int, now: datetime) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    return result.rowcount or 0


async def messages_for(*, session: AsyncSession, user_id: int, kind: str | None = None) -> list[Notification]:
    """Every message of a user, oldest first (tests and the demo summary)."""
    query = select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(await session.scalars(query))
