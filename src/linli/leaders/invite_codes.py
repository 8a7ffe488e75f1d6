"""Invite codes: 8 random characters from an alphabet without look-alikes, rotated with a grace period."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.db import insert_unique
from linli.errors import Conflict, DomainError, InvalidInput, NotFound
from linli.leaders.models import InviteCode, Leader

# No 0/O, 1/I/L: a code read aloud or copied by hand cannot be mistaken.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


class InviteCodeUnusable(DomainError):
    status_code = 410
    default_code = "invite_code_revoked"
    default_message = "邀请码已失效"


def normalize(raw: str) -> str:
    """Upper-cases and strips; refuses anything that cannot be a code (a 422, not a lookup)."""
    code = raw.strip().upper()
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise InvalidInput("邀请码格式不正确（8 位字母数字）", code="invite_code_malformed")
    return code


def generate_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


ISSUE_ATTEMPTS = 5


async def issue_code(*, session: AsyncSession, leader_id: int, now: datetime) -> InviteCode:
    """A fresh active code; a collision with an existing code (about 1 in 10^11) simply draws again.

    The other constraint an insert can hit is "one active code per leader": then a concurrent
    request has just issued one, and drawing again would never succeed, so that is a conflict.
    """
    for _ in range(ISSUE_ATTEMPTS):
        invite = InviteCode(leader_id=leader_id, code=generate_code(), status="active", created_at=now)
        if await insert_unique(session, invite):
            return invite
        if await current_code(session=session, leader_id=leader_id) is not None:
            break
    raise Conflict("邀请码刚被更新，请刷新后重试", code="concurrent_conflict")


async def current_code(*, session: AsyncSession, leader_id: int) -> InviteCode | None:
    return await session.scalar(
        select(InviteCode).where(InviteCode.leader_id == leader_id, InviteCode.status == "active")
    )


async def codes_of(*, session: AsyncSession, leader_id: int) -> list[InviteCode]:
    rows = await session.scalars(select(InviteCode).where(InviteCode.leader_id == leader_id).order_by(InviteCode.id))
    return list(rows)


async def rotate(*, session: AsyncSession, leader_id: int, grace_hours: int, now: datetime) -> InviteCode:
    """Retires the current code (it keeps working for `grace_hours`) and issues a new one."""
    current = await session.scalar(
        select(InviteCode)
        .where(InviteCode.leader_id == leader_id, InviteCode.status == "active")
        .with_for_update()
    )
    if current is not None:
        current.status = "rotated"
        current.grace_until = now + timedelta(hours=grace_hours)
        await session.flush()
    return await issue_code(session=session, leader_id=leader_id, now=now)


async def revoke_all(*, session: AsyncSession, leader_id: int, now: datetime) -> int:
    """Stops every code of the leader at once, grace periods included."""
    rows = (
        await session.scalars(
            select(InviteCode)
            .where(InviteCode.leader_id == leader_id, InviteCode.status.in_(("active", "rotated")))
            .with_for_update()
        )
    ).all()
    for invite in rows:
        invite.status = "revoked"
        invite.revoked_at = now
    await session.flush()
    return len(rows)


@dataclass(frozen=True)
class ResolvedCode:
    invite: InviteCode
    leader: Leader


async def resolve(*, session: AsyncSession, raw_code: str, now: datetime) -> ResolvedCode:
    """The leader behind a code that can be used now; 404 unknown, 410 revoked/expired/leader inactive."""
    code = normalize(raw_code)
    invite = await session.scalar(select(InviteCode).where(InviteCode.code == code))
    if invite is None:
        raise NotFound("邀请码不存在", code="invite_code_unknown")
    if invite.status == "revoked":
        raise InviteCodeUnusable()
    if invite.status == "rotated" and (invite.grace_until is None or invite.grace_until <= now):
        raise InviteCodeUnusable("邀请码已更换，旧码已过期", code="invite_code_expired")
    leader = await session.get(Leader, invite.leader_id)
    if leader is None or leader.status != "active":
        raise InviteCodeUnusable("该团长当前不可邀请", code="leader_inactive")
    return ResolvedCode(invite=invite, leader=leader)


def invite_link(*, base_url: str, code: str) -> str:
    return f"{base_url}/i/{code}"
