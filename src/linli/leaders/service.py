"""Leaders: applications, approval, statuses, the views of a leader (with their level) and invite codes.

The brand's programme and how a level is reached are in `levels.py`; other contexts read them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.brands.models import Brand, Community
from linli.db import id_chunks, insert_unique
from linli.errors import Conflict, Forbidden, InvalidInput, NotFound
from linli.leaders import invite_codes
from linli.leaders.levels import (  # noqa: F401 - the programme and levels, as other contexts read them
    DEFAULT_INVITE_GRACE_HOURS,
    DEFAULT_LEVELS,
    LevelProgress,
    Program,
    completed_courses,
    get_program,
    level_for,
    level_progress,
    required_courses,
    update_program,
)
from linli.leaders.models import (
    HOLDING_STATUSES,
    OPEN_STATUSES,
    InviteCode,
    Leader,
    LeaderStatusChange,
)
from linli.members import service as members
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page

LEADER_STATUSES = ("applied", "rejected", "active", "suspended", "exited")


def badge_text(*, community_name: str, brand_name: str) -> str:
    return f"{community_name}·{brand_name}社区主理人"


async def get_leader(*, session: AsyncSession, brand_id: int, leader_id: int, for_update: bool = False) -> Leader:
    # populate_existing: a row locked after waiting for another transaction must show that one's writes.
    leader = await session.get(Leader, leader_id, with_for_update=for_update, populate_existing=for_update)
    if leader is None or leader.brand_id != brand_id:
        raise NotFound("团长不存在", code="leader_not_found")
    return leader


async def leaders_by_ids(*, session: AsyncSession, leader_ids: set[int]) -> dict[int, Leader]:
    if not leader_ids:
        return {}
    found: dict[int, Leader] = {}
    for chunk in id_chunks(leader_ids):
        found.update((leader.id, leader) for leader in await session.scalars(select(Leader).where(Leader.id.in_(chunk))))
    return found


async def find_open_leader_for_user(*, session: AsyncSession, brand_id: int, user_id: int) -> Leader | None:
    member = await members.find_member(session=session, brand_id=brand_id, user_id=user_id)
    if member is None:
        return None
    return await session.scalar(
        select(Leader).where(Leader.member_id == member.id, Leader.status.in_(OPEN_STATUSES))
    )


async def require_active_leader(*, session: AsyncSession, brand_id: int, user_id: int) -> Leader:
    await brands.get_brand(session=session, brand_id=brand_id)
    leader = await find_open_leader_for_user(session=session, brand_id=brand_id, user_id=user_id)
    if leader is None or leader.status != "active":
        raise Forbidden("仅限本品牌在任团长操作", code="leader_only")
    return leader


async def holder_of_community(*, session: AsyncSession, community_id: int) -> Leader | None:
    return await session.scalar(
        select(Leader).where(Leader.community_id == community_id, Leader.status.in_(HOLDING_STATUSES))
    )


def _record(session: AsyncSession, leader: Leader, *, to: str, reason: str | None, actor: int | None, now: datetime) -> None:
    session.add(
        LeaderStatusChange(
            leader_id=leader.id,
            from_status=None if to == "applied" else leader.status,
            to_status=to,
            reason=reason,
            actor_user_id=actor,
            changed_at=now,
        )
    )


async def apply(
    *, session: AsyncSession, brand_id: int, user_id: int, community_id: int, real_name: str, note: str, now: datetime
) -> Leader:
    await brands.get_brand(session=session, brand_id=brand_id)
    await brands.get_community(session=session, brand_id=brand_id, community_id=community_id)
    real_name = real_name.strip()
    if not real_name:
        raise InvalidInput("请填写真实姓名", code="real_name_required")
    member, _ = await members.get_or_create_member(session=session, brand_id=brand_id, user_id=user_id, now=now)
    if await holder_of_community(session=session, community_id=community_id) is not None:
        raise Conflict("该小区已有团长", code="community_has_leader")
    leader = Leader(
        brand_id=brand_id,
        member_id=member.id,
        community_id=community_id,
        status="applied",
        real_name=real_name,
        application_note=note.strip(),
        applied_at=now,
    )
    if not await insert_unique(session, leader):
        raise Conflict("您已提交过团长申请或已是团长", code="leader_application_exists")
    _record(session, leader, to="applied", reason=None, actor=user_id, now=now)
    return leader


async def _move(
    *,
    session: AsyncSession,
    brand_id: int,
    leader_id: int,
    allowed_from: tuple[str, ...],
    to: str,
    reason: str | None,
    actor_user_id: int,
    now: datetime,
) -> Leader:
    leader = await get_leader(session=session, brand_id=brand_id, leader_id=leader_id, for_update=True)
    if leader.status not in allowed_from:
        raise Conflict(
            f"团长当前状态为 {leader.status}，不能变更为 {to}",
            code="leader_status_invalid",
            details={"status": leader.status},
        )
    _record(session, leader, to=to, reason=reason, actor=actor_user_id, now=now)
    leader.status = to
    return leader


LEADER_SHARE_CHANGED = "leader.share_changed"


def share_changed(session: AsyncSession, leader: Leader, *, now: datetime) -> None:
    """What the leader's public material shows (status, invite code) changed: campaign kits follow (marketing)."""
    emit(session, topic=LEADER_SHARE_CHANGED, payload={"leader_id": leader.id, "brand_id": leader.brand_id}, now=now)


def _require_reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise InvalidInput("请填写原因", code="reason_required")
    return reason.strip()


async def approve(*, session: AsyncSession, brand_id: int, leader_id: int, actor_user_id: int, now: datetime) -> Leader:
    # Lock first, so that a concurrent second approval of the same application sees "active" and stops.
    leader = await get_leader(session=session, brand_id=brand_id, leader_id=leader_id, for_update=True)
    if leader.status == "applied":
        holder = await holder_of_community(session=session, community_id=leader.community_id)
        if holder is not None:
            raise Conflict("该小区已有团长", code="community_has_leader")
    leader = await _move(
        session=session,
        brand_id=brand_id,
        leader_id=leader_id,
        allowed_from=("applied",),
        to="active",
        reason=None,
        actor_user_id=actor_user_id,
        now=now,
    )
    leader.activated_at = now
    await session.flush()  # the partial unique index refuses a second holder that raced past the check
    await invite_codes.issue_code(session=session, leader_id=leader.id, now=now)
    # Only an approval, never a reinstatement, is a new leader (the dashboards' growth figures).
    emit(session, topic="leader.approved", payload={
        "leader_id": leader.id, "brand_id": leader.brand_id, "approved_at": now.isoformat()}, now=now)
    return leader


async def reject(
    *, session: AsyncSession, brand_id: int, leader_id: int, reason: str | None, actor_user_id: int, now: datetime
) -> Leader:
    reason = _require_reason(reason)
    leader = await _move(
        session=session, brand_id=brand_id, leader_id=leader_id, allowed_from=("applied",),
        to="rejected", reason=reason, actor_user_id=actor_user_id, now=now,
    )
    leader.decision_reason = reason
    return leader


async def suspend(
    *, session: AsyncSession, brand_id: int, leader_id: int, reason: str | None, actor_user_id: int, now: datetime
) -> Leader:
    reason = _require_reason(reason)
    leader = await _move(
        session=session, brand_id=brand_id, leader_id=leader_id, allowed_from=("active",),
        to="suspended", reason=reason, actor_user_id=actor_user_id, now=now,
    )
    leader.decision_reason = reason
    share_changed(session, leader, now=now)
    return leader


async def reinstate(*, session: AsyncSession, brand_id: int, leader_id: int, actor_user_id: int, now: datetime) -> Leader:
    leader = await _move(
        session=session, brand_id=brand_id, leader_id=leader_id, allowed_from=("suspended",),
        to="active", reason=None, actor_user_id=actor_user_id, now=now,
    )
    share_changed(session, leader, now=now)
    return leader


async def exit_leader(
    *, session: AsyncSession, brand_id: int, leader_id: int, reason: str | None, actor_user_id: int, now: datetime
) -> Leader:
    """The leader leaves: codes stop at once; their members stay bound until the brand transfers them."""
    reason = _require_reason(reason)
    leader = await _move(
        session=session, brand_id=brand_id, leader_id=leader_id, allowed_from=("active", "suspended"),
        to="exited", reason=reason, actor_user_id=actor_user_id, now=now,
    )
    leader.exited_at = now
    leader.decision_reason = reason
    await invite_codes.revoke_all(session=session, leader_id=leader.id, now=now)
    share_changed(session, leader, now=now)
    return leader


async def status_history(*, session: AsyncSession, leader_id: int) -> list[LeaderStatusChange]:
    rows = await session.scalars(
        select(LeaderStatusChange).where(LeaderStatusChange.leader_id == leader_id).order_by(LeaderStatusChange.id)
    )
    return list(rows)


async def list_leaders(
    *, session: AsyncSession, brand_id: int, status: str | None, params: PageParams
) -> tuple[list[Leader], int]:
    if status is not None and status not in LEADER_STATUSES:
        raise InvalidInput("团长状态无效", code="leader_status_filter_invalid")
    query = select(Leader).where(Leader.brand_id == brand_id).order_by(Leader.id)
    if status is not None:
        query = query.where(Leader.status == status)
    return await fetch_page(session, query, params)


# --- Views for the API: a leader with their community, phone and level; a leader's own profile. ---


async def bound_member_counts(*, session: AsyncSession, leader_ids: set[int], now: datetime) -> dict[int, int]:
    # Imported here: attribution builds on leaders, so leaders must not import it at module load.
    from linli.attribution import service as attribution

    return await attribution.count_active_bindings(session=session, leader_ids=leader_ids, now=now)


@dataclass(frozen=True)
class LeaderView:
    leader: Leader
    community: Community
    phone: str | None
    progress: LevelProgress


async def describe_leaders(
    *, session: AsyncSession, brand_id: int, leaders: list[Leader], now: datetime
) -> list[LeaderView]:
    """Each leader with their community, the phone they log in with and their level, in a few queries."""
    if not leaders:
        return []
    program = await get_program(session=session, brand_id=brand_id)
    communities = await brands.communities_by_ids(session=session, community_ids={x.community_id for x in leaders})
    member_rows = await members.members_by_ids(session=session, member_ids={x.member_id for x in leaders})
    users = await accounts.users_by_ids(session=session, user_ids={m.user_id for m in member_rows.values()})
    counts = await bound_member_counts(session=session, leader_ids={x.id for x in leaders}, now=now)
    courses = await completed_courses(session=session, levels=program.levels, leader_ids={x.id for x in leaders})
    views = []
    for leader in leaders:
        member = member_rows.get(leader.member_id)
        user = users.get(member.user_id) if member is not None else None
        views.append(
            LeaderView(
                leader=leader,
                community=communities[leader.community_id],
                phone=user.phone if user is not None else None,
                progress=level_progress(
                    levels=program.levels, bound_members=counts.get(leader.id, 0),
                    completed_course_ids=courses.get(leader.id, frozenset()),
                ),
            )
        )
    return views


@dataclass(frozen=True)
class LeaderDetail:
    view: LeaderView
    badge: str | None
    history: list[LeaderStatusChange]
    current_code: InviteCode | None


async def leader_detail(*, session: AsyncSession, brand_id: int, leader_id: int, now: datetime) -> LeaderDetail:
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    leader = await get_leader(session=session, brand_id=brand_id, leader_id=leader_id)
    [view] = await describe_leaders(session=session, brand_id=brand_id, leaders=[leader], now=now)
    return LeaderDetail(
        view=view,
        badge=_badge_of(leader, view.community, brand),
        history=await status_history(session=session, leader_id=leader.id),
        current_code=await invite_codes.current_code(session=session, leader_id=leader.id),
    )


def _badge_of(leader: Leader, community: Community, brand: Brand) -> str | None:
    """Only an active leader wears the badge."""
    if leader.status != "active":
        return None
    return badge_text(community_name=community.name, brand_name=brand.name)


async def latest_application(
    *, session: AsyncSession, brand_id: int, user_id: int
) -> tuple[Leader, Community]:
    """The caller's most recent application in this brand (whatever became of it), with its community."""
    await brands.get_brand(session=session, brand_id=brand_id)
    member = await members.find_member(session=session, brand_id=brand_id, user_id=user_id)
    leader = None
    if member is not None:
        leader = await session.scalar(
            select(Leader).where(Leader.member_id == member.id).order_by(Leader.id.desc()).limit(1)
        )
    if leader is None:
        raise NotFound("您还没有提交过团长申请", code="leader_application_not_found")
    community = await brands.get_community(session=session, brand_id=brand_id, community_id=leader.community_id)
    return leader, community


async def require_leader_self(*, session: AsyncSession, brand_id: int, user_id: int) -> Leader:
    """The caller's own leadership in this brand, active or suspended; anyone else is refused (403)."""
    await brands.get_brand(session=session, brand_id=brand_id)
    leader = await find_open_leader_for_user(session=session, brand_id=brand_id, user_id=user_id)
    if leader is None or leader.status not in HOLDING_STATUSES:
        raise Forbidden("仅限本品牌团长本人操作", code="leader_only")
    return leader


@dataclass(frozen=True)
class LeaderProfile:
    view: LeaderView
    brand: Brand
    badge: str | None
    current_code: InviteCode | None
    codes_in_grace: list[InviteCode]


async def leader_profile(*, session: AsyncSession, brand_id: int, user_id: int, now: datetime) -> LeaderProfile:
    leader = await require_leader_self(session=session, brand_id=brand_id, user_id=user_id)
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    [view] = await describe_leaders(session=session, brand_id=brand_id, leaders=[leader], now=now)
    codes = await invite_codes.codes_of(session=session, leader_id=leader.id)
    return LeaderProfile(
        view=view,
        brand=brand,
        badge=_badge_of(leader, view.community, brand),
        current_code=next((c for c in codes if c.status == "active"), None),
        codes_in_grace=[c for c in codes if c.status == "rotated" and c.grace_until is not None and c.grace_until > now],
    )


async def current_invite_code(*, session: AsyncSession, leader_id: int) -> InviteCode:
    code = await invite_codes.current_code(session=session, leader_id=leader_id)
    if code is None:
        raise NotFound("当前没有邀请码，请先生成新邀请码", code="invite_code_missing")
    return code


async def rotate_invite_code(
    *, session: AsyncSession, brand_id: int, leader_id: int, now: datetime
) -> tuple[InviteCode, InviteCode | None]:
    """A new current code; the previous one keeps working for the programme's grace hours.

    After a revocation there is no current code and this simply issues a new one.
    """
    leader = await get_leader(session=session, brand_id=brand_id, leader_id=leader_id, for_update=True)
    if leader.status != "active":
        raise Conflict("仅在任团长可以更换邀请码", code="leader_status_invalid", details={"status": leader.status})
    program = await get_program(session=session, brand_id=brand_id)
    previous = await invite_codes.current_code(session=session, leader_id=leader.id)
    new = await invite_codes.rotate(
        session=session, leader_id=leader.id, grace_hours=program.invite_grace_hours, now=now
    )
    share_changed(session, leader, now=now)
    return new, previous


async def revoke_invite_codes(*, session: AsyncSession, brand_id: int, leader_id: int, now: datetime) -> int:
    """Stops the leader's current code and any old code still in its grace period, at once."""
    leader = await get_leader(session=session, brand_id=brand_id, leader_id=leader_id, for_update=True)
    share_changed(session, leader, now=now)
    return await invite_codes.revoke_all(session=session, leader_id=leader.id, now=now)


@dataclass(frozen=True)
class InviteResolution:
    invite: InviteCode
    leader: Leader
    brand: Brand
    community: Community

    @property
    def badge(self) -> str:
        return badge_text(community_name=self.community.name, brand_name=self.brand.name)


async def resolve_invite(*, session: AsyncSession, raw_code: str, now: datetime) -> InviteResolution:
    """Who is behind a code that works now: 422 malformed, 404 unknown, 410 revoked/expired/inactive."""
    resolved = await invite_codes.resolve(session=session, raw_code=raw_code, now=now)
    brand = await brands.get_brand(session=session, brand_id=resolved.leader.brand_id)
    community = await brands.get_community(
        session=session, brand_id=brand.id, community_id=resolved.leader.community_id
    )
    return InviteResolution(invite=resolved.invite, leader=resolved.leader, brand=brand, community=community)
