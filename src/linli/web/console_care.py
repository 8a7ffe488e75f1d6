"""The brand console: 营销 · 自动关怀 — the birthday greeting (on/off, its coupon, its text), the brand's holidays
(a date every year, or this year's date of a lunar one) and how many members each greeted this year; staff see how
many members gave a birthday, never whose.

The same checks and service calls as `marketing/care_api.py`: `brands.require_staff`, then `care.*`. A refusal is
shown beside its field with what was typed kept.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.coupons import templates
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.marketing import care
from linli.web.console import staff_view
from linli.web.console_products import console_path, page_refusal, poster_id
from linli.web.forms import count_of
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor

router = APIRouter()

Text = Annotated[str, Form(max_length=600)]
Done = Annotated[str | None, Query(max_length=16)]
DONE = {"birthday": "生日关怀已保存", "holiday": "节日已添加", "toggled": "节日已更新"}
FIELDS = {"care_greeting_invalid": "greeting", "coupon_template_not_found": "coupon_template_id",
          "care_name_invalid": "name", "care_holiday_limit": "name", "care_date_invalid": "month"}


def care_path(brand_id: int, done: str | None = None) -> str:
    return console_path(brand_id, "marketing/care") + (f"?done={done}" if done else "")


def _template_id(text: str) -> int | None:
    return count_of(text, label="优惠券", code="coupon_template_not_found") if text.strip() else None


def _date_part(text: str, label: str) -> int:
    return count_of(text, label=label, code="care_date_invalid")


async def render_care(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, *, birthday_form: FormState | None = None,
    holiday_form: FormState | None = None, done: str | None = None,
) -> Response:
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        birthday = await care.birthday_settings(session=session, brand_id=brand_id, now=now)
        holidays = await care.list_holidays(session=session, brand_id=brand_id)
        year = now.astimezone(ZoneInfo(staff.brand.timezone)).year
        counts = await care.delivery_counts(session=session, brand_id=brand_id, year=year)
        with_birthday = await care.birthday_count(session=session, brand_id=brand_id)
        coupon_templates = await templates.active_templates(session=session, brand_id=brand_id)
    if birthday_form is None:
        birthday_form = FormState(values={
            "greeting": birthday.greeting, "enabled": "1" if birthday.enabled else "",
            "coupon_template_id": str(birthday.coupon_template_id or ""),
        })
    holiday_form = holiday_form or FormState(values={"greeting": "{品牌}祝{昵称}节日快乐！", "enabled": "1"})
    status = max(birthday_form.status_code, holiday_form.status_code)
    return render(
        request, visitor, "console_care.html", status_code=status, staff=staff, brand=staff.brand, tab="marketing",
        section="care", birthday=birthday, holidays=holidays, counts=counts, year=year, with_birthday=with_birthday,
        coupon_templates=coupon_templates, birthday_form=birthday_form, holiday_form=holiday_form,
        done=DONE.get(done or ""),
    )


@router.get("/brands/{brand_id}/console/marketing/care")
async def care_page(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Done = None) -> Response:
    return await render_care(request, visitor, ctx, brand_id, done=done)


@router.post("/brands/{brand_id}/console/marketing/care/birthday")
async def save_birthday(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, greeting: Text = "",
    coupon_template_id: Text = "", enabled: Text = "",
) -> Response:
    user_id = poster_id(visitor, care_path(brand_id))
    form = FormState(values={"greeting": greeting, "coupon_template_id": coupon_template_id, "enabled": enabled})
    try:
        data = care.OccasionInput(greeting=greeting, coupon_template_id=_template_id(coupon_template_id),
                                  enabled=bool(enabled))
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await care.update_birthday_occasion(session=session, brand_id=brand_id, data=data, now=ctx.clock.now())
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, FIELDS.get(exc.code, "greeting"))
        return await render_care(request, visitor, ctx, brand_id, birthday_form=form)
    return RedirectResponse(care_path(brand_id, "birthday"), status_code=303)


@router.post("/brands/{brand_id}/console/marketing/care/holidays")
async def add_holiday(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, name: Text = "", month: Text = "",
    day: Text = "", year: Text = "", greeting: Text = "", coupon_template_id: Text = "", enabled: Text = "",
) -> Response:
    user_id = poster_id(visitor, care_path(brand_id))
    form = FormState(values={"name": name, "month": month, "day": day, "year": year, "greeting": greeting,
                             "coupon_template_id": coupon_template_id, "enabled": enabled})
    try:
        data = care.OccasionInput(
            name=name, month=_date_part(month, "月"), day=_date_part(day, "日"),
            year=_date_part(year, "年份") if year.strip() else None, greeting=greeting,
            coupon_template_id=_template_id(coupon_template_id), enabled=bool(enabled),
        )
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await care.create_holiday(session=session, brand_id=brand_id, data=data, now=ctx.clock.now())
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, FIELDS.get(exc.code, "name"))
        return await render_care(request, visitor, ctx, brand_id, holiday_form=form)
    return RedirectResponse(care_path(brand_id, "holiday"), status_code=303)


@router.post("/brands/{brand_id}/console/marketing/care/holidays/{occasion_id}/enabled")
async def toggle_holiday(
    brand_id: IdPath, occasion_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, enabled: Text = "",
) -> Response:
    """启用 / 停用 one holiday; sent twice, the same."""
    user_id = poster_id(visitor, care_path(brand_id))
    if enabled not in ("", "1"):
        raise InvalidInput("启用状态无效", code="care_enabled_invalid")
    async with ctx.db.transaction() as session:
        await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
        await care.set_holiday_enabled(session=session, brand_id=brand_id, occasion_id=occasion_id,
                                       enabled=enabled == "1", now=ctx.clock.now())
    return RedirectResponse(care_path(brand_id, "toggled"), status_code=303)
