"""The academy's API: staff author courses and lessons and arrange mentors; a leader studies, sees their
progress, their mentor and (a mentor) their mentees. Every route checks its caller first (`brands.require_staff`,
`leaders.require_active_leader`), then calls the same services as the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from linli.academy import courses, mentors, overview, progress
from linli.academy.models import Course, Lesson, Mentorship
from linli.academy.schemas import (
    AcademyOut,
    ContactIn,
    ContactOut,
    CourseIn,
    CourseOut,
    CoursePatch,
    CourseProgressOut,
    CourseRefOut,
    CourseSummaryOut,
    LeaderCourseOut,
    LeaderLessonOut,
    LessonDoneOut,
    LessonIn,
    LessonOrderIn,
    LessonOut,
    LessonPatch,
    MenteeOut,
    MentorAssignIn,
    MentorEndedOut,
    MentorOut,
    MentorRulesIn,
    MentorRulesOut,
    MentorshipOut,
    NextLevelNeedsOut,
    Status,
)
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.http import AuthUser, Now, ReadSession, WriteSession
from linli.leaders import service as leaders
from linli.leaders.models import Leader
from linli.openapi import errors
from linli.pagination import Page, PageParams, page_of, page_params

router = APIRouter(prefix="/api/v1", tags=["academy"], responses=errors(409))
Paging = Annotated[PageParams, Depends(page_params)]


# --- Output builders ---------------------------------------------------------------------------


def lesson_out(lesson: Lesson) -> LessonOut:
    return LessonOut(
        id=lesson.id, course_id=lesson.course_id, position=lesson.position, title=lesson.title, body=lesson.body,
        video_url=lesson.video_url, minutes=lesson.minutes, status=lesson.status,  # type: ignore[arg-type]
        updated_at=lesson.updated_at,
    )


def _summary_fields(course: Course, lessons: list[Lesson]) -> dict:
    return {
        "id": course.id, "title": course.title, "summary": course.summary, "status": course.status,
        "lesson_count": len(lessons), "published_lesson_count": sum(1 for x in lessons if x.status == "published"),
        "published_at": course.published_at, "updated_at": course.updated_at,
    }


async def course_out(session: AsyncSession, course: Course) -> CourseOut:
    await session.flush()
    lessons = (await courses.lessons_of(session=session, course_ids={course.id}))[course.id]
    return CourseOut(**_summary_fields(course, lessons), lessons=[lesson_out(x) for x in lessons])


def progress_out(found: progress.CourseProgress) -> CourseProgressOut:
    course = found.course
    return CourseProgressOut(
        id=course.id, title=course.title, summary=course.summary, lessons_done=found.done, lessons_total=found.total,
        minutes=found.minutes, completed_at=found.completion.completed_at if found.completion else None,
    )


def leader_course_out(found: progress.CourseProgress) -> LeaderCourseOut:
    return LeaderCourseOut(
        **progress_out(found).model_dump(),
        lessons=[
            LeaderLessonOut(
                id=x.id, position=x.position, title=x.title, body=x.body, video_url=x.video_url, minutes=x.minutes,
                done_at=found.done_at.get(x.id),
            )
            for x in found.lessons
        ],
    )


def rules_out(rules: mentors.MentorRules) -> MentorRulesOut:
    return MentorRulesOut(
        auto_assign_mentor=rules.auto_assign_mentor, mentor_capacity=rules.mentor_capacity,
        mentor_min_days=rules.mentor_min_days, updated_at=rules.updated_at,
    )


async def _staff(session: AsyncSession, brand_id: int, user: AuthUser) -> None:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)


# --- Staff: courses and lessons -----------------------------------------------------------------


@router.get("/brands/{brand_id}/academy/courses", response_model=Page[CourseSummaryOut], summary="成长中心课程列表（员工，含草稿）")
async def list_courses(
    brand_id: IdPath, user: AuthUser, session: ReadSession, params: Paging,
    status: Annotated[Status | None, Query(description="按状态筛选")] = None,
) -> Page[CourseSummaryOut]:
    await _staff(session, brand_id, user)
    rows, total = await courses.list_courses(session=session, brand_id=brand_id, status=status, params=params)
    lessons = await courses.lessons_of(session=session, course_ids={c.id for c in rows})
    return Page(
        items=[CourseSummaryOut(**_summary_fields(c, lessons[c.id])) for c in rows],
        total=total, page=params.page, page_size=params.page_size,
    )


@router.post("/brands/{brand_id}/academy/courses", status_code=201, response_model=CourseOut, summary="新建课程（草稿，员工）")
async def create_course(brand_id: IdPath, body: CourseIn, user: AuthUser, session: WriteSession, now: Now) -> CourseOut:
    await _staff(session, brand_id, user)
    course = await courses.create_course(session=session, brand_id=brand_id, title=body.title, summary=body.summary, now=now)
    return await course_out(session, course)


@router.get("/brands/{brand_id}/academy/courses/{course_id}", response_model=CourseOut, summary="课程及全部课时（员工）")
async def get_course(brand_id: IdPath, course_id: IdPath, user: AuthUser, session: ReadSession) -> CourseOut:
    await _staff(session, brand_id, user)
    return await course_out(session, await courses.get_course(session=session, brand_id=brand_id, course_id=course_id))


@router.patch("/brands/{brand_id}/academy/courses/{course_id}", response_model=CourseOut, summary="修改课程名称、简介（员工）")
async def update_course(
    brand_id: IdPath, course_id: IdPath, body: CoursePatch, user: AuthUser, session: WriteSession, now: Now
) -> CourseOut:
    await _staff(session, brand_id, user)
    course = await courses.update_course(
        session=session, brand_id=brand_id, course_id=course_id, title=body.title, summary=body.summary, now=now
    )
    return await course_out(session, course)


@router.post("/brands/{brand_id}/academy/courses/{course_id}/publish", response_model=CourseOut, summary="发布课程（员工）")
async def publish_course(brand_id: IdPath, course_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> CourseOut:
    await _staff(session, brand_id, user)
    return await course_out(session, await courses.publish_course(session=session, brand_id=brand_id, course_id=course_id, now=now))


@router.post(
    "/brands/{brand_id}/academy/courses/{course_id}/unpublish", response_model=CourseOut,
    summary="下架课程（员工；团长的进度与完成记录保留）",
)
async def unpublish_course(brand_id: IdPath, course_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> CourseOut:
    await _staff(session, brand_id, user)
    return await course_out(
        session, await courses.unpublish_course(session=session, brand_id=brand_id, course_id=course_id, now=now)
    )


@router.post(
    "/brands/{brand_id}/academy/courses/{course_id}/lessons", status_code=201, response_model=LessonOut,
    summary="新增课时（草稿，排在最后，员工）",
)
async def add_lesson(
    brand_id: IdPath, course_id: IdPath, body: LessonIn, user: AuthUser, session: WriteSession, now: Now
) -> LessonOut:
    await _staff(session, brand_id, user)
    lesson = await courses.add_lesson(
        session=session, brand_id=brand_id, course_id=course_id,
        data=courses.LessonInput(title=body.title, body=body.body, video_url=body.video_url, minutes=body.minutes), now=now,
    )
    return lesson_out(lesson)


@router.put("/brands/{brand_id}/academy/courses/{course_id}/lesson-order", response_model=CourseOut, summary="调整课时顺序（员工）")
async def reorder_lessons(
    brand_id: IdPath, course_id: IdPath, body: LessonOrderIn, user: AuthUser, session: WriteSession, now: Now
) -> CourseOut:
    await _staff(session, brand_id, user)
    await courses.reorder_lessons(session=session, brand_id=brand_id, course_id=course_id, lesson_ids=body.lesson_ids, now=now)
    return await course_out(session, await courses.get_course(session=session, brand_id=brand_id, course_id=course_id))


@router.patch("/brands/{brand_id}/academy/lessons/{lesson_id}", response_model=LessonOut, summary="修改课时（员工）")
async def update_lesson(
    brand_id: IdPath, lesson_id: IdPath, body: LessonPatch, user: AuthUser, session: WriteSession, now: Now
) -> LessonOut:
    await _staff(session, brand_id, user)
    lesson = await courses.update_lesson(
        session=session, brand_id=brand_id, lesson_id=lesson_id,
        patch=courses.LessonPatch(title=body.title, body=body.body, video_url=body.video_url, minutes=body.minutes), now=now,
    )
    return lesson_out(lesson)


@router.post("/brands/{brand_id}/academy/lessons/{lesson_id}/publish", response_model=LessonOut, summary="发布课时（员工）")
async def publish_lesson(brand_id: IdPath, lesson_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> LessonOut:
    await _staff(session, brand_id, user)
    return lesson_out(
        await courses.set_lesson_status(session=session, brand_id=brand_id, lesson_id=lesson_id, status="published", now=now)
    )


@router.post(
    "/brands/{brand_id}/academy/lessons/{lesson_id}/unpublish", response_model=LessonOut,
    summary="下架课时（员工；已学完其余课时的团长随即完成课程）",
)
async def unpublish_lesson(brand_id: IdPath, lesson_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> LessonOut:
    await _staff(session, brand_id, user)
    return lesson_out(
        await courses.set_lesson_status(session=session, brand_id=brand_id, lesson_id=lesson_id, status="draft", now=now)
    )


# --- Staff: mentors --------------------------------------------------------------------------------


@router.get("/brands/{brand_id}/academy/mentor-rules", response_model=MentorRulesOut, summary="导师规则（员工）")
async def get_rules(brand_id: IdPath, user: AuthUser, session: ReadSession) -> MentorRulesOut:
    await _staff(session, brand_id, user)
    return rules_out(await mentors.get_rules(session=session, brand_id=brand_id))


@router.put(
    "/brands/{brand_id}/academy/mentor-rules", response_model=MentorRulesOut,
    summary="修改导师规则：自动安排、每位导师学员上限、导师任职天数（员工）",
)
async def put_rules(brand_id: IdPath, body: MentorRulesIn, user: AuthUser, session: WriteSession, now: Now) -> MentorRulesOut:
    await _staff(session, brand_id, user)
    rules = await mentors.update_rules(
        session=session, brand_id=brand_id, auto_assign_mentor=body.auto_assign_mentor,
        mentor_capacity=body.mentor_capacity, mentor_min_days=body.mentor_min_days, actor_user_id=user.user_id, now=now,
    )
    return rules_out(rules)


async def mentorships_out(session: AsyncSession, rows: list[Mentorship]) -> list[MentorshipOut]:
    people = await leaders.leaders_by_ids(
        session=session, leader_ids={r.mentee_leader_id for r in rows} | {r.mentor_leader_id for r in rows}
    )
    places = await brands.communities_by_ids(session=session, community_ids={p.community_id for p in people.values()})
    return [
        MentorshipOut(
            mentee_leader_id=r.mentee_leader_id, mentee_name=people[r.mentee_leader_id].real_name,
            mentee_community=places[people[r.mentee_leader_id].community_id].name,
            mentor_leader_id=r.mentor_leader_id, mentor_name=people[r.mentor_leader_id].real_name,
            mentor_community=places[people[r.mentor_leader_id].community_id].name,
            how=r.how, assigned_at=r.assigned_at,
        )
        for r in rows
    ]


@router.get("/brands/{brand_id}/academy/mentorships", response_model=Page[MentorshipOut], summary="当前的导师与学员（员工）")
async def list_mentorships(brand_id: IdPath, user: AuthUser, session: ReadSession, params: Paging) -> Page[MentorshipOut]:
    await _staff(session, brand_id, user)
    rows = await mentors.brand_mentorships(session=session, brand_id=brand_id)
    return page_of(await mentorships_out(session, rows), params)


@router.put(
    "/brands/{brand_id}/leaders/{leader_id}/mentor", response_model=MentorshipOut,
    summary="为团长安排（或更换）导师（员工）", responses=errors(404),
)
async def assign_mentor(
    brand_id: IdPath, leader_id: IdPath, body: MentorAssignIn, user: AuthUser, session: WriteSession, now: Now
) -> MentorshipOut:
    await _staff(session, brand_id, user)
    row = await mentors.assign_mentor(
        session=session, brand_id=brand_id, mentee_leader_id=leader_id, mentor_leader_id=body.mentor_leader_id,
        actor_user_id=user.user_id, now=now,
    )
    [out] = await mentorships_out(session, [row])
    return out


@router.delete("/brands/{brand_id}/leaders/{leader_id}/mentor", response_model=MentorEndedOut, summary="解除团长的导师（员工）")
async def end_mentor(brand_id: IdPath, leader_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> MentorEndedOut:
    await _staff(session, brand_id, user)
    ended = await mentors.end_mentorship(
        session=session, brand_id=brand_id, mentee_leader_id=leader_id, actor_user_id=user.user_id, now=now
    )
    return MentorEndedOut(ended=ended is not None)


# --- The leader -----------------------------------------------------------------------------------


async def _leader(session: AsyncSession, brand_id: int, user: AuthUser) -> Leader:
    return await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)


def academy_out(found: overview.Overview) -> AcademyOut:
    progress_now = found.view.progress
    nxt = found.next_level
    mentor = found.mentor
    return AcademyOut(
        level_code=found.level["code"], level_name=found.level["name"],
        next_level=NextLevelNeedsOut(
            code=nxt["code"], name=nxt["name"], members_needed=progress_now.members_to_next_level or 0,
            courses=[CourseRefOut(id=c.id, title=c.title, completed=c.completed) for c in found.next_level_courses],
        ) if nxt is not None else None,
        courses=[progress_out(c) for c in found.courses],
        mentor=MentorOut(
            display_name=mentor.display_name, community_name=mentor.community_name, contact=mentor.contact,
            available=mentor.available, since=mentor.mentorship.assigned_at,
        ) if mentor is not None else None,
        mentee_count=found.mentee_count,
    )


@router.get(
    "/brands/{brand_id}/leader/academy", response_model=AcademyOut,
    summary="我的成长中心：课程与进度、下一级要求（含课程）、我的导师（团长本人）",
)
async def my_academy(brand_id: IdPath, user: AuthUser, session: ReadSession, now: Now) -> AcademyOut:
    leader = await _leader(session, brand_id, user)
    return academy_out(await overview.leader_overview(session=session, brand_id=brand_id, leader=leader, now=now))


@router.get(
    "/brands/{brand_id}/leader/academy/courses/{course_id}", response_model=LeaderCourseOut,
    summary="课程的课时与我的进度（团长本人）",
)
async def my_course(brand_id: IdPath, course_id: IdPath, user: AuthUser, session: ReadSession) -> LeaderCourseOut:
    leader = await _leader(session, brand_id, user)
    found = await progress.leader_course(session=session, brand_id=brand_id, leader_id=leader.id, course_id=course_id)
    return leader_course_out(found)


@router.post(
    "/brands/{brand_id}/leader/academy/lessons/{lesson_id}/done", response_model=LessonDoneOut,
    summary="完成本课（团长本人；重复提交只记一次，学完全部课时即完成课程）",
)
async def lesson_done(brand_id: IdPath, lesson_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> LessonDoneOut:
    leader = await _leader(session, brand_id, user)
    done = await progress.mark_lesson_done(session=session, brand_id=brand_id, leader_id=leader.id, lesson_id=lesson_id, now=now)
    return LessonDoneOut(
        lesson_id=done.lesson.id, done_at=done.done_at, first_time=done.first_time,
        course_completed_now=done.course_completed is not None, course=progress_out(done.progress),
    )


@router.get(
    "/brands/{brand_id}/leader/mentees", response_model=Page[MenteeOut], summary="我的学员及其学习进度（导师本人）"
)
async def my_mentees(brand_id: IdPath, user: AuthUser, session: ReadSession, params: Paging) -> Page[MenteeOut]:
    leader = await _leader(session, brand_id, user)
    found = await overview.mentee_progress(session=session, brand_id=brand_id, mentor=leader)
    items = [
        MenteeOut(
            leader_id=m.row.mentee.id, display_name=m.row.display_name, community_name=m.row.community_name,
            status=m.row.mentee.status, since=m.row.mentorship.assigned_at, how=m.row.mentorship.how,  # type: ignore[arg-type]
            courses=[progress_out(c) for c in m.courses],
        )
        for m in found
    ]
    return page_of(items, params)


@router.get("/brands/{brand_id}/leader/mentor-contact", response_model=ContactOut, summary="我给学员公开的联系方式（团长本人）")
async def my_contact(brand_id: IdPath, user: AuthUser, session: ReadSession) -> ContactOut:
    leader = await _leader(session, brand_id, user)
    return ContactOut(contact=await mentors.get_contact(session=session, leader_id=leader.id))


@router.put(
    "/brands/{brand_id}/leader/mentor-contact", response_model=ContactOut,
    summary="设置给学员公开的联系方式（团长本人；空字符串表示不公开）",
)
async def set_my_contact(brand_id: IdPath, body: ContactIn, user: AuthUser, session: WriteSession, now: Now) -> ContactOut:
    leader = await _leader(session, brand_id, user)
    return ContactOut(contact=await mentors.set_contact(session=session, leader_id=leader.id, contact=body.contact, now=now))
