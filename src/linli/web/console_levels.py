"""The brand console, 等级与权益: the brand's leader levels (threshold of bound members, the 成长中心 courses a level
requires, rights) and the invite grace hours, as `GET /api/v1/brands/{b}/leader-program` shows them to any staff; the
brand's owner changes them as `PUT …/leader-program` does (owner only), each level checked by the API's own schema
(`LevelIn`), then the service (which takes only this brand's published courses, none on the first level).

The form is one row per level (code, name, threshold, rights separated by 、 or commas, a tick per published course)
and one blank row to add a level; a row left blank is dropped. A tick is posted as `required_courses=<row>:<course>`.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from linli.academy import progress as academy_progress
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.leaders.api import OWNER
from linli.leaders.schemas import LevelIn
from linli.web.console import staff_view
from linli.web.console_leaders import require_signed_in
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

MAX_LEVELS = 10  # the API's ProgramIn allows as many
FIELDS = ("code", "name", "min_bound_members", "rights")
RIGHTS_SPLIT = re.compile(r"[、,，;；\n]+")
# What the API's schema refuses, said for the field a person typed it in.
FIELD_TEXT = {
    "code": "等级代码须以小写字母开头，只含小写字母、数字和下划线，最多 32 位",
    "name": "等级名称须为 1 到 16 个字",
    "min_bound_members": "门槛须为 0 到 10000000 之间的整数",
    "rights": "每项权益 1 到 32 个字，最多 20 项",
    "required_course_ids": "每级最多要求 10 门课程",
}
Texts = Annotated[list[str], Form()]


def _rows_of(program: leaders.Program) -> list[FormState]:
    return [
        FormState(values={
            "code": lv["code"], "name": lv["name"], "min_bound_members": str(lv["min_bound_members"]),
            "rights": "、".join(lv.get("rights", [])),
            "courses": ",".join(str(c) for c in leaders.required_courses(lv)),
        })
        for lv in program.levels
    ]


def _ticks(required: list[str]) -> dict[int, list[int]]:
    """`<row>:<course>` ticks by row (1 is the first row shown); anything else was not sent by the page."""
    ticked: dict[int, list[int]] = {}
    for value in required:
        found = re.fullmatch(r"(\d{1,2}):(\d{1,18})", value.strip())
        if found is not None and int(found.group(2)) not in ticked.setdefault(int(found.group(1)), []):
            ticked[int(found.group(1))].append(int(found.group(2)))
    return ticked


async def render_levels(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, *, rows: list[FormState] | None = None,
    form: FormState | None = None, saved: bool = False,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        program = await leaders.get_program(session=session, brand_id=brand_id)
        published = await academy_progress.published_courses(session=session, brand_id=brand_id)
    form = form or FormState(values={"invite_grace_hours": str(program.invite_grace_hours)})
    rows = rows if rows is not None else _rows_of(program)
    if len(rows) < MAX_LEVELS:
        rows = [*rows, FormState()]  # a blank row to add a level
    status = max([form.status_code, *(r.status_code for r in rows)])
    return render(
        request, visitor, "console_levels.html", status_code=status, staff=staff, brand=staff.brand, tab="leaders",
        section="levels", program=program, rows=rows, form=form, may_edit=staff.role in OWNER, saved=saved,
        courses=published, course_titles={c.id: c.title for c in published}, required=leaders.required_courses,
    )


@router.get("/brands/{brand_id}/console/leaders/levels")
async def levels_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, saved: Annotated[int, Query(ge=0, le=1)] = 0
) -> Response:
    return await render_levels(request, visitor, ctx, brand_id, saved=bool(saved))


def _parse(
    code: list[str], name: list[str], threshold: list[str], rights: list[str], grace: str, required: list[str]
) -> tuple[list[LevelIn] | None, list[FormState], FormState]:
    """The typed rows as the API's `LevelIn`s, or None with each problem beside its field."""
    form = FormState(values={"invite_grace_hours": grace.strip()})
    rows: list[FormState] = []
    levels: list[LevelIn] = []
    ticked = _ticks(required)
    for index, values in enumerate(zip(code, name, threshold, rights, strict=False), start=1):
        row = FormState(values=dict(zip(FIELDS, (v.strip() for v in values), strict=True)))
        if not any(row.values.values()):
            continue
        row.values["courses"] = ",".join(str(c) for c in ticked.get(index, []))
        rows.append(row)
        data = {
            "code": row.values["code"], "name": row.values["name"], "min_bound_members": row.values["min_bound_members"],
            "rights": [r.strip() for r in RIGHTS_SPLIT.split(row.values["rights"]) if r.strip()],
            "required_course_ids": ticked.get(index, []),
        }
        try:
            levels.append(LevelIn.model_validate(data))
        except ValidationError as exc:
            for error in exc.errors():
                row.errors.setdefault(str(error["loc"][0]), FIELD_TEXT.get(str(error["loc"][0]), "输入有误"))
            row.status_code = 422
    if not re.fullmatch(r"\d{1,4}", form.values["invite_grace_hours"]):
        form.errors["invite_grace_hours"] = "旧邀请码宽限期须在 0 到 2160 小时之间"
        form.status_code = 422
    if len(rows) > MAX_LEVELS:
        form.errors["levels"] = f"最多 {MAX_LEVELS} 个等级"
        form.status_code = 422
    if form.errors or any(r.errors for r in rows):
        return None, rows, form
    # What the schema leaves to the service (at least one level, thresholds, the grace hours' range) it refuses.
    return levels, rows, form


@router.post("/brands/{brand_id}/console/leaders/levels")
async def save_levels(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, code: Texts = [],  # noqa: B006
    name: Texts = [],  # noqa: B006
    min_bound_members: Texts = [],  # noqa: B006
    rights: Texts = [],  # noqa: B006
    required_courses: Texts = [],  # noqa: B006
    invite_grace_hours: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    path = f"/brands/{brand_id}/console/leaders/levels"
    require_signed_in(visitor, path)
    levels, rows, form = _parse(code, name, min_bound_members, rights, invite_grace_hours, required_courses)
    try:
        async with ctx.db.transaction() as session:
            # The owner check comes first: an operator is refused whatever was typed.
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor), roles=OWNER)
            if levels is not None:
                await leaders.update_program(
                    session=session, brand_id=brand_id, levels=[lv.model_dump() for lv in levels],
                    invite_grace_hours=int(form.values["invite_grace_hours"]), actor_user_id=user_id_of(visitor),
                    now=ctx.clock.now(),
                )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        form.refuse(exc, "invite_grace_hours" if exc.code == "grace_invalid" else "levels")
        return await render_levels(request, visitor, ctx, brand_id, rows=rows, form=form)
    if levels is None:
        return await render_levels(request, visitor, ctx, brand_id, rows=rows, form=form)
    return RedirectResponse(f"{path}?saved=1", status_code=303)
