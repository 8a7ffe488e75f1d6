"""The brand console: 营销 · 话术模板 (the brand's 预告话术 templates, with their placeholders) and a session's
直播作战包 (the template its kits use, the cover drawn on its posters, every leader's kit and its version).

The same checks and service calls as `marketing/api.py`: `brands.require_staff`, then `marketing.*`. A template
with an unknown placeholder is refused beside the text, what was typed kept, nothing written. A new template
creates once however often the form is sent (`receipts`). The kits are remade by the worker after each change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from linli import images
from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.live import service as live
from linli.marketing import copy
from linli.marketing import service as marketing
from linli.pagination import PageParams
from linli.web import receipts
from linli.web.console import staff_view
from linli.web.console_products import console_path, page_refusal, poster_id
from linli.web.forms import new_key
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor

router = APIRouter()

Text = Annotated[str, Form(max_length=5000)]
Done = Annotated[str | None, Query(max_length=16)]
KITS_SHOWN = PageParams(page=1, page_size=200)
DONE = {"created": "话术模板已创建", "saved": "话术模板已保存", "template": "本场话术已选定，作战包稍后更新",
        "cover": "海报封面已上传，作战包稍后更新"}
TEMPLATE_FIELDS = {"copy_template_name_invalid": "name", "copy_template_limit": "name"}


def templates_path(brand_id: int, done: str | None = None) -> str:
    return console_path(brand_id, "marketing") + (f"?done={done}" if done else "")


def kits_path(brand_id: int, session_id: int, done: str | None = None) -> str:
    return console_path(brand_id, f"sessions/{session_id}/kits") + (f"?done={done}" if done else "")


async def render_templates(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState, done: str | None = None,
    editing: int | None = None,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        rows = await marketing.list_templates(session=session, brand_id=brand_id)
    # A refused edit shows beside its own template; the new-template form then starts empty.
    new_form = form if editing is None else FormState()
    new_form.values.setdefault("form_key", new_key())
    return render(
        request, visitor, "console_templates.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="marketing", form=form, new_form=new_form, templates=rows, placeholders=copy.PLACEHOLDERS, done=DONE.get(done or ""),
        editing=editing, default_body=copy.DEFAULT_TEMPLATE_BODY,
    )


@router.get("/brands/{brand_id}/console/marketing")
async def templates_page(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Done = None) -> Response:
    return await render_templates(request, visitor, ctx, brand_id, FormState(), done)


@router.post("/brands/{brand_id}/console/marketing/templates")
async def create_template(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, name: Text = "", body: Text = "",
    is_default: Annotated[str, Form(max_length=8)] = "", form_key: Text = "",
) -> Response:
    user_id = poster_id(visitor, templates_path(brand_id))
    form = FormState(values={"name": name, "body": body, "is_default": is_default, "form_key": form_key})
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await receipts.check(session, user_id=user_id, form_key=form_key)
            await marketing.create_template(
                session=session, brand_id=brand_id, name=name, body=body, is_default=bool(is_default), now=ctx.clock.now()
            )
            await receipts.seal(
                session, user_id=user_id, form_key=form_key, now=ctx.clock.now(), result_path=templates_path(brand_id, "created")
            )
    except receipts.AlreadySubmitted as done:
        return RedirectResponse(done.result_path, status_code=303)
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, TEMPLATE_FIELDS.get(exc.code, "body"))
        return await render_templates(request, visitor, ctx, brand_id, form)
    return RedirectResponse(templates_path(brand_id, "created"), status_code=303)


@router.post("/brands/{brand_id}/console/marketing/templates/{copy_template_id}")
async def update_template(
    request: Request, brand_id: IdPath, copy_template_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, name: Text = "",
    body: Text = "", is_default: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    user_id = poster_id(visitor, templates_path(brand_id))
    form = FormState(values={"name": name, "body": body, "is_default": is_default})
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await marketing.update_template(
                session=session, brand_id=brand_id, template_id=copy_template_id, name=name, body=body,
                is_default=bool(is_default), now=ctx.clock.now(),
            )
    except DomainError as exc:
        if page_refusal(exc) or exc.code == "copy_template_not_found":
            raise
        form.refuse(exc, TEMPLATE_FIELDS.get(exc.code, "body"))
        return await render_templates(request, visitor, ctx, brand_id, form, editing=copy_template_id)
    return RedirectResponse(templates_path(brand_id, "saved"), status_code=303)


# --- a session's kits ----------------------------------------------------------------------------------------


async def render_kits(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, session_id: int, form: FormState,
    done: str | None = None,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        current = await live.get_brand_session(session=session, brand_id=brand_id, session_id=session_id)
        settings = await marketing.campaign_settings(session=session, brand_id=brand_id, session_id=session_id)
        templates = await marketing.list_templates(session=session, brand_id=brand_id)
        kits, total = await marketing.session_kits(session=session, brand_id=brand_id, session_id=session_id, params=KITS_SHOWN)
    return render(
        request, visitor, "console_kits.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="sessions", form=form, live=current, settings=settings, templates=templates, kits=kits, total=total,
        done=DONE.get(done or ""), status_text=live.STATUS_TEXT, editable=current.status in ("scheduled", "live"),
        max_mb=images.MAX_PHOTO_BYTES // (1024 * 1024),
    )


@router.get("/brands/{brand_id}/console/sessions/{session_id}/kits")
async def kits_page(
    request: Request, brand_id: IdPath, session_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Done = None
) -> Response:
    return await render_kits(request, visitor, ctx, brand_id, session_id, FormState(), done)


@router.post("/brands/{brand_id}/console/sessions/{session_id}/kits/template")
async def choose_template(
    request: Request, brand_id: IdPath, session_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    copy_template_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    user_id = poster_id(visitor, kits_path(brand_id, session_id))
    form = FormState(values={"copy_template_id": str(copy_template_id or "")})
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await marketing.choose_template(
                session=session, brand_id=brand_id, session_id=session_id, template_id=copy_template_id, now=ctx.clock.now()
            )
    except DomainError as exc:
        if page_refusal(exc) or exc.code == "live_session_not_found":
            raise
        form.refuse(exc, "copy_template_id")
        return await render_kits(request, visitor, ctx, brand_id, session_id, form)
    return RedirectResponse(kits_path(brand_id, session_id, "template"), status_code=303)


@router.post("/brands/{brand_id}/console/sessions/{session_id}/kits/cover")
async def upload_cover(
    request: Request, brand_id: IdPath, session_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    cover: Annotated[UploadFile | None, File()] = None,
) -> Response:
    user_id = poster_id(visitor, kits_path(brand_id, session_id))
    form = FormState()
    data = await cover.read(images.MAX_PHOTO_BYTES + 1) if cover is not None else b""
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await marketing.set_cover(
                session=session, storage=ctx.storage, brand_id=brand_id, session_id=session_id, data=data, now=ctx.clock.now()
            )
    except DomainError as exc:
        if page_refusal(exc) or exc.code == "live_session_not_found":
            raise
        form.refuse(exc, "cover")
        return await render_kits(request, visitor, ctx, brand_id, session_id, form)
    return RedirectResponse(kits_path(brand_id, session_id, "cover"), status_code=303)
