"""The leader's 成长中心 on the workbench: the courses with their progress bars, the next level's requirements
(courses included), the mentor card; a course's lessons; a lesson with 「完成本课」; for a mentor, 我的学员 with
their progress and the contact shown to them.

Every page calls `leaders.require_active_leader` first and then the academy's own services (the ones the API
calls); a leader sees only their own progress, a mentor only their own mentees. 「完成本课」 is idempotent in the
service, so a double submit records the lesson (and completes the course) once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.academy import mentors, overview, progress
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.web.live_room import playable
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

Outcome = Annotated[str | None, Query(max_length=16)]
DONE_TEXT = {
    "first": "已完成本课",
    "again": "这节课之前已经完成，无需重复提交",
    "course": "恭喜！整门课程已全部完成",
}


def academy_path(brand_id: int, rest: str = "") -> str:
    return f"/brands/{brand_id}/leader/academy{rest}"


@router.get("/brands/{brand_id}/leader/academy")
async def academy_home(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        found = await overview.leader_overview(session=session, brand_id=brand_id, leader=leader, now=ctx.clock.now())
    return render(request, visitor, "workbench_academy.html", brand=brand, found=found, tab="academy")


@router.get("/brands/{brand_id}/leader/academy/courses/{course_id}")
async def course_page(request: Request, brand_id: IdPath, course_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        course = await progress.leader_course(session=session, brand_id=brand_id, leader_id=leader.id, course_id=course_id)
    return render(request, visitor, "workbench_course.html", brand=brand, course=course, tab="academy")


@router.get("/brands/{brand_id}/leader/academy/lessons/{lesson_id}")
async def lesson_page(
    request: Request, brand_id: IdPath, lesson_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Outcome = None
) -> Response:
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        lesson, course = await progress.leader_lesson(session=session, brand_id=brand_id, leader_id=leader.id, lesson_id=lesson_id)
    return render(
        request, visitor, "workbench_lesson.html", brand=brand, lesson=lesson, course=course, tab="academy",
        playable=playable(lesson.video_url), notice=DONE_TEXT.get(done or ""),
        number=[x.id for x in course.lessons].index(lesson.id) + 1,
        paragraphs=[line.strip() for line in lesson.body.splitlines() if line.strip()],
    )


@router.post("/brands/{brand_id}/leader/academy/lessons/{lesson_id}/done")
async def lesson_done(brand_id: IdPath, lesson_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(academy_path(brand_id, f"/lessons/{lesson_id}"))
    # A refusal (not an active leader, a lesson withdrawn meanwhile) is the error page: there is no field to show it by.
    async with ctx.db.transaction() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        marked = await progress.mark_lesson_done(
            session=session, brand_id=brand_id, leader_id=leader.id, lesson_id=lesson_id, now=ctx.clock.now()
        )
    outcome = "course" if marked.course_completed is not None else "first" if marked.first_time else "again"
    return RedirectResponse(academy_path(brand_id, f"/lessons/{lesson_id}?done={outcome}"), status_code=303)


async def render_mentees(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState | None = None, saved: bool = False
) -> Response:
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        mentees = await overview.mentee_progress(session=session, brand_id=brand_id, mentor=leader)
        contact = await mentors.get_contact(session=session, leader_id=leader.id)
    form = form or FormState(values={"contact": contact})
    return render(
        request, visitor, "workbench_mentees.html", status_code=form.status_code, brand=brand, mentees=mentees,
        form=form, saved=saved, tab="academy",
    )


@router.get("/brands/{brand_id}/leader/academy/mentees")
async def mentees_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, saved: Annotated[int, Query(ge=0, le=1)] = 0
) -> Response:
    return await render_mentees(request, visitor, ctx, brand_id, saved=bool(saved))


@router.post("/brands/{brand_id}/leader/academy/contact")
async def save_contact(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    contact: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(academy_path(brand_id, "/mentees"))
    form = FormState(values={"contact": contact})
    try:
        async with ctx.db.transaction() as session:
            leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            await mentors.set_contact(session=session, leader_id=leader.id, contact=contact, now=ctx.clock.now())
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        form.refuse(exc, "contact")
        return await render_mentees(request, visitor, ctx, brand_id, form)
    return RedirectResponse(academy_path(brand_id, "/mentees?saved=1"), status_code=303)
