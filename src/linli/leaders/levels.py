"""The brand's leader programme and a leader's level: levels with their thresholds (bound members), the courses
a level may require (the academy's) and rights; the invite-code grace period. A level is computed when it is
read, never stored: from the leader's bound members now and the academy courses they completed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from linli.errors import InvalidInput
from linli.leaders.models import LeaderProgram

DEFAULT_LEVELS: list[dict[str, Any]] = [
    {"code": "trainee", "name": "见习", "min_bound_members": 0, "rights": ["基础佣金"], "required_course_ids": []},
    {
        "code": "regular", "name": "正式", "min_bound_members": 20, "rights": ["基础佣金", "直播作战包"],
        "required_course_ids": [],
    },
    {
        "code": "gold",
        "name": "金牌",
        "min_bound_members": 100,
        "rights": ["基础佣金", "直播作战包", "新品优先试吃", "专属客服"],
        "required_course_ids": [],
    },
]
MAX_REQUIRED_COURSES = 10
DEFAULT_INVITE_GRACE_HOURS = 72


@dataclass(frozen=True)
class Program:
    levels: list[dict[str, Any]]
    invite_grace_hours: int
    updated_at: datetime | None


def required_courses(level: dict[str, Any]) -> list[int]:
    """The academy courses a level requires (levels saved before courses existed require none)."""
    return list(level.get("required_course_ids") or [])


def _meets(level: dict[str, Any], bound_members: int, completed_course_ids: frozenset[int]) -> bool:
    return bound_members >= level["min_bound_members"] and set(required_courses(level)) <= completed_course_ids


def _ladder(levels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(levels, key=lambda lv: lv["min_bound_members"])


def level_for(
    *, levels: list[dict[str, Any]], bound_members: int, completed_course_ids: frozenset[int] = frozenset()
) -> dict[str, Any]:
    """Climbing from the first level: each next level whose threshold the bound members reach and whose
    required courses are all completed; the first level missed stops the climb (a course required for 正式 is
    a step towards 金牌 too). Without course requirements: the highest threshold reached, as always."""
    ladder = _ladder(levels)
    reached = ladder[0]
    for level in ladder[1:]:
        if not _meets(level, bound_members, completed_course_ids):
            break
        reached = level
    return reached


async def get_program(*, session: AsyncSession, brand_id: int) -> Program:
    row = await session.get(LeaderProgram, brand_id)
    if row is None:
        return Program(levels=DEFAULT_LEVELS, invite_grace_hours=DEFAULT_INVITE_GRACE_HOURS, updated_at=None)
    return Program(levels=row.levels, invite_grace_hours=row.invite_grace_hours, updated_at=row.updated_at)


def _validate_levels(levels: list[dict[str, Any]]) -> None:
    if not levels:
        raise InvalidInput("至少需要一个团长等级", code="levels_invalid")
    codes = [lv["code"] for lv in levels]
    thresholds = [lv["min_bound_members"] for lv in levels]
    if len(set(codes)) != len(codes):
        raise InvalidInput("等级代码不能重复", code="levels_invalid")
    if any(not str(lv["name"]).strip() for lv in levels):
        raise InvalidInput("等级名称不能为空", code="levels_invalid")
    if thresholds[0] != 0 or thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
        raise InvalidInput("等级门槛须从 0 开始严格递增", code="levels_invalid")
    if required_courses(levels[0]):
        raise InvalidInput("第一级是每位团长的起点，不能要求课程", code="levels_invalid")
    for lv in levels:
        wanted = required_courses(lv)
        if len(set(wanted)) != len(wanted) or len(wanted) > MAX_REQUIRED_COURSES:
            raise InvalidInput(f"每级最多要求 {MAX_REQUIRED_COURSES} 门课程，且不能重复", code="levels_invalid")


async def update_program(
    *,
    session: AsyncSession,
    brand_id: int,
    levels: list[dict[str, Any]],
    invite_grace_hours: int,
    actor_user_id: int,
    now: datetime,
) -> Program:
    _validate_levels(levels)
    if not 0 <= invite_grace_hours <= 24 * 90:
        raise InvalidInput("旧邀请码宽限期须在 0 到 2160 小时之间", code="grace_invalid")
    levels = [{**lv, "required_course_ids": required_courses(lv)} for lv in levels]
    wanted = {course_id for lv in levels for course_id in lv["required_course_ids"]}
    if wanted:
        # Imported here: the academy builds on leaders (its mentors and progress are leaders'), so leaders must
        # not import it at module load.
        from linli.academy import service as academy

        await academy.check_required_courses(session=session, brand_id=brand_id, course_ids=wanted)
    row = await session.get(LeaderProgram, brand_id, with_for_update=True)
    if row is None:
        row = LeaderProgram(brand_id=brand_id, levels=levels, invite_grace_hours=invite_grace_hours, updated_at=now)
        session.add(row)
    row.levels = levels
    row.invite_grace_hours = invite_grace_hours
    row.updated_at = now
    row.updated_by_user_id = actor_user_id
    await session.flush()
    return Program(levels=levels, invite_grace_hours=invite_grace_hours, updated_at=now)


@dataclass(frozen=True)
class LevelProgress:
    bound_members: int
    level: dict[str, Any]
    next_level: dict[str, Any] | None
    completed_course_ids: frozenset[int] = frozenset()

    @property
    def members_to_next_level(self) -> int | None:
        if self.next_level is None:
            return None
        return max(0, self.next_level["min_bound_members"] - self.bound_members)

    @property
    def courses_to_next_level(self) -> list[int]:
        """The next level's required courses not completed yet, in the level's order."""
        if self.next_level is None:
            return []
        return [c for c in required_courses(self.next_level) if c not in self.completed_course_ids]


def level_progress(
    *, levels: list[dict[str, Any]], bound_members: int, completed_course_ids: frozenset[int] = frozenset()
) -> LevelProgress:
    """The level reached, the next one up (if any) and what it still takes: bound members and courses."""
    level = level_for(levels=levels, bound_members=bound_members, completed_course_ids=completed_course_ids)
    ladder = _ladder(levels)
    at = next(i for i, lv in enumerate(ladder) if lv is level)
    return LevelProgress(
        bound_members=bound_members,
        level=level,
        next_level=ladder[at + 1] if at + 1 < len(ladder) else None,
        completed_course_ids=completed_course_ids,
    )


async def completed_courses(
    *, session: AsyncSession, levels: list[dict[str, Any]], leader_ids: set[int]
) -> dict[int, frozenset[int]]:
    """The academy courses each leader completed, read only when some level requires courses."""
    if not any(required_courses(lv) for lv in levels):
        return {}
    from linli.academy import service as academy  # the academy builds on leaders (see update_program)

    return await academy.completed_course_ids(session=session, leader_ids=leader_ids)
