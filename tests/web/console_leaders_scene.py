"""The console's 团长 tests run on the demo: 赵哥 (13800000003) applied for 锦绣江南, 小李 and 王姐 lead, the
owner and the operator; helpers to find leaders and members, read the database and sign in."""

from __future__ import annotations

from sqlalchemy import func, select

from linli.accounts import service as accounts
from linli.attribution.models import AttributionEvent, Binding
from linli.context import AppContext
from linli.demo.cast import APPLICANT_PHONE, OPERATOR_LOGIN, OWNER_LOGIN
from linli.leaders import service as leaders
from linli.leaders.models import InviteCode, Leader, LeaderStatusChange
from linli.members import service as members

SECOND_APPLICANT_PHONE = "13900000030"  # an unbound demo neighbour


async def user_id_of_phone(ctx: AppContext, phone: str) -> int:
    async with ctx.db.read() as s:
        user = await accounts.find_user_by_phone(session=s, phone=phone)
        assert user is not None
        return user.id


async def leader_of(ctx: AppContext, brand_id: int, phone: str) -> Leader:
    """The newest leader row (applied, active, suspended, or not) of whoever signs in with this phone."""
    user_id = await user_id_of_phone(ctx, phone)
    async with ctx.db.read() as s:
        leader, _ = await leaders.latest_application(session=s, brand_id=brand_id, user_id=user_id)
        return leader


async def applicant_id(ctx: AppContext, brand_id: int) -> int:
    return (await leader_of(ctx, brand_id, APPLICANT_PHONE)).id


async def second_applicant_id(ctx: AppContext, brand_id: int, community_id: int) -> int:
    """A second application, by a neighbour, for the same community as 赵哥's (nobody holds it yet)."""
    user_id = await user_id_of_phone(ctx, SECOND_APPLICANT_PHONE)
    async with ctx.db.transaction() as s:
        leader = await leaders.apply(
            session=s, brand_id=brand_id, user_id=user_id, community_id=community_id, real_name="孙哥",
            note="我也想当团长", now=ctx.clock.now(),
        )
        await s.flush()
        return leader.id


async def member_id_of(ctx: AppContext, brand_id: int, phone: str) -> int:
    user_id = await user_id_of_phone(ctx, phone)
    async with ctx.db.read() as s:
        member = await members.find_member(session=s, brand_id=brand_id, user_id=user_id)
        assert member is not None
        return member.id


async def leader_row(ctx: AppContext, leader_id: int) -> Leader:
    async with ctx.db.read() as s:
        leader = await s.get(Leader, leader_id)
        assert leader is not None
        return leader


async def status_changes(ctx: AppContext, leader_id: int) -> list[str]:
    async with ctx.db.read() as s:
        rows = await s.scalars(
            select(LeaderStatusChange.to_status).where(LeaderStatusChange.leader_id == leader_id)
            .order_by(LeaderStatusChange.id)
        )
        return list(rows)


async def code_count(ctx: AppContext, leader_id: int) -> int:
    async with ctx.db.read() as s:
        return await s.scalar(select(func.count()).select_from(InviteCode).where(InviteCode.leader_id == leader_id))


async def bound_leader_of(ctx: AppContext, member_id: int) -> int | None:
    async with ctx.db.read() as s:
        binding = await s.scalar(select(Binding).where(Binding.member_id == member_id, Binding.status == "active"))
        return binding.leader_id if binding is not None else None


async def events_of(ctx: AppContext, reason: str) -> int:
    async with ctx.db.read() as s:
        return await s.scalar(select(func.count()).select_from(AttributionEvent).where(AttributionEvent.reason == reason))


__all__ = ["APPLICANT_PHONE", "OPERATOR_LOGIN", "OWNER_LOGIN"]
