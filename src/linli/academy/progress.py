"""A leader's progress: marking a lesson done, and what each leader has done of each course.

Lessons may be done in any order (the pages suggest the next one, nothing enforces it): a leader who already
knows how to post a live preview is not made to wait. Marking a lesson done is idempotent: the first time is
recorded, a repeat (a double submit) returns that first record. Progress counts the published lessons of a
published course; the course is completed when every one of them is done (`completion`), once.

A leader's progress is serialised on their own row (`SELECT … FOR UPDATE`; SQLite writers queue anyway), so two
lessons marked at the same moment see each other and the course's completion is neither missed nor doubled; the
course's row is share-locked, so staff changing its lessons wait (and are waited for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.academy import completion, courses
from linli.academy.models import Course, CourseCompletion, Lesson, LessonCompletion
from linli.db import id_chunks, insert_unique
from linli.errors import Forbidden, NotFound
from linli.leaders import service as leaders


@dataclass(frozen=True)
class CourseProgress:
    """One course as a leader sees it: its published lessons in order, which are done, and its completion."""

    course: Course
    lessons: list[Lesson]
    done_at: dict[int, datetime] = field(default_factory=dict)  # lesson id → when it was marked done
    completion: CourseCompletion | None = None

    @property
    def total(self) -> int:
        return len(self.lessons)

    @property
    def done(self) -> int:
        return sum(1 for lesson in self.lessons if lesson.id in self.done_at)

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0

    @property
    def completed(self) -> bool:
        return self.completion is not None

    @property
    def minutes(self) -> int:
        return sum(lesson.minutes for lesson in self.lessons)

    @property
    def next_lesson(self) -> Lesson | None:
        """The first lesson in the course's order not done yet."""
        return next((lesson for lesson in self.lessons if lesson.id not in self.done_at), None)

    def after(self, lesson_id: int) -> Lesson | None:
        ids = [lesson.id for lesson in self.lessons]
        at = ids.index(lesson_id) if lesson_id in ids else -1
        return self.lessons[at + 1] if 0 <= at < len(ids) - 1 else None


async def progress_of(
    *, session: AsyncSession, leader_ids: set[int], course_list: list[Course]
) -> dict[int, list[CourseProgress]]:
    """Per leader, each course of `course_list` (in that order) with what the leader has done of it."""
    lessons = await courses.lessons_of(session=session, course_ids={c.id for c in course_list}, published_only=True)
    done: dict[tuple[int, int], datetime] = {}
    completions: dict[tuple[int, int], CourseCompletion] = {}
    course_ids = {c.id for c in course_list}
    if course_ids:
        for chunk in id_chunks(leader_ids):
            for row in await session.scalars(
                select(LessonCompletion).where(LessonCompletion.leader_id.in_(chunk), LessonCompletion.course_id.in_(course_ids))
            ):
                done[(row.leader_id, row.lesson_id)] = row.done_at
            for row in await session.scalars(
                select(CourseCompletion).where(CourseCompletion.leader_id.in_(chunk), CourseCompletion.course_id.in_(course_ids))
            ):
                completions[(row.leader_id, row.course_id)] = row
    return {
        leader_id: [
            CourseProgress(
                course=c, lessons=lessons[c.id],
                done_at={x.id: done[(leader_id, x.id)] for x in lessons[c.id] if (leader_id, x.id) in done},
                completion=completions.get((leader_id, c.id)),
            )
            for c in course_list
        ]
        for leader_id in leader_ids
    }


async def published_courses(*, session: AsyncSession, brand_id: int) -> list[Course]:
    rows = await session.scalars(
        select(Course).where(Course.brand_id == brand_id, Course.status == "published").order_by(Course.id)
    )
    return list(rows)


async def leader_courses(*, session: AsyncSession, brand_id: int, leader_id: int) -> list[CourseProgress]:
    """Every published course of the brand with the leader's progress (a draft or withdrawn course is not shown;
    a completion of it is kept, and still counts for the levels)."""
    found = await progress_of(
        session=session, leader_ids={leader_id}, course_list=await published_courses(session=session, brand_id=brand_id)
    )
    return found[leader_id]


def _unpublished() -> NotFound:
    return NotFound("课程不存在或尚未发布", code="course_not_found")


async def leader_course(*, session: AsyncSession, brand_id: int, leader_id: int, course_id: int) -> CourseProgress:
    course = await courses.get_course(session=session, brand_id=brand_id, course_id=course_id)
    if course.status != "published":
        raise _unpublished()
    [found] = (await progress_of(session=session, leader_ids={leader_id}, course_list=[course]))[leader_id]
    return found


async def leader_lesson(
    *, session: AsyncSession, brand_id: int, leader_id: int, lesson_id: int
) -> tuple[Lesson, CourseProgress]:
    """A published lesson of a published course, with the course's progress; anything else is a 404."""
    lesson, course = await courses.get_lesson(session=session, brand_id=brand_id, lesson_id=lesson_id)
    if lesson.status != "published" or course.status != "published":
        raise NotFound("课时不存在或尚未发布", code="lesson_not_found")
    return lesson, await leader_course(session=session, brand_id=brand_id, leader_id=leader_id, course_id=course.id)


@dataclass(frozen=True)
class LessonDone:
    lesson: Lesson
    done_at: datetime
    first_time: bool  # False: it had been marked before (a double submit), nothing was written
    course_completed: CourseCompletion | None  # set when this call completed the course
    progress: CourseProgress


async def mark_lesson_done(
    *, session: AsyncSession, brand_id: int, leader_id: int, lesson_id: int, now: datetime
) -> LessonDone:
    """The leader has studied the lesson. Idempotent; completes the course when it was the last one missing."""
    leader = await leaders.get_leader(session=session, brand_id=brand_id, leader_id=leader_id, for_update=True)
    if leader.status != "active":
        raise Forbidden("仅限本品牌在任团长操作", code="leader_only")
    lesson, course = await courses.get_lesson(session=session, brand_id=brand_id, lesson_id=lesson_id)
    # A share lock on the course: staff publishing or withdrawing its lessons (FOR UPDATE) wait for this mark, and
    # this mark for them, so the completion below counts the lessons as they are.
    course = await session.get(Course, course.id, with_for_update={"read": True}, populate_existing=True)
    lesson = await session.get(Lesson, lesson.id, populate_existing=True)
    assert course is not None and lesson is not None
    if lesson.status != "published" or course.status != "published":
        raise NotFound("课时不存在或尚未发布", code="lesson_not_found")
    existing = await session.scalar(
        select(LessonCompletion).where(LessonCompletion.leader_id == leader.id, LessonCompletion.lesson_id == lesson.id)
    )
    first_time = existing is None
    if existing is None:
        row = LessonCompletion(leader_id=leader.id, lesson_id=lesson.id, course_id=course.id, done_at=now)
        if await insert_unique(session, row):
            existing = row
        else:  # the unique key: another transaction recorded it first
            first_time = False
            existing = await session.scalar(
                select(LessonCompletion).where(LessonCompletion.leader_id == leader.id, LessonCompletion.lesson_id == lesson.id)
            )
            assert existing is not None
    # Checked on a repeat too: a leader left with every lesson done (one was withdrawn meanwhile) completes here.
    completed = await completion.record_if_finished(session=session, leader_id=leader.id, course=course, now=now)
    progress = await leader_course(session=session, brand_id=brand_id, leader_id=leader.id, course_id=course.id)
    return LessonDone(lesson=lesson, done_at=existing.done_at, first_time=first_time, course_completed=completed,
                      progress=progress)
