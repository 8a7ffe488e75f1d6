"""Helpers for the leaders tests: applicants, bound members, database snapshots, PNG headers."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from sqlalchemy import select

from linli.context import AppContext
from linli.leaders import service as leaders
from linli.leaders.models import InviteCode, Leader, LeaderProgram, LeaderStatusChange
from linli.members.models import Member
from tests.factories import Actor, LeaderRef, World

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Applicant:
    actor: Actor
    leader_id: int
    community_id: int


async def applicant(world: World, brand_id: int, community_id: int, *, name: str = "小张") -> Applicant:
    """A user who has applied (through the service) to lead a community; not yet decided."""
    actor = await world.user(name=name)
    async with world.ctx.db.transaction() as s:
        leader = await leaders.apply(
            session=s, brand_id=brand_id, user_id=actor.user_id, community_id=community_id, real_name=name,
            note="我想当团长", now=world.ctx.clock.now(),
        )
    return Applicant(actor=actor, leader_id=leader.id, community_id=community_id)


async def bind_members(world: World, *, leader: LeaderRef, count: int) -> list[Actor]:
    """New neighbours who enter through the leader's invite code and so are bound to the leader."""
    from linli.attribution import service as attribution

    neighbours = []
    for _ in range(count):
        neighbour = await world.user(name="邻居")
        async with world.ctx.db.transaction() as s:
            outcome = await attribution.enter_with_code(
                session=s, user_id=neighbour.user_id, raw_code=leader.code, now=world.ctx.clock.now()
            )
        assert outcome.result == "bound", outcome
        neighbours.append(neighbour)
    return neighbours


async def snapshot(ctx: AppContext) -> dict[str, list[tuple]]:
    """Everything the leaders context writes, to show that a refused request changed nothing."""
    async with ctx.db.read() as s:
        return {
            "leaders": [
                (x.id, x.status, x.community_id, x.decision_reason, x.activated_at, x.exited_at)
                for x in (await s.scalars(select(Leader).order_by(Leader.id))).all()
            ],
            "history": [
                (x.id, x.leader_id, x.to_status)
                for x in (await s.scalars(select(LeaderStatusChange).order_by(LeaderStatusChange.id))).all()
            ],
            "codes": [
                (x.id, x.code, x.status, x.grace_until)
                for x in (await s.scalars(select(InviteCode).order_by(InviteCode.id))).all()
            ],
            "programs": [
                (x.brand_id, x.invite_grace_hours, repr(x.levels))
                for x in (await s.scalars(select(LeaderProgram))).all()
            ],
            "members": [(x.id, x.brand_id, x.user_id) for x in (await s.scalars(select(Member).order_by(Member.id))).all()],
        }


async def leader_status(ctx: AppContext, leader_id: int) -> str:
    async with ctx.db.read() as s:
        leader = await s.get(Leader, leader_id)
        assert leader is not None
        return leader.status


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"], body
    return body["error"]["code"]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (which must come first)."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    assert data[-8:-4] == b"IEND"
    return width, height
