"""What other contexts read of the academy: the courses each leader has completed (the leaders' levels count
them) and whether course ids may be a level's requirement.

The academy's own rules are in `courses.py` (authoring), `progress.py` and `completion.py` (a leader's
progress), `mentors.py` (mentoring), `levels.py` (a completion's effect on the level).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.academy.models import Course, CourseCompletion
from linli.db import id_chunks
from linli.errors import InvalidInput


async def completed_course_ids(*, session: AsyncSession, leader_ids: set[int]) -> dict[int, frozenset[int]]:
    """Per leader, the ids of the courses they completed (withdrawn courses included: a completion stays)."""
    found: dict[int, set[int]] = {leader_id: set() for leader_id in leader_ids}
    for chunk in id_chunks(leader_ids):
        rows = await session.execute(
            select(CourseCompletion.leader_id, CourseCompletion.course_id).where(CourseCompletion.leader_id.in_(chunk))
        )
        for leader_id, course_id in rows.all():
            found[leader_id].add(course_id)
    return {leader_id: frozenset(ids) for leader_id, ids in found.items()}


async def course_titles(*, session: AsyncSession, brand_id: int, course_ids: set[int]) -> dict[int, str]:
    if not course_ids:
        return {}
    rows = await session.execute(
        select(Course.id, Course.title).where(Course.brand_id == brand_id, Course.id.in_(course_ids))
    )
    return dict(rows.all())


async def check_required_courses(*, session: AsyncSession, brand_id: int, course_ids: set[int]) -> None:
    """A level may require only this brand's published courses (so that a leader can take them)."""
    if not course_ids:
        return
    published = set(
        await session.scalars(
            select(Course.id).where(Course.brand_id == brand_id, Course.id.in_(course_ids), Course.status == "published")
        )
    )
    missing = sorted(course_ids - published)
    if missing:
        raise InvalidInput(
            f"等级要求的课程须为本品牌已发布的课程（课程 {', '.join(map(str, missing))} 不是）",
            code="levels_course_invalid", details={"course_ids": missing},
        )
