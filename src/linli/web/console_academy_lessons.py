"""The brand console, 成长中心 › a lesson: edit its title, text, video and minutes; publish or unpublish it; move it
up or down in its course. As the API's `PATCH …/academy/lessons/{id}`, `…/publish`, `…/unpublish` and
`PUT …/lesson-order` (a move is a reorder of the whole course, the course's row locked)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from linli.academy import courses
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.web.console import staff_view
from linli.web.console_academy import LESSON_FIELDS, STATUS_TEXT, Text, academy_path, render_course
from linli.web.console_products import page_refusal, poster_id
from linli.web.forms import count_of
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor

router = APIRouter()
Choice = Annotated[str, Form(max_length=16)]


async def render_lesson(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, lesson_id: int, form: FormState | None = None
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        lesson, course = await courses.get_lesson(session=session, brand_id=brand_id, lesson_id=lesson_id)
    form = form or FormState(values={
        "title": lesson.title, "body": lesson.body, "video_url": lesson.video_url or "", "minutes": str(lesson.minutes),
    })
    return render(
        request, visitor, "console_lesson.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="academy", section="courses", lesson=lesson, course=course, form=form, status_text=STATUS_TEXT,
    )


@router.get("/brands/{brand_id}/console/academy/lessons/{lesson_id}")
async def lesson_page(request: Request, brand_id: IdPath, lesson_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    return await render_lesson(request, visitor, ctx, brand_id, lesson_id)


@router.post("/brands/{brand_id}/console/academy/lessons/{lesson_id}")
async def save_lesson(
    request: Request, brand_id: IdPath, lesson_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, title: Text = "",
    body: Text = "", video_url: Text = "", minutes: Text = "",
) -> Response:
    user_id = poster_id(visitor, academy_path(brand_id, f"/lessons/{lesson_id}"))
    form = FormState(values={"title": title, "body": body, "video_url": video_url, "minutes": minutes})
    try:
        patch = courses.LessonPatch(
            title=title, body=body, video_url=video_url, minutes=count_of(minutes, label="预计学习时长（分钟）"),
        )
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            lesson = await courses.update_lesson(session=session, brand_id=brand_id, lesson_id=lesson_id, patch=patch,
                                                 now=ctx.clock.now())
    except DomainError as exc:
        if page_refusal(exc) or exc.status_code == 404:
            raise
        form.refuse(exc, LESSON_FIELDS.get(exc.code, "title"))
        return await render_lesson(request, visitor, ctx, brand_id, lesson_id, form)
    return RedirectResponse(academy_path(brand_id, f"/courses/{lesson.course_id}?done=saved"), status_code=303)


async def _lesson_action(
    request: Request, brand_id: int, lesson_id: int, visitor: Visitor, ctx: AppContext, *, act, done: str,  # noqa: ANN001
) -> Response:
    """One of a lesson's buttons on its course's page: `act(session, now)` after the staff check; a refusal is shown
    beside that lesson's row (an unknown lesson, or the whole page's refusal, is the error page)."""
    user_id = poster_id(visitor, academy_path(brand_id, f"/lessons/{lesson_id}"))
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            _, course = await courses.get_lesson(session=session, brand_id=brand_id, lesson_id=lesson_id)
            course_id = course.id
            await act(session, ctx.clock.now())
    except DomainError as exc:
        if page_refusal(exc) or exc.status_code == 404:
            raise
        action = FormState()
        action.refuse(exc, f"lesson-{lesson_id}")
        return await render_course(request, visitor, ctx, brand_id, course_id, action_form=action)
    return RedirectResponse(academy_path(brand_id, f"/courses/{course_id}?done={done}"), status_code=303)


@router.post("/brands/{brand_id}/console/academy/lessons/{lesson_id}/status")
async def lesson_status(
    request: Request, brand_id: IdPath, lesson_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, status: Choice = "",
) -> Response:
    async def act(session, now):  # noqa: ANN001, ANN202
        await courses.set_lesson_status(session=session, brand_id=brand_id, lesson_id=lesson_id, status=status, now=now)

    return await _lesson_action(request, brand_id, lesson_id, visitor, ctx, act=act, done=f"lesson_{status}")


@router.post("/brands/{brand_id}/console/academy/lessons/{lesson_id}/move")
async def move_lesson(
    request: Request, brand_id: IdPath, lesson_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, direction: Choice = "",
) -> Response:
    async def act(session, now):  # noqa: ANN001, ANN202
        await courses.move_lesson(session=session, brand_id=brand_id, lesson_id=lesson_id, direction=direction, now=now)

    return await _lesson_action(request, brand_id, lesson_id, visitor, ctx, act=act, done="moved")
