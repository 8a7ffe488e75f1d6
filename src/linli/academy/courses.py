"""Authoring courses (staff): create and edit courses and lessons, publish and unpublish them, reorder lessons.

Every input is checked here (the API's schemas refuse the same earlier); a refusal is a Chinese 4xx and changes
nothing. The course row is locked before its lessons change, so a reorder and an added lesson never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.academy import completion
from linli.academy.models import Course, Lesson
from linli.catalog.service import clean_url
from linli.errors import Conflict, InvalidInput, NotFound
from linli.leaders import service as leaders
from linli.pagination import PageParams, fetch_page

MAX_TITLE = 40
MAX_SUMMARY = 500
MAX_BODY = 20_000
MAX_MINUTES = 600
MAX_LESSONS = 50
STATUSES = ("draft", "published")


def clean_text(value: str, *, label: str, code: str, max_length: int, allow_empty: bool = False) -> str:
    value = value.strip()
    if not value and not allow_empty:
        raise InvalidInput(f"{label}不能为空", code=code)
    if len(value) > max_length:
        raise InvalidInput(f"{label}不能超过 {max_length} 个字", code=code)
    return value


def clean_minutes(value: int) -> int:
    if not 1 <= value <= MAX_MINUTES:
        raise InvalidInput(f"预计学习时长须为 1 到 {MAX_MINUTES} 分钟", code="lesson_minutes_invalid")
    return value


def clean_video_url(value: str | None) -> str | None:
    """Optional: empty means no video; anything else must be an http(s) address, as every URL linli keeps."""
    if value is None or not value.strip():
        return None
    return clean_url(value, label="视频地址", code="video_url_invalid")


@dataclass(frozen=True)
class LessonInput:
    title: str
    body: str
    video_url: str | None
    minutes: int


@dataclass(frozen=True)
class LessonPatch:
    title: str | None = None
    body: str | None = None
    video_url: str | None = None  # "" removes the video
    minutes: int | None = None


async def get_course(*, session: AsyncSession, brand_id: int, course_id: int, for_update: bool = False) -> Course:
    course = await session.get(Course, course_id, with_for_update=for_update, populate_existing=for_update)
    if course is None or course.brand_id != brand_id:
        raise NotFound("课程不存在", code="course_not_found")
    return course


async def get_lesson(*, session: AsyncSession, brand_id: int, lesson_id: int) -> tuple[Lesson, Course]:
    lesson = await session.get(Lesson, lesson_id)
    course = await session.get(Course, lesson.course_id) if lesson is not None else None
    if lesson is None or course is None or course.brand_id != brand_id:
        raise NotFound("课时不存在", code="lesson_not_found")
    return lesson, course


async def lessons_of(*, session: AsyncSession, course_ids: set[int], published_only: bool = False) -> dict[int, list[Lesson]]:
    """Each course's lessons in their order."""
    found: dict[int, list[Lesson]] = {course_id: [] for course_id in course_ids}
    if not course_ids:
        return found
    query = select(Lesson).where(Lesson.course_id.in_(course_ids)).order_by(Lesson.course_id, Lesson.position, Lesson.id)
    if published_only:
        query = query.where(Lesson.status == "published")
    for lesson in await session.scalars(query):
        found[lesson.course_id].append(lesson)
    return found


async def list_courses(
    *, session: AsyncSession, brand_id: int, status: str | None, params: PageParams
) -> tuple[list[Course], int]:
    if status is not None and status not in STATUSES:
        raise InvalidInput("课程状态只能是 draft 或 published", code="course_status_invalid")
    query = select(Course).where(Course.brand_id == brand_id).order_by(Course.id)
    if status is not None:
        query = query.where(Course.status == status)
    return await fetch_page(session, query, params)


async def create_course(*, session: AsyncSession, brand_id: int, title: str, summary: str, now: datetime) -> Course:
    course = Course(
        brand_id=brand_id,
        title=clean_text(title, label="课程名称", code="course_title_invalid", max_length=MAX_TITLE),
        summary=clean_text(summary, label="课程简介", code="course_summary_invalid", max_length=MAX_SUMMARY, allow_empty=True),
        status="draft", created_at=now, updated_at=now,
    )
    session.add(course)
    await session.flush()
    return course


async def update_course(
    *, session: AsyncSession, brand_id: int, course_id: int, title: str | None, summary: str | None, now: datetime
) -> Course:
    course = await get_course(session=session, brand_id=brand_id, course_id=course_id, for_update=True)
    if title is not None:
        course.title = clean_text(title, label="课程名称", code="course_title_invalid", max_length=MAX_TITLE)
    if summary is not None:
        course.summary = clean_text(
            summary, label="课程简介", code="course_summary_invalid", max_length=MAX_SUMMARY, allow_empty=True
        )
    course.updated_at = now
    return course


async def _published_count(session: AsyncSession, course_id: int) -> int:
    count = await session.scalar(
        select(func.count()).where(Lesson.course_id == course_id, Lesson.status == "published")
    )
    return int(count or 0)


async def publish_course(*, session: AsyncSession, brand_id: int, course_id: int, now: datetime) -> Course:
    """Leaders see the course from now on; publishing a published course changes nothing. Whoever has already
    done every published lesson (progress kept from before it was withdrawn) completes it now."""
    course = await get_course(session=session, brand_id=brand_id, course_id=course_id, for_update=True)
    if course.status == "published":
        return course
    if await _published_count(session, course.id) == 0:
        raise Conflict("课程至少要有一节已发布的课时才能发布", code="course_has_no_lessons")
    course.status = "published"
    course.published_at = now
    course.updated_at = now
    await session.flush()
    # A leader may have done every lesson still published (one was withdrawn while the course was a draft).
    await completion.complete_finished(session=session, course=course, now=now)
    return course


async def _levels_requiring(session: AsyncSession, brand_id: int, course_id: int) -> list[str]:
    program = await leaders.get_program(session=session, brand_id=brand_id)
    return [lv["name"] for lv in program.levels if course_id in lv.get("required_course_ids", [])]


async def unpublish_course(*, session: AsyncSession, brand_id: int, course_id: int, now: datetime) -> Course:
    """Leaders no longer see it (their progress and completions are kept); a level's required course stays up."""
    course = await get_course(session=session, brand_id=brand_id, course_id=course_id, for_update=True)
    if course.status == "draft":
        return course
    required_by = await _levels_requiring(session, brand_id, course.id)
    if required_by:
        raise Conflict(
            f"该课程是等级「{'」「'.join(required_by)}」的升级要求，请先在等级方案中去掉它再下架",
            code="course_required_by_level",
        )
    course.status = "draft"
    course.updated_at = now
    return course


async def add_lesson(
    *, session: AsyncSession, brand_id: int, course_id: int, data: LessonInput, now: datetime
) -> Lesson:
    """A new lesson, last in the course, as a draft: leaders see it once it is published."""
    course = await get_course(session=session, brand_id=brand_id, course_id=course_id, for_update=True)
    lesson = Lesson(
        course_id=course.id,
        title=clean_text(data.title, label="课时标题", code="lesson_title_invalid", max_length=MAX_TITLE),
        body=clean_text(data.body, label="课时正文", code="lesson_body_invalid", max_length=MAX_BODY),
        video_url=clean_video_url(data.video_url),
        minutes=clean_minutes(data.minutes),
        status="draft", created_at=now, updated_at=now, position=0,
    )
    last = await session.scalar(select(func.max(Lesson.position)).where(Lesson.course_id == course.id))
    count = await session.scalar(select(func.count()).where(Lesson.course_id == course.id))
    if int(count or 0) >= MAX_LESSONS:
        raise Conflict(f"每门课程最多 {MAX_LESSONS} 节课时", code="course_lessons_full")
    lesson.position = int(last or 0) + 1
    session.add(lesson)
    course.updated_at = now
    await session.flush()
    return lesson


async def update_lesson(
    *, session: AsyncSession, brand_id: int, lesson_id: int, patch: LessonPatch, now: datetime
) -> Lesson:
    lesson, course = await get_lesson(session=session, brand_id=brand_id, lesson_id=lesson_id)
    await get_course(session=session, brand_id=brand_id, course_id=course.id, for_update=True)
    if patch.title is not None:
        lesson.title = clean_text(patch.title, label="课时标题", code="lesson_title_invalid", max_length=MAX_TITLE)
    if patch.body is not None:
        lesson.body = clean_text(patch.body, label="课时正文", code="lesson_body_invalid", max_length=MAX_BODY)
    if patch.video_url is not None:
        lesson.video_url = clean_video_url(patch.video_url)
    if patch.minutes is not None:
        lesson.minutes = clean_minutes(patch.minutes)
    lesson.updated_at = now
    return lesson


async def set_lesson_status(
    *, session: AsyncSession, brand_id: int, lesson_id: int, status: str, now: datetime
) -> Lesson:
    """Publish or unpublish one lesson (setting the status it has changes nothing).

    Unpublishing takes the lesson out of every leader's progress; a leader who has now done every published
    lesson of the course completes it at once (`completion.complete_finished`), so nobody is left at 2/2 unfinished.
    A published course keeps at least one published lesson.
    """
    if status not in STATUSES:
        raise InvalidInput("课时状态只能是 draft 或 published", code="lesson_status_invalid")
    lesson, course = await get_lesson(session=session, brand_id=brand_id, lesson_id=lesson_id)
    course = await get_course(session=session, brand_id=brand_id, course_id=course.id, for_update=True)
    if lesson.status == status:
        return lesson
    if status == "draft" and course.status == "published" and await _published_count(session, course.id) == 1:
        raise Conflict("已发布的课程至少保留一节已发布的课时；要全部下架请先下架课程", code="course_needs_a_lesson")
    lesson.status = status
    lesson.updated_at = now
    await session.flush()
    if status == "draft":
        await completion.complete_finished(session=session, course=course, now=now)
    return lesson


async def reorder_lessons(
    *, session: AsyncSession, brand_id: int, course_id: int, lesson_ids: list[int], now: datetime
) -> list[Lesson]:
    """Puts the course's lessons in the order given: every lesson of the course, each exactly once."""
    course = await get_course(session=session, brand_id=brand_id, course_id=course_id, for_update=True)
    lessons = (await lessons_of(session=session, course_ids={course.id}))[course.id]
    by_id = {lesson.id: lesson for lesson in lessons}
    if len(lesson_ids) != len(by_id) or set(lesson_ids) != set(by_id):
        raise InvalidInput("请按新的顺序列出本课程的全部课时，每节一次", code="lesson_order_invalid")
    for position, lesson_id in enumerate(lesson_ids, start=1):
        by_id[lesson_id].position = position
    course.updated_at = now
    await session.flush()
    return [by_id[lesson_id] for lesson_id in lesson_ids]


async def move_lesson(
    *, session: AsyncSession, brand_id: int, lesson_id: int, direction: str, now: datetime
) -> list[Lesson]:
    """One lesson a place up or down (the console's arrows), as a reorder of the whole course."""
    if direction not in ("up", "down"):
        raise InvalidInput("只能上移或下移", code="lesson_move_invalid")
    _, course = await get_lesson(session=session, brand_id=brand_id, lesson_id=lesson_id)
    await get_course(session=session, brand_id=brand_id, course_id=course.id, for_update=True)
    order = [x.id for x in (await lessons_of(session=session, course_ids={course.id}))[course.id]]
    at = order.index(lesson_id)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]
    return await reorder_lessons(session=session, brand_id=brand_id, course_id=course.id, lesson_ids=order, now=now)
