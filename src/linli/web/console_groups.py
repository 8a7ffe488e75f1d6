"""The brand console: 社区群 — every community with its group (or 「建群」), and one group's page: its name, join
link, WeCom robot and 70/30 ceiling, the commerce share of its last N messages, a form to push to it, and its pushes.

The same checks and service calls as the API (`community.api`): `brands.require_staff`, `community.create_group`,
`update_group`, `group_pushes.enqueue_for_group`. The push form carries the dedupe key the page made when it
rendered, so a double submit pushes once; creating a group that exists leads to it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.community import balance, group_pushes
from linli.community import service as community
from linli.context import AppContext
from linli.errors import Conflict, DomainError, InvalidInput
from linli.http import Ctx
from linli.notifications import pushes, robots
from linli.notifications.channels import CHANNEL_TEXT
from linli.pagination import PageParams
from linli.web import forms, receipts
from linli.web.console import staff_view
from linli.web.console_commission import PERCENT
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

PAGE_SIZE = 50
RECENT_PUSHES = PageParams(page=1, page_size=20)
PageQuery = Annotated[int, Query(ge=1, le=100_000)]
ShortText = Annotated[str, Form(max_length=100)]
UrlText = Annotated[str, Form(max_length=600)]
BodyText = Annotated[str, Form(max_length=4000)]
# Where a refusal of `update_group` is shown.
GROUP_FIELDS = {
    "group_name_invalid": "name", "join_url_invalid": "join_url", "webhook_url_invalid": "wecom_webhook_url",
    "webhook_in_use": "wecom_webhook_url", "commerce_ceiling_invalid": "ceiling", "group_window_invalid": "window",
}
PUSH_FIELDS = {"push_title_invalid": "title", "push_tag_invalid": "tag", "push_link_invalid": "link"}


def ceiling_bp_of(text: str) -> int:
    """The ceiling as typed ("30", "30%", "12.5") in basis points, exactly."""
    found = PERCENT.match(text.strip().replace("％", "%"))
    if found is None:
        raise InvalidInput("商业内容上限请填百分比，如 30（最多两位小数）", code="commerce_ceiling_invalid")
    return int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0"))


def _back(brand_id: int) -> str:
    return f"/brands/{brand_id}/console/groups"


@router.get("/brands/{brand_id}/console/groups")
async def groups_page(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, page: PageQuery = 1) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        rows, total = await community.list_groups(session=session, brand_id=brand_id,
                                                  params=PageParams(page=page, page_size=PAGE_SIZE))
    return render(
        request, visitor, "console_groups.html", staff=staff, brand=staff.brand, tab="groups", rows=rows, total=total,
        page=page, pages=max(1, -(-total // PAGE_SIZE)),
    )


@router.post("/brands/{brand_id}/console/groups")
async def create_group(
    brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, community_id: Annotated[int, Form(ge=1, le=2**63 - 1)]
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(_back(brand_id))
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            group = await community.create_group(session=session, brand_id=brand_id, community_id=community_id,
                                                 now=ctx.clock.now())
            group_id = group.id
    except Conflict:  # a second click: the group is there already, go to it
        async with ctx.db.read() as session:
            existing = await community.group_of_community(session=session, community_id=community_id)
        if existing is None or existing.brand_id != brand_id:
            raise
        group_id = existing.id
    return RedirectResponse(f"{_back(brand_id)}/{group_id}", status_code=303)


async def render_group(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, group_id: int, *,
    form: FormState | None = None, push_form: FormState | None = None, notice: str = "",
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        group = await community.get_group(session=session, brand_id=brand_id, group_id=group_id)
        place = await brands.get_community(session=session, brand_id=brand_id, community_id=group.community_id)
        robot = (await robots.get_robot(session=session, brand_id=brand_id, robot_id=group.robot_id)
                 if group.robot_id else None)
        share = await balance.current_share(session=session, group=group)
        invited = await community.invited_count(session=session, group_id=group.id)
        rows, _ = await pushes.list_pushes(session=session, brand_id=brand_id, state=None, group_id=group.id,
                                           params=RECENT_PUSHES)
    if form is None:
        form = FormState(values={
            "name": group.name, "join_url": group.join_url or "",
            "ceiling": balance.percent(group.commerce_ceiling_bp).rstrip("%"), "window": str(group.window_messages),
        })
    push_form = push_form or FormState(values={"tag": "value"})
    push_form.values.setdefault("dedupe_key", forms.new_key())
    status = max(form.status_code, push_form.status_code)
    return render(
        request, visitor, "console_group.html", status_code=status, staff=staff, brand=staff.brand, tab="groups",
        group=group, place=place, robot=robots.mask_webhook(robot.webhook_url if robot else None), share=share,
        invited=invited, rows=rows, form=form, push_form=push_form, notice=notice, tag_text=pushes.TAG_TEXT,
        state_text=pushes.STATE_TEXT, channel_text=CHANNEL_TEXT, percent=balance.percent,
    )


@router.get("/brands/{brand_id}/console/groups/{group_id}")
async def group_page(
    request: Request, brand_id: IdPath, group_id: IdPath, visitor: SignedIn, ctx: Ctx,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    notice = {"saved": "已保存", "pushed": "已加入推送队列，后台将按渠道发出", "held": "超过 70/30 上限，这条商业内容已暂扣，可在「推送」里放行或丢弃"}.get(done, "")
    return await render_group(request, visitor, ctx, brand_id, group_id, notice=notice)


@router.post("/brands/{brand_id}/console/groups/{group_id}")
async def save_group(
    request: Request, brand_id: IdPath, group_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, name: ShortText = "",
    join_url: UrlText = "", wecom_webhook_url: UrlText = "", remove_robot: ShortText = "", ceiling: ShortText = "",
    window: ShortText = "",
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"{_back(brand_id)}/{group_id}")
    form = FormState(values={
        "name": name.strip(), "join_url": join_url.strip(), "wecom_webhook_url": wecom_webhook_url.strip(),
        "ceiling": ceiling.strip(), "window": window.strip(),
    })
    try:
        ceiling_bp = ceiling_bp_of(ceiling)
        window_n = forms.count_of(window, label="计算占比的消息条数", code="group_window_invalid")
        robot_url = "" if remove_robot else (wecom_webhook_url.strip() or None)  # empty: keep the robot as it is
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            await community.update_group(
                session=session, brand_id=brand_id, group_id=group_id,
                patch=community.GroupPatch(name=name, join_url=join_url, webhook_url=robot_url,
                                           commerce_ceiling_bp=ceiling_bp, window_messages=window_n),
                policy=robots.WebhookPolicy.of(ctx.settings), now=ctx.clock.now(),
            )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        form.refuse(exc, GROUP_FIELDS.get(exc.code, "name"))
        return await render_group(request, visitor, ctx, brand_id, group_id, form=form)
    return RedirectResponse(f"{_back(brand_id)}/{group_id}?done=saved", status_code=303)


@router.post("/brands/{brand_id}/console/groups/{group_id}/pushes")
async def push_to_group(
    request: Request, brand_id: IdPath, group_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, title: ShortText = "",
    body: BodyText = "", tag: ShortText = "", link: UrlText = "", dedupe_key: ShortText = "",
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"{_back(brand_id)}/{group_id}")
    push_form = FormState(values={"title": title.strip(), "body": body.strip(), "tag": tag, "link": link.strip(),
                                  "dedupe_key": dedupe_key})
    try:
        if not receipts.usable(dedupe_key):
            raise InvalidInput("页面已过期，请刷新后重试", code="push_dedupe_key_invalid")
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            done = await group_pushes.enqueue_for_group(
                session=session, brand_id=brand_id, group_id=group_id, title=title, body=body, tag=tag,
                kind="group_post", link=link or None, dedupe_key=f"console:{user_id_of(visitor)}:{dedupe_key}",
                now=ctx.clock.now(), base_url=ctx.settings.public_base_url, created_by_user_id=user_id_of(visitor),
            )
            held = done.held
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        push_form.refuse(exc, PUSH_FIELDS.get(exc.code, "body"))
        return await render_group(request, visitor, ctx, brand_id, group_id, push_form=push_form)
    return RedirectResponse(f"{_back(brand_id)}/{group_id}?done={'held' if held else 'pushed'}", status_code=303)
