"""Mentoring: an experienced leader of the same brand guides a newer one.

The rules (docs/academy.md):
- a mentor is an **active** leader of the mentee's brand, not the mentee, leading for at least the brand's
  `mentor_min_days` (default 30), not the mentee's own mentee, and with fewer than `mentor_capacity` (default 5)
  current mentees (a mentee counts while active or suspended);
- a mentee has at most one current mentor (a partial unique index); assigning another ends the first;
- with the brand's `auto_assign_mentor` on, a newly approved leader (`leader.approved`) gets the best eligible
  leader approved before them: the highest level, then the most bound members, then the longest in office.
  A community has one leader and no coordinates, so "the same community" or "the nearest" is not a choice.

Both leaders' rows are locked in id order before the checks, so two assignments to the last free place of a
mentor, or of one mentee, cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from linli.academy.models import AcademySettings, MentorContact, Mentorship
from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.db import insert_unique
from linli.errors import Conflict, DomainError, InvalidInput
from linli.leaders import service as leaders
from linli.leaders.models import HOLDING_STATUSES, Leader
from linli.members import service as members
from linli.outbox.service import emit
from linli.security import mask_name

DEFAULT_CAPACITY = 5
DEFAULT_MIN_DAYS = 30
MAX_CAPACITY = 50
MAX_MIN_DAYS = 365
MAX_CONTACT = 64
ASSIGNED_TOPIC = "academy.mentor_assigned"


@dataclass(frozen=True)
class MentorRules:
    auto_assign_mentor: bool
    mentor_capacity: int
    mentor_min_days: int
    updated_at: datetime | None


async def get_rules(*, session: AsyncSession, brand_id: int) -> MentorRules:
    row = await session.get(AcademySettings, brand_id)
    if row is None:  # off until the brand turns it on
        return MentorRules(False, DEFAULT_CAPACITY, DEFAULT_MIN_DAYS, None)
    return MentorRules(row.auto_assign_mentor, row.mentor_capacity, row.mentor_min_days, row.updated_at)


async def update_rules(
    *, session: AsyncSession, brand_id: int, auto_assign_mentor: bool, mentor_capacity: int, mentor_min_days: int,
    actor_user_id: int, now: datetime,
) -> MentorRules:
    if not 1 <= mentor_capacity <= MAX_CAPACITY:
        raise InvalidInput(f"每位导师最多带的学员数须在 1 到 {MAX_CAPACITY} 之间", code="mentor_capacity_invalid")
    if not 0 <= mentor_min_days <= MAX_MIN_DAYS:
        raise InvalidInput(f"导师须任团长的天数须在 0 到 {MAX_MIN_DAYS} 之间", code="mentor_min_days_invalid")
    row = await session.get(AcademySettings, brand_id, with_for_update=True)
    if row is None:
        row = AcademySettings(brand_id=brand_id)
        session.add(row)
    row.auto_assign_mentor = auto_assign_mentor
    row.mentor_capacity = mentor_capacity
    row.mentor_min_days = mentor_min_days
    row.updated_at = now
    row.updated_by_user_id = actor_user_id
    await session.flush()
    return MentorRules(auto_assign_mentor, mentor_capacity, mentor_min_days, now)


async def current_mentorship(*, session: AsyncSession, mentee_leader_id: int) -> Mentorship | None:
    return await session.scalar(
        select(Mentorship).where(Mentorship.mentee_leader_id == mentee_leader_id, Mentorship.ended_at.is_(None))
    )


def _mentee_count(mentor_id: int | ColumnElement[int]) -> ScalarSelect[int]:
    """A mentor's current mentees (active or suspended), correlated to a query of leaders when given a column."""
    mentee = aliased(Leader)
    return (
        select(func.count())
        .select_from(Mentorship)
        .join(mentee, mentee.id == Mentorship.mentee_leader_id)
        .where(
            Mentorship.mentor_leader_id == mentor_id, Mentorship.ended_at.is_(None),
            mentee.status.in_(HOLDING_STATUSES),
        )
        .scalar_subquery()
    )


async def mentee_count(*, session: AsyncSession, mentor_leader_id: int) -> int:
    return int(await session.scalar(select(_mentee_count(mentor_leader_id))) or 0)


def _check_mentor(mentor: Leader, *, rules: MentorRules, now: datetime) -> None:
    if mentor.status != "active":
        raise Conflict("导师须为在任团长（已暂停或已退出的团长不能带学员）", code="mentor_not_active")
    if mentor.activated_at is None or mentor.activated_at > now - timedelta(days=rules.mentor_min_days):
        raise Conflict(f"导师须担任团长满 {rules.mentor_min_days} 天", code="mentor_inexperienced")


async def _lock_pair(session: AsyncSession, brand_id: int, mentee_id: int, mentor_id: int) -> tuple[Leader, Leader]:
    """Both rows locked, lower id first (a stable order: two assignments never wait on each other in a circle)."""
    locked = {}
    for leader_id in sorted({mentee_id, mentor_id}):
        locked[leader_id] = await leaders.get_leader(session=session, brand_id=brand_id, leader_id=leader_id, for_update=True)
    return locked[mentee_id], locked[mentor_id]


async def assign_mentor(
    *, session: AsyncSession, brand_id: int, mentee_leader_id: int, mentor_leader_id: int, actor_user_id: int | None,
    now: datetime, how: str = "staff", keep_current: bool = False,
) -> Mentorship:
    """Makes `mentor_leader_id` the mentee's mentor (ending a current other one, unless `keep_current`, when the
    current one is returned unchanged). Assigning the current mentor again changes nothing."""
    if mentee_leader_id == mentor_leader_id:
        raise InvalidInput("不能指定团长本人做自己的导师", code="mentor_self")
    mentee, mentor = await _lock_pair(session, brand_id, mentee_leader_id, mentor_leader_id)
    if mentee.status != "active":
        raise Conflict("只能为在任团长安排导师", code="mentee_not_active")
    current = await current_mentorship(session=session, mentee_leader_id=mentee.id)
    if current is not None and (current.mentor_leader_id == mentor.id or keep_current):
        return current
    rules = await get_rules(session=session, brand_id=brand_id)
    _check_mentor(mentor, rules=rules, now=now)
    mentors_own = await current_mentorship(session=session, mentee_leader_id=mentor.id)
    if mentors_own is not None and mentors_own.mentor_leader_id == mentee.id:
        raise Conflict("该团长是这位团长的学员，不能反过来做其导师", code="mentor_is_mentee")
    count = await mentee_count(session=session, mentor_leader_id=mentor.id)
    if count >= rules.mentor_capacity:
        raise Conflict(f"该导师已带 {count} 位学员，达到上限 {rules.mentor_capacity} 位", code="mentor_full")
    if current is not None:
        current.ended_at = now
        current.ended_by_user_id = actor_user_id
        await session.flush()  # the partial unique index sees the old one ended before the new one arrives
    row = Mentorship(
        brand_id=brand_id, mentee_leader_id=mentee.id, mentor_leader_id=mentor.id, how=how,
        assigned_by_user_id=actor_user_id, assigned_at=now,
    )
    if not await insert_unique(session, row):
        raise Conflict("这位团长的导师刚刚被安排过，请刷新后再试", code="concurrent_conflict")
    emit(session, topic=ASSIGNED_TOPIC, now=now, payload={
        "mentorship_id": row.id, "brand_id": brand_id, "mentee_leader_id": mentee.id, "mentor_leader_id": mentor.id,
    })
    return row


async def end_mentorship(
    *, session: AsyncSession, brand_id: int, mentee_leader_id: int, actor_user_id: int, now: datetime
) -> Mentorship | None:
    """Ends the mentee's current mentorship; without one nothing changes (a double submit ends it once)."""
    mentee = await leaders.get_leader(session=session, brand_id=brand_id, leader_id=mentee_leader_id, for_update=True)
    current = await current_mentorship(session=session, mentee_leader_id=mentee.id)
    if current is None:
        return None
    current.ended_at = now
    current.ended_by_user_id = actor_user_id
    return current


async def eligible_mentors(
    *, session: AsyncSession, brand_id: int, mentee: Leader, rules: MentorRules, now: datetime,
    approved_before: datetime | None = None,
) -> list[Leader]:
    """The brand's leaders who may mentor `mentee` now (`approved_before`: only those approved earlier)."""
    own_mentees = select(Mentorship.mentee_leader_id).where(
        Mentorship.mentor_leader_id == mentee.id, Mentorship.ended_at.is_(None)
    )
    query = select(Leader).where(
        Leader.brand_id == brand_id, Leader.status == "active", Leader.id != mentee.id,
        Leader.activated_at <= now - timedelta(days=rules.mentor_min_days),
        Leader.id.not_in(own_mentees), _mentee_count(Leader.id) < rules.mentor_capacity,
    ).order_by(Leader.id)
    if approved_before is not None:
        query = query.where(Leader.activated_at < approved_before)
    return list(await session.scalars(query))


async def rank_mentors(*, session: AsyncSession, brand_id: int, candidates: list[Leader], now: datetime) -> list[Leader]:
    """Best first: the highest level, then the most bound members, then the longest in office, then the id."""
    program = await leaders.get_program(session=session, brand_id=brand_id)
    rank = {lv["code"]: i for i, lv in enumerate(sorted(program.levels, key=lambda lv: lv["min_bound_members"]))}
    views = await leaders.describe_leaders(session=session, brand_id=brand_id, leaders=candidates, now=now)
    views.sort(key=lambda v: (
        -rank[v.progress.level["code"]], -v.progress.bound_members, v.leader.activated_at, v.leader.id,
    ))
    return [v.leader for v in views]


async def auto_assign(*, session: AsyncSession, brand_id: int, mentee_leader_id: int, now: datetime) -> Mentorship | None:
    """On approval, when the brand turned it on: the best eligible mentor approved before the newcomer. None when
    it is off, the leader is no longer active or already has a mentor, or nobody is eligible (staff can assign
    one later). Safe to run twice: a mentee with a mentor keeps them."""
    rules = await get_rules(session=session, brand_id=brand_id)
    if not rules.auto_assign_mentor:
        return None
    mentee = await leaders.get_leader(session=session, brand_id=brand_id, leader_id=mentee_leader_id)
    if mentee.status != "active" or mentee.activated_at is None:
        return None
    if await current_mentorship(session=session, mentee_leader_id=mentee.id) is not None:
        return None
    candidates = await eligible_mentors(
        session=session, brand_id=brand_id, mentee=mentee, rules=rules, now=now, approved_before=mentee.activated_at
    )
    for mentor in await rank_mentors(session=session, brand_id=brand_id, candidates=candidates, now=now):
        try:
            return await assign_mentor(
                session=session, brand_id=brand_id, mentee_leader_id=mentee.id, mentor_leader_id=mentor.id,
                actor_user_id=None, now=now, how="auto", keep_current=True,
            )
        except DomainError:  # filled or moved on since it was read (the checks raise before writing anything)
            continue
    return None


# --- What the people involved see ------------------------------------------------------------------


async def display_names(*, session: AsyncSession, leader_list: list[Leader]) -> dict[int, str]:
    """As the live room and the poster name a leader: the nickname, else the masked real name."""
    member_rows = await members.members_by_ids(session=session, member_ids={x.member_id for x in leader_list})
    users = await accounts.users_by_ids(session=session, user_ids={m.user_id for m in member_rows.values()})
    names = {}
    for leader in leader_list:
        member = member_rows.get(leader.member_id)
        user = users.get(member.user_id) if member is not None else None
        names[leader.id] = (user.display_name if user is not None else "") or mask_name(leader.real_name)
    return names


async def user_id_of_leader(*, session: AsyncSession, leader: Leader) -> int:
    member = await members.get_member(session=session, brand_id=leader.brand_id, member_id=leader.member_id)
    return member.user_id


@dataclass(frozen=True)
class MentorCard:
    """What a mentee sees of their mentor: a name, a community and what the mentor chose to publish."""

    mentorship: Mentorship
    mentor: Leader
    display_name: str
    community_name: str
    contact: str | None  # None while the mentor is not active, or published nothing

    @property
    def available(self) -> bool:
        return self.mentor.status == "active"


async def mentor_card(*, session: AsyncSession, brand_id: int, mentee_leader_id: int) -> MentorCard | None:
    current = await current_mentorship(session=session, mentee_leader_id=mentee_leader_id)
    if current is None:
        return None
    mentor = await leaders.get_leader(session=session, brand_id=brand_id, leader_id=current.mentor_leader_id)
    community = await brands.get_community(session=session, brand_id=brand_id, community_id=mentor.community_id)
    contact = await session.get(MentorContact, mentor.id)
    names = await display_names(session=session, leader_list=[mentor])
    return MentorCard(
        mentorship=current, mentor=mentor, display_name=names[mentor.id], community_name=community.name,
        contact=contact.contact if contact is not None and mentor.status == "active" else None,
    )


async def get_contact(*, session: AsyncSession, leader_id: int) -> str:
    row = await session.get(MentorContact, leader_id)
    return row.contact if row is not None else ""


async def set_contact(*, session: AsyncSession, leader_id: int, contact: str, now: datetime) -> str:
    """What the mentor shows their mentees (微信号, a phone…); empty takes it down."""
    contact = contact.strip()
    if len(contact) > MAX_CONTACT or any(ord(ch) < 32 for ch in contact):
        raise InvalidInput(f"联系方式最多 {MAX_CONTACT} 个字，不能换行", code="mentor_contact_invalid")
    row = await session.get(MentorContact, leader_id, with_for_update=True)
    if not contact:
        if row is not None:
            await session.delete(row)
        return ""
    if row is None:
        session.add(MentorContact(leader_id=leader_id, contact=contact, updated_at=now))
    else:
        row.contact = contact
        row.updated_at = now
    await session.flush()
    return contact


@dataclass(frozen=True)
class MenteeRow:
    mentorship: Mentorship
    mentee: Leader
    display_name: str
    community_name: str


async def mentees_of(*, session: AsyncSession, brand_id: int, mentor_leader_id: int) -> list[MenteeRow]:
    """The mentor's current mentees (active or suspended), longest first. Only this mentor's."""
    rows = (await session.execute(
        select(Mentorship, Leader)
        .join(Leader, Leader.id == Mentorship.mentee_leader_id)
        .where(
            Mentorship.brand_id == brand_id, Mentorship.mentor_leader_id == mentor_leader_id,
            Mentorship.ended_at.is_(None), Leader.status.in_(HOLDING_STATUSES),
        )
        .order_by(Mentorship.assigned_at, Mentorship.id)
    )).all()
    mentees = [leader for _, leader in rows]
    names = await display_names(session=session, leader_list=mentees)
    communities = await brands.communities_by_ids(session=session, community_ids={x.community_id for x in mentees})
    return [
        MenteeRow(mentorship=m, mentee=leader, display_name=names[leader.id],
                  community_name=communities[leader.community_id].name)
        for m, leader in rows
    ]


async def brand_mentorships(*, session: AsyncSession, brand_id: int) -> list[Mentorship]:
    """The brand's current mentorships (staff), by mentor then mentee."""
    rows = await session.scalars(
        select(Mentorship).where(Mentorship.brand_id == brand_id, Mentorship.ended_at.is_(None))
        .order_by(Mentorship.mentor_leader_id, Mentorship.assigned_at, Mentorship.id)
    )
    return list(rows)
