"""The brand console, 绑定规则: the brand's binding policy, shown and changed as `GET/PUT
/api/v1/brands/{b}/binding-policy` do for staff — any staff member of the brand may change it (the API does not
restrict it to the owner), through `attribution.update_policy`, whose refusals are shown beside their field.
A change applies to future entries only: existing bindings keep the terms they were made with.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.attribution import service as attribution
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.web.console import staff_view
from linli.web.console_leaders import require_signed_in
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

MODE_TEXT = {
    "permanent": "永久绑定：首次通过邀请码进入即绑定，之后不再改变",
    "validity": "有效期绑定：绑定在有效期内有效，购买顺延，到期后可被新团长绑定",
    "last_touch": "最后触达：通过新团长的邀请码进入即改绑（保护期内除外）",
}
FIELD_OF_CODE = {
    "binding_mode_invalid": "mode", "validity_days_invalid": "validity_days", "protection_days_invalid": "protection_days",
}
DAYS = re.compile(r"^\d{1,6}$")
DaysText = Annotated[str, Form(max_length=16)]


def _values_of(policy: attribution.Policy) -> dict[str, str]:
    return {
        "mode": policy.mode, "validity_days": str(policy.validity_days), "protection_days": str(policy.protection_days),
        "only_new_members": "1" if policy.only_new_members else "",
    }


async def render_policy(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, *, form: FormState | None = None,
    saved: bool = False,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        policy = await attribution.get_policy(session=session, brand_id=brand_id)
    return render(
        request, visitor, "console_binding_policy.html", status_code=form.status_code if form else 200, staff=staff,
        brand=staff.brand, tab="leaders", section="policy", policy=policy,
        form=form or FormState(values=_values_of(policy)), mode_text=MODE_TEXT, saved=saved,
    )


@router.get("/brands/{brand_id}/console/binding-policy")
async def policy_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, saved: Annotated[int, Query(ge=0, le=1)] = 0
) -> Response:
    return await render_policy(request, visitor, ctx, brand_id, saved=bool(saved))


def _days(form: FormState, name: str, message: str) -> int:
    """A whole number of days as typed; anything else is refused with the service's message for that field."""
    text = form.values[name]
    if not DAYS.match(text):
        raise InvalidInput(message, code=f"{name}_invalid")
    return int(text)


@router.post("/brands/{brand_id}/console/binding-policy")
async def save_policy(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    mode: Annotated[str, Form(max_length=16)] = "", validity_days: DaysText = "", protection_days: DaysText = "",
    only_new_members: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    path = f"/brands/{brand_id}/console/binding-policy"
    require_signed_in(visitor, path)
    form = FormState(values={
        "mode": mode, "validity_days": validity_days.strip(), "protection_days": protection_days.strip(),
        "only_new_members": "1" if only_new_members else "",
    })
    try:
        async with ctx.db.transaction() as session:
            user_id = user_id_of(visitor)
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await attribution.update_policy(
                session=session, brand_id=brand_id, mode=mode,
                validity_days=_days(form, "validity_days", "绑定有效期须在 1 到 3650 天之间"),
                protection_days=_days(form, "protection_days", "保护期须在 0 到 3650 天之间"),
                only_new_members=bool(only_new_members), actor_user_id=user_id, now=ctx.clock.now(),
            )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        form.refuse(exc, FIELD_OF_CODE.get(exc.code, "mode"))
        return await render_policy(request, visitor, ctx, brand_id, form=form)
    return RedirectResponse(f"{path}?saved=1", status_code=303)
