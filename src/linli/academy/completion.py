"""When a course is completed: every published lesson of a published course done. Recorded once per leader and
course (a unique key), with its time, and announced as `academy.course_completed` in the same transaction.

Callers hold the lock that serialises a leader's progress (the leader's row) or the course's row, so a
completion is never missed because two lessons were marked at once; the unique key stops a second one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.academy.models import Course, CourseCompletion, Lesson, LessonCompletion
from linli.db import insert_unique
from linli.outbox.service import emit

TOPIC = "academy.course_completed"


async def find_completion(*, session: AsyncSession, leader_id: int, course_id: int) -> CourseCompletion | None:
    return await session.scalar(
        select(CourseCompletion).where(CourseCompletion.leader_id == leader_id, CourseCompletion.course_id == course_id)
    )


async def _record(session: AsyncSession, *, leader_id: int, course: Course, now: datetime) -> CourseCompletion | None:
    row = CourseCompletion(leader_id=leader_id, course_id=course.id, completed_at=now)
    if not await insert_unique(session, row):
        return None
    emit(session, topic=TOPIC, now=now, payload={
        "leader_id": leader_id, "brand_id": course.brand_id, "course_id": course.id, "completed_at": now.isoformat(),
    })
    return row


def _published_lessons(course_id: int) -> Select[tuple[int]]:
    return select(Lesson.id).where(Lesson.course_id == course_id, Lesson.status == "published")


async def record_if_finished(
    *, session: AsyncSession, leader_id: int, course: Course, now: datetime
) -> CourseCompletion | None:
    """The completion this call recorded (None when the course is not finished yet, or was completed before)."""
    if course.status != "published" or await find_completion(session=session, leader_id=leader_id, course_id=course.id):
        return None
    total = await session.scalar(select(func.count()).select_from(_published_lessons(course.id).subquery()))
    done = await session.scalar(
        select(func.count()).where(
            LessonCompletion.leader_id == leader_id,
            LessonCompletion.lesson_id.in_(_published_lessons(course.id)),
        )
    )
    if not total or done != total:
        return None
    return await _record(session, leader_id=leader_id, course=course, now=now)


async def complete_finished(*, session: AsyncSession, course: Course, now: datetime) -> int:
    """After a lesson was unpublished: completes the course for every leader who has now done all of it.
    The caller holds the course's row, so no lesson is published meanwhile."""
    if course.status != "published":
        return 0
    total = await session.scalar(select(func.count()).select_from(_published_lessons(course.id).subquery()))
    if not total:
        return 0
    finished = await session.scalars(
        select(LessonCompletion.leader_id)
        .outerjoin(CourseCompletion, and_(
            CourseCompletion.leader_id == LessonCompletion.leader_id, CourseCompletion.course_id == course.id,
        ))
        .where(LessonCompletion.lesson_id.in_(_published_lessons(course.id)), CourseCompletion.id.is_(None))
        .group_by(LessonCompletion.leader_id)
        .having(func.count() == total)
        .order_by(LessonCompletion.leader_id)
    )
    recorded = 0
    for leader_id in finished.all():
        recorded += await _record(session, leader_id=leader_id, course=course, now=now) is not None
    return recorded
