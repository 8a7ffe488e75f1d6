"""The brand console: 推送 — every push with its channel, recipient or group, state (待发送, 已发送, 发送失败 and why,
已暂扣 with the share that held it, 跳过：已静音 …), attempts and times in the brand's time; 放行 / 丢弃 for what the
70/30 guideline held; the brand's own WeCom robot.

The same checks and service calls as the API (`notifications.pushes_api`, `community.api`): `brands.require_staff`,
`pushes.list_pushes`, `group_pushes.release` / `discard` (judged again: a release still over the ceiling is refused
beside its button, 409), `robots.set_brand_robot`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.community import group_pushes
from linli.community import service as community
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.notifications import pushes, robots
from linli.notifications.channels import CHANNEL_TEXT
from linli.pagination import PageParams
from linli.web.console import staff_view
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

PAGE_SIZE = 30
FILTERS = (("", "全部"), ("pending", "待发送"), ("held", "已暂扣"), ("failed", "发送失败"), ("sent", "已发送"),
           ("skipped", "已跳过"), ("discarded", "已丢弃"))
StateQuery = Annotated[str, Query(max_length=16)]
PageQuery = Annotated[int, Query(ge=1, le=100_000)]
UrlText = Annotated[str, Form(max_length=600)]


async def render_pushes(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, *, state: str = "", page: int = 1,
    form: FormState | None = None, refused: int | None = None, notice: str = "",
) -> Response:
    """The list; `form` carries a refusal: beside push `refused`'s buttons, or beside the robot field."""
    form = form or FormState()
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        rows, total = await pushes.list_pushes(
            session=session, brand_id=brand_id, state=state or None, params=PageParams(page=page, page_size=PAGE_SIZE)
        )
        recipients = await pushes.recipient_labels(session=session, rows=rows)
        group_ids = {r.content.group_id for r in rows if r.content.group_id}
        groups = await community.groups_by_ids(session=session, group_ids=group_ids)
        counts = await pushes.state_counts(session=session, brand_id=brand_id)
        robot = await robots.brand_robot(session=session, brand_id=brand_id)
    return render(
        request, visitor, "console_pushes.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="pushes", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)), state=state,
        filters=FILTERS, counts=counts, recipients=recipients, groups=groups,
        channel_text=CHANNEL_TEXT, state_text=pushes.STATE_TEXT, tag_text=pushes.TAG_TEXT, form=form, refused=refused,
        blank=FormState(), robot=robots.mask_webhook(robot.webhook_url if robot else None), notice=notice,
    )


@router.get("/brands/{brand_id}/console/pushes")
async def pushes_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, state: StateQuery = "", page: PageQuery = 1,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    notice = {"released": "已放行，推送将由后台发出", "discarded": "已丢弃该推送", "robot": "品牌群机器人已保存"}.get(done, "")
    try:
        pushes.check_state_filter(state or None)
    except DomainError as exc:
        form = FormState()
        form.refuse(exc, "state")
        return await render_pushes(request, visitor, ctx, brand_id, form=form)
    return await render_pushes(request, visitor, ctx, brand_id, state=state, page=page, notice=notice)


async def _decide(
    request: Request, ctx: AppContext, visitor: Visitor, brand_id: int, push_id: int, action: str
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/console/pushes")
    decide = group_pushes.release if action == "release" else group_pushes.discard
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            await decide(session=session, brand_id=brand_id, push_id=push_id, actor_user_id=user_id_of(visitor),
                         now=ctx.clock.now())
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        form = FormState()
        form.refuse(exc, "decision")
        return await render_pushes(request, visitor, ctx, brand_id, state="held", form=form, refused=push_id)
    done = "released" if action == "release" else "discarded"
    return RedirectResponse(f"/brands/{brand_id}/console/pushes?state=held&done={done}", status_code=303)


@router.post("/brands/{brand_id}/console/pushes/{push_id}/release")
async def release(request: Request, brand_id: IdPath, push_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    return await _decide(request, ctx, visitor, brand_id, push_id, "release")


@router.post("/brands/{brand_id}/console/pushes/{push_id}/discard")
async def discard(request: Request, brand_id: IdPath, push_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    return await _decide(request, ctx, visitor, brand_id, push_id, "discard")


@router.post("/brands/{brand_id}/console/push-settings")
async def save_robot(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, wecom_webhook_url: UrlText = ""
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/console/pushes")
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            await robots.set_brand_robot(
                session=session, brand_id=brand_id, url=wecom_webhook_url, policy=robots.WebhookPolicy.of(ctx.settings),
                now=ctx.clock.now(),
            )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        form = FormState(values={"wecom_webhook_url": wecom_webhook_url.strip()})
        form.refuse(exc, "wecom_webhook_url")
        return await render_pushes(request, visitor, ctx, brand_id, form=form)
    return RedirectResponse(f"/brands/{brand_id}/console/pushes?done=robot", status_code=303)
