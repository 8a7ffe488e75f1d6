"""Builders for the academy tests (through the services) and what they read back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from linli.academy import courses
from linli.academy.models import CourseCompletion, LessonCompletion
from linli.context import AppContext
from linli.outbox.models import OutboxEvent

LESSONS = ("如何发布直播预告", "如何用好社区专享价", "售后与坏果处理")


@dataclass
class CourseRef:
    id: int
    lesson_ids: list[int]


async def make_course(
    ctx: AppContext, brand_id: int, *, title: str = "新手主理人必修课", lessons: tuple[str, ...] = LESSONS,
    publish: bool = True,
) -> CourseRef:
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        course = await courses.create_course(session=s, brand_id=brand_id, title=title, summary="开团第一周", now=now)
        ids = []
        for name in lessons:
            lesson = await courses.add_lesson(
                session=s, brand_id=brand_id, course_id=course.id,
                data=courses.LessonInput(title=name, body=f"{name}：要点一、要点二。", video_url=None, minutes=5), now=now,
            )
            if publish:
                await courses.set_lesson_status(session=s, brand_id=brand_id, lesson_id=lesson.id, status="published", now=now)
            ids.append(lesson.id)
        if publish:
            await courses.publish_course(session=s, brand_id=brand_id, course_id=course.id, now=now)
    return CourseRef(id=course.id, lesson_ids=ids)


async def add_published_lesson(ctx: AppContext, brand_id: int, course_id: int, title: str = "新增一课") -> int:
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        lesson = await courses.add_lesson(
            session=s, brand_id=brand_id, course_id=course_id,
            data=courses.LessonInput(title=title, body="新内容", video_url=None, minutes=3), now=now,
        )
        await courses.set_lesson_status(session=s, brand_id=brand_id, lesson_id=lesson.id, status="published", now=now)
    return lesson.id


async def completions(ctx: AppContext, leader_id: int) -> list[tuple[int, object]]:
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(CourseCompletion.course_id, CourseCompletion.completed_at).where(CourseCompletion.leader_id == leader_id)
        )
        return list(rows.all())


async def lessons_done(ctx: AppContext, leader_id: int) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).where(LessonCompletion.leader_id == leader_id)) or 0)


async def events(ctx: AppContext, topic: str) -> list[dict]:
    async with ctx.db.read() as s:
        rows = await s.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id))
        return [row.payload for row in rows]


def error_code(response) -> str:  # noqa: ANN001
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"], body
    return body["error"]["code"]
