"""The brand console: 营销 · 兴趣小组 — the brand's interest groups (a rule over members' purchases, its members
found by the worker at once and daily at 03:30), a form to create one, a group's page with its rule, its members
(phones masked) and 立即重算 / 停用.

The same checks and service calls as `marketing/interests_api.py`: `brands.require_staff`, then `interests.*`. The
form is typed in people's units (percent, yuan) and turned into the rule's (basis points, fen) here; a refusal is
shown beside its field with what was typed kept; a new group is created once however often the form is sent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.catalog import service as catalog
from linli.context import AppContext
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.marketing import interests
from linli.pagination import PageParams
from linli.web import receipts
from linli.web.console import staff_view
from linli.web.console_products import console_path, page_refusal, poster_id
from linli.web.forms import count_of, fen_of, new_key
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor

router = APIRouter()

Text = Annotated[str, Form(max_length=300)]
Done = Annotated[str | None, Query(max_length=16)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
MEMBERS_PAGE = 50
DONE = {"created": "兴趣小组已创建，成员稍后算出", "recomputed": "已按规则重算成员", "archived": "兴趣小组已停用",
        "pushed": "已加入推送队列，稍后送达每位成员的站内信"}
PUSH_FIELDS = {"push_title_invalid": "title", "push_body_invalid": "body", "push_tag_invalid": "tag"}
FIELDS = {
    "interest_group_name_invalid": "name", "interest_group_name_taken": "name", "interest_group_limit": "name",
    "interest_group_description_invalid": "description", "interest_focus_invalid": "category_ids",
    "interest_focus_not_found": "category_ids", "interest_window_invalid": "window_days",
    "interest_share_invalid": "share_percent", "interest_orders_invalid": "min_focus_orders",
    "interest_spend_invalid": "min_focus_yuan", "amount_invalid": "min_focus_yuan",
}


def groups_path(brand_id: int, done: str | None = None) -> str:
    return console_path(brand_id, "marketing/interest-groups") + (f"?done={done}" if done else "")


def share_bp_of(text: str) -> int:
    """"30" or "12.5" (percent, at most two decimals) as basis points."""
    value = text.strip().rstrip("%")
    whole, _, fraction = value.partition(".")
    if not whole.isdigit() or (fraction and (not fraction.isdigit() or len(fraction) > 2)):
        raise InvalidInput("消费占比须为 0 到 100 之间的数，最多两位小数", code="interest_share_invalid")
    return int(whole) * 100 + int(fraction.ljust(2, "0") or 0)


def group_input(form: FormState, category_ids: list[int]) -> interests.GroupInput:
    values = form.values
    return interests.GroupInput(
        name=values["name"], description=values["description"], category_ids=category_ids,
        window_days=count_of(values["window_days"], label="统计天数", code="interest_window_invalid"),
        min_share_bp=share_bp_of(values["share_percent"]),
        min_focus_fen=fen_of(values["min_focus_yuan"] or "0", what="最低消费金额", code="interest_spend_invalid"),
        min_focus_orders=count_of(values["min_focus_orders"], label="最少订单数", code="interest_orders_invalid"),
    )


async def render_groups(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState, done: str | None = None,
    chosen: list[int] | None = None,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        views = await interests.group_views(session=session, groups=await interests.list_groups(session=session, brand_id=brand_id))
        categories = await catalog.list_categories(session=session, brand_id=brand_id)
    for name, value in (("window_days", "90"), ("share_percent", "30"), ("min_focus_orders", "1"), ("min_focus_yuan", "")):
        form.values.setdefault(name, value)
    form.values.setdefault("form_key", new_key())
    return render(
        request, visitor, "console_interests.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="marketing", section="interests", form=form, groups=views, categories=categories, chosen=chosen or [],
        done=DONE.get(done or ""),
    )


@router.get("/brands/{brand_id}/console/marketing/interest-groups")
async def groups_page(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Done = None) -> Response:
    return await render_groups(request, visitor, ctx, brand_id, FormState(), done)


@router.post("/brands/{brand_id}/console/marketing/interest-groups")
async def create_group(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, name: Text = "", description: Text = "",
    category_ids: Annotated[list[int], Form(max_length=100)] = [],  # noqa: B006 - FastAPI copies defaults
    window_days: Text = "", share_percent: Text = "", min_focus_orders: Text = "", min_focus_yuan: Text = "",
    form_key: Text = "",
) -> Response:
    user_id = poster_id(visitor, groups_path(brand_id))
    form = FormState(values={
        "name": name, "description": description, "window_days": window_days, "share_percent": share_percent,
        "min_focus_orders": min_focus_orders, "min_focus_yuan": min_focus_yuan, "form_key": form_key,
    })
    try:
        data = group_input(form, category_ids)
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await receipts.check(session, user_id=user_id, form_key=form_key)
            await interests.create_group(session=session, brand_id=brand_id, data=data, now=ctx.clock.now())
            await receipts.seal(session, user_id=user_id, form_key=form_key, now=ctx.clock.now(), result_path=groups_path(brand_id, "created"))
    except receipts.AlreadySubmitted as done:
        return RedirectResponse(done.result_path, status_code=303)
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, FIELDS.get(exc.code, "name"))
        return await render_groups(request, visitor, ctx, brand_id, form, chosen=category_ids)
    return RedirectResponse(groups_path(brand_id, "created"), status_code=303)


async def render_group(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, interest_group_id: int, form: FormState, *,
    done: str | None = None, page: int = 1,
) -> Response:
    params = PageParams(page=page, page_size=MEMBERS_PAGE)
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        group, rows, total = await interests.group_members(
            session=session, brand_id=brand_id, group_id=interest_group_id, params=params
        )
        [view] = await interests.group_views(session=session, groups=[group])
        cards = await interests.member_cards(session=session, rows=rows)
    form.values.setdefault("form_key", new_key())  # 推送 sends once however often the form is sent
    form.values.setdefault("tag", "value")
    return render(
        request, visitor, "console_interest_group.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="marketing", section="interests", view=view, members=cards, total=total, page=page,
        pages=max(1, -(-total // MEMBERS_PAGE)), done=DONE.get(done or ""), form=form,
    )


@router.get("/brands/{brand_id}/console/marketing/interest-groups/{interest_group_id}")
async def group_page(
    request: Request, brand_id: IdPath, interest_group_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Done = None,
    page: PageNumber = 1,
) -> Response:
    return await render_group(request, visitor, ctx, brand_id, interest_group_id, FormState(), done=done, page=page)


@router.post("/brands/{brand_id}/console/marketing/interest-groups/{interest_group_id}/pushes")
async def push_to_group(
    request: Request, brand_id: IdPath, interest_group_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, title: Text = "",
    body: Annotated[str, Form(max_length=5000)] = "", tag: Text = "", form_key: Text = "",
) -> Response:
    """`interests.push_to_group` as `POST …/interest-groups/{id}/pushes`, the form's key as its idempotency key."""
    user_id = poster_id(visitor, groups_path(brand_id))
    form = FormState(values={"title": title, "body": body, "tag": tag, "form_key": form_key})
    try:
        if not form_key.startswith("web-"):
            raise InvalidInput("页面已过期，请刷新后再推送", code="form_key_invalid")
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await interests.push_to_group(
                session=session, brand_id=brand_id, group_id=interest_group_id, title=title, body=body, tag=tag,
                dedupe_key=f"interest_group:{interest_group_id}:{form_key[:64]}", base_url=ctx.settings.public_base_url,
                now=ctx.clock.now(), actor_user_id=user_id,
            )
    except DomainError as exc:
        if page_refusal(exc) or exc.code == "interest_group_not_found":
            raise
        form.refuse(exc, PUSH_FIELDS.get(exc.code, "push"))
        return await render_group(request, visitor, ctx, brand_id, interest_group_id, form)
    return RedirectResponse(f"{groups_path(brand_id)}/{interest_group_id}?done=pushed", status_code=303)


async def _act(brand_id: int, group_id: int, visitor: Visitor, ctx: AppContext, *, archive: bool) -> Response:
    user_id = poster_id(visitor, groups_path(brand_id))
    async with ctx.db.transaction() as session:
        await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
        if archive:
            await interests.archive_group(session=session, brand_id=brand_id, group_id=group_id, now=ctx.clock.now())
        else:
            group = await interests.get_group(session=session, brand_id=brand_id, group_id=group_id, for_update=True)
            await interests.recompute_group(session=session, group=group, as_of=ctx.clock.now())
    done = "archived" if archive else "recomputed"
    return RedirectResponse(f"{groups_path(brand_id)}/{group_id}?done={done}", status_code=303)


@router.post("/brands/{brand_id}/console/marketing/interest-groups/{interest_group_id}/recompute")
async def recompute(brand_id: IdPath, interest_group_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    """立即重算: the members as the rule finds them now (the daily run does the same at 03:30)."""
    return await _act(brand_id, interest_group_id, visitor, ctx, archive=False)


@router.post("/brands/{brand_id}/console/marketing/interest-groups/{interest_group_id}/archive")
async def archive(brand_id: IdPath, interest_group_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    """停用: the group targets nobody from now on; sent twice, the same."""
    return await _act(brand_id, interest_group_id, visitor, ctx, archive=True)
