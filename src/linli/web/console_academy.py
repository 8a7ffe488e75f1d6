"""The brand console, 成长中心 › 课程: the brand's courses (drafts included) and the form to create one; a course's
page with its details, its lessons in order (↑ ↓ to move one, 发布 / 下架 each), 发布课程 / 下架课程 and the form
to add a lesson. The lesson's own page is `console_academy_lessons.py`.

The same check and the same services as the API (`brands.require_staff`, then `academy.courses`). The create forms
carry a `form_key` sealed through `web.receipts`, so a double submit creates one course or one lesson; publishing and
unpublishing set a state, so sent twice they change nothing more.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.academy import courses
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.pagination import PageParams
from linli.web import receipts
from linli.web.console import staff_view
from linli.web.console_products import page_refusal, poster_id
from linli.web.forms import count_of, new_key
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor

router = APIRouter()

SHOWN = PageParams(page=1, page_size=100)
Text = Annotated[str, Form(max_length=21_000)]
Done = Annotated[str | None, Query(max_length=16)]
STATUS_TEXT = {"draft": "草稿", "published": "已发布"}
DONE = {
    "created": "课程已创建（草稿）：先添加并发布课时，再发布课程",
    "saved": "课程已保存",
    "published": "课程已发布，团长可以在成长中心看到",
    "draft": "课程已下架，团长暂时看不到（学习记录保留）",
    "lesson": "课时已添加（草稿）：发布后团长才能看到",
    "lesson_published": "课时已发布",
    "lesson_draft": "课时已下架",
    "moved": "顺序已调整",
}
COURSE_FIELDS = {"course_title_invalid": "title", "course_summary_invalid": "summary"}
LESSON_FIELDS = {
    "lesson_title_invalid": "title", "lesson_body_invalid": "body", "video_url_invalid": "video_url",
    "lesson_minutes_invalid": "minutes", "number_invalid": "minutes", "course_lessons_full": "title",
}


def academy_path(brand_id: int, rest: str = "") -> str:
    return f"/brands/{brand_id}/console/academy{rest}"


def lesson_input(title: str, body: str, video_url: str, minutes: str) -> courses.LessonInput:
    return courses.LessonInput(
        title=title, body=body, video_url=video_url, minutes=count_of(minutes, label="预计学习时长（分钟）"),
    )


async def render_courses(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState, done: str | None = None
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        rows, total = await courses.list_courses(session=session, brand_id=brand_id, status=None, params=SHOWN)
        lessons = await courses.lessons_of(session=session, course_ids={c.id for c in rows})
    form.values.setdefault("form_key", new_key())
    return render(
        request, visitor, "console_academy.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="academy", section="courses", courses=rows, total=total, lessons=lessons, form=form,
        status_text=STATUS_TEXT, done=DONE.get(done or ""),
    )


@router.get("/brands/{brand_id}/console/academy")
async def courses_page(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Done = None) -> Response:
    return await render_courses(request, visitor, ctx, brand_id, FormState(), done)


@router.post("/brands/{brand_id}/console/academy/courses")
async def create_course(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, title: Text = "", summary: Text = "",
    form_key: Text = "",
) -> Response:
    user_id = poster_id(visitor, academy_path(brand_id))
    form = FormState(values={"title": title, "summary": summary, "form_key": form_key})
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await receipts.check(session, user_id=user_id, form_key=form_key)
            course = await courses.create_course(session=session, brand_id=brand_id, title=title, summary=summary,
                                                 now=ctx.clock.now())
            result = academy_path(brand_id, f"/courses/{course.id}?done=created")
            await receipts.seal(session, user_id=user_id, form_key=form_key, result_path=result, now=ctx.clock.now())
    except receipts.AlreadySubmitted as already:
        return RedirectResponse(already.result_path, status_code=303)
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, COURSE_FIELDS.get(exc.code, "title"))
        return await render_courses(request, visitor, ctx, brand_id, form)
    return RedirectResponse(result, status_code=303)


async def render_course(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, course_id: int, *,
    course_form: FormState | None = None, lesson_form: FormState | None = None, action_form: FormState | None = None,
    done: str | None = None,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        course = await courses.get_course(session=session, brand_id=brand_id, course_id=course_id)
        lessons = (await courses.lessons_of(session=session, course_ids={course.id}))[course.id]
    course_form = course_form or FormState(values={"title": course.title, "summary": course.summary})
    lesson_form = lesson_form or FormState(values={"minutes": "5"})
    lesson_form.values.setdefault("form_key", new_key())
    action_form = action_form or FormState()
    status = max(course_form.status_code, lesson_form.status_code, action_form.status_code)
    return render(
        request, visitor, "console_course.html", status_code=status, staff=staff, brand=staff.brand, tab="academy",
        section="courses", course=course, lessons=lessons, course_form=course_form, lesson_form=lesson_form,
        action_form=action_form, status_text=STATUS_TEXT, done=DONE.get(done or ""),
    )


@router.get("/brands/{brand_id}/console/academy/courses/{course_id}")
async def course_page(
    request: Request, brand_id: IdPath, course_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Done = None
) -> Response:
    return await render_course(request, visitor, ctx, brand_id, course_id, done=done)


@router.post("/brands/{brand_id}/console/academy/courses/{course_id}")
async def save_course(
    request: Request, brand_id: IdPath, course_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, title: Text = "",
    summary: Text = "",
) -> Response:
    user_id = poster_id(visitor, academy_path(brand_id, f"/courses/{course_id}"))
    form = FormState(values={"title": title, "summary": summary})
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await courses.update_course(session=session, brand_id=brand_id, course_id=course_id, title=title,
                                        summary=summary, now=ctx.clock.now())
    except DomainError as exc:
        if page_refusal(exc) or exc.status_code == 404:
            raise
        form.refuse(exc, COURSE_FIELDS.get(exc.code, "title"))
        return await render_course(request, visitor, ctx, brand_id, course_id, course_form=form)
    return RedirectResponse(academy_path(brand_id, f"/courses/{course_id}?done=saved"), status_code=303)


@router.post("/brands/{brand_id}/console/academy/courses/{course_id}/status")
async def course_status(
    request: Request, brand_id: IdPath, course_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    status: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    user_id = poster_id(visitor, academy_path(brand_id, f"/courses/{course_id}"))
    action = FormState()
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            if status not in courses.STATUSES:
                raise InvalidInput("课程状态只能是草稿或已发布", code="course_status_invalid")
            change = courses.publish_course if status == "published" else courses.unpublish_course
            await change(session=session, brand_id=brand_id, course_id=course_id, now=ctx.clock.now())
    except DomainError as exc:
        if page_refusal(exc) or exc.status_code == 404:
            raise
        action.refuse(exc, "status")
        return await render_course(request, visitor, ctx, brand_id, course_id, action_form=action)
    return RedirectResponse(academy_path(brand_id, f"/courses/{course_id}?done={status}"), status_code=303)


@router.post("/brands/{brand_id}/console/academy/courses/{course_id}/lessons")
async def add_lesson(
    request: Request, brand_id: IdPath, course_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, title: Text = "",
    body: Text = "", video_url: Text = "", minutes: Text = "", form_key: Text = "",
) -> Response:
    user_id = poster_id(visitor, academy_path(brand_id, f"/courses/{course_id}"))
    form = FormState(values={"title": title, "body": body, "video_url": video_url, "minutes": minutes, "form_key": form_key})
    result = academy_path(brand_id, f"/courses/{course_id}?done=lesson")
    try:
        data = lesson_input(title, body, video_url, minutes)
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await receipts.check(session, user_id=user_id, form_key=form_key)
            await courses.add_lesson(session=session, brand_id=brand_id, course_id=course_id, data=data, now=ctx.clock.now())
            await receipts.seal(session, user_id=user_id, form_key=form_key, result_path=result, now=ctx.clock.now())
    except receipts.AlreadySubmitted as already:
        return RedirectResponse(already.result_path, status_code=303)
    except DomainError as exc:
        if page_refusal(exc) or exc.status_code == 404:
            raise
        form.refuse(exc, LESSON_FIELDS.get(exc.code, "title"))
        return await render_course(request, visitor, ctx, brand_id, course_id, lesson_form=form)
    return RedirectResponse(result, status_code=303)
