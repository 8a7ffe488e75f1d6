"""Comments in a live room: bounded, rate-limited per user and room, shown with the name masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.errors import Conflict, InvalidInput, RateLimited
from linli.live import service
from linli.live.models import RoomComment
from linli.security import mask_name


COMMENT_MAX_LENGTH = 100
COMMENT_MIN_INTERVAL = timedelta(seconds=3)
COMMENT_WINDOW = timedelta(minutes=1)
COMMENTS_PER_WINDOW = 10


async def recent_comments(*, session: AsyncSession, session_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The last comments of a room, oldest first, as they appear in `live.comment` events."""
    rows = (
        await session.scalars(
            select(RoomComment).where(RoomComment.session_id == session_id).order_by(RoomComment.id.desc()).limit(limit)
        )
    ).all()
    users = await accounts.users_by_ids(session=session, user_ids={c.user_id for c in rows})
    return [
        _comment_card(c, users[c.user_id].display_name if c.user_id in users else "") for c in reversed(rows)
    ]


def _comment_card(comment: RoomComment, display_name: str) -> dict[str, Any]:
    return {"comment_id": comment.id, "name": mask_name(display_name), "body": comment.body, "created_at": comment.created_at}


async def _serialize(session: AsyncSession, key: str) -> None:
    """One user's concurrent comments queue here on PostgreSQL (SQLite has one writer anyway)."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


def clean_comment(body: str) -> str:
    body = body.strip()
    if not 1 <= len(body) <= COMMENT_MAX_LENGTH:
        raise InvalidInput(f"评论须为 1 到 {COMMENT_MAX_LENGTH} 个字", code="comment_invalid")
    if any(ord(ch) < 32 and ch not in "\n" for ch in body):
        raise InvalidInput("评论不能包含控制字符", code="comment_invalid")
    return body


@dataclass(frozen=True)
class PostedComment:
    comment: RoomComment
    card: dict[str, Any]  # as sent in the `live.comment` event: comment_id, name (masked), body, created_at


async def post_comment(*, session: AsyncSession, session_id: int, user_id: int, body: str, now: datetime) -> PostedComment:
    """A comment in a live room: at most one per 3 seconds and 10 per minute per user and room."""
    body = clean_comment(body)
    live = await service.get_session(session=session, session_id=session_id)
    if live.status != "live":
        raise Conflict("直播未在进行中，暂不能评论", code="session_not_live", details={"status": live.status})
    await _serialize(session, f"comment:{session_id}:{user_id}")
    recent = (
        await session.scalars(
            select(RoomComment.created_at)
            .where(
                RoomComment.session_id == session_id,
                RoomComment.user_id == user_id,
                RoomComment.created_at > now - COMMENT_WINDOW,
            )
            .order_by(RoomComment.created_at.desc())
        )
    ).all()
    if recent and recent[0] > now - COMMENT_MIN_INTERVAL:
        raise RateLimited("发言太快了，请 3 秒后再试", code="comment_rate_limited", details={"retry_after_seconds": 3})
    if len(recent) >= COMMENTS_PER_WINDOW:
        raise RateLimited(
            f"每分钟最多发言 {COMMENTS_PER_WINDOW} 次，请稍后再试", code="comment_rate_limited",
            details={"retry_after_seconds": 60},
        )
    user = await accounts.get_user(session=session, user_id=user_id)
    comment = RoomComment(session_id=session_id, user_id=user_id, body=body, created_at=now)
    session.add(comment)
    await session.flush()
    card = _comment_card(comment, user.display_name)
    service.emit_room(session, session_id=session_id, topic="live.comment", payload=card, now=now)
    return PostedComment(comment=comment, card=card)

