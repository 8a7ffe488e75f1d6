"""The brand console's 优惠券 page, issuing: 手动发券 (phones typed one a line), 自动发券 rules (the welcome coupon of
a newly bound neighbour) and 发券活动 (a community's bound neighbours, or phones), through `coupons.issuing` as the
API. Each issuing form carries a key made when the page rendered: sent twice, it issues once, and the page then
says what the first submit had issued."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.coupons import issuing
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.web.console_coupons import Outcome, Text, back, render_coupons
from linli.web.console_products import console_path, page_refusal, poster_id
from linli.web.signin import FormState
from linli.web.visitor import CheckedVisitor

router = APIRouter()
ChosenId = Annotated[int | None, Form(ge=1, le=MAX_ID)]


def phones_of(text: str) -> list[str]:
    """Phones typed one a line (or separated by commas or spaces)."""
    return [p for p in text.replace(",", " ").replace("，", " ").split() if p]


def chosen(value: int | None) -> int:
    if value is None:
        raise InvalidInput("请选择优惠券", code="coupon_template_required")
    return value


@router.post("/brands/{brand_id}/console/coupons/issue")
async def issue_by_hand(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, issue_template_id: ChosenId = None,
    issue_phones: Text = "", issue_key: Text = "",
) -> Response:
    user_id = poster_id(visitor, console_path(brand_id, "coupons"))
    form = FormState(values={"issue_template_id": str(issue_template_id or ""), "issue_phones": issue_phones})
    field = "issue_template_id"
    try:
        template_id = chosen(issue_template_id)
        field = "issue_phones"
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            report = await issuing.issue_by_hand(
                session=session, brand_id=brand_id, template_id=template_id, member_ids=[],
                phones=phones_of(issue_phones), idempotency_key=issue_key, now=ctx.clock.now(),
            )
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, "issue_phones" if exc.code.startswith("coupon_recipients") else field)
        return await render_coupons(request, visitor, ctx, brand_id, form)
    outcome = Outcome("手动发券", issued=len(report.issued), already=len(report.already), skipped=report.skipped)
    return await render_coupons(request, visitor, ctx, brand_id, FormState(), outcome=outcome)


@router.post("/brands/{brand_id}/console/coupons/rules")
async def create_rule(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, rule_template_id: ChosenId = None,
) -> Response:
    """A second submit meets the rule the first made (这张券已设置了同样的自动发放规则, 409) and adds nothing."""
    user_id = poster_id(visitor, console_path(brand_id, "coupons"))
    form = FormState(values={"rule_template_id": str(rule_template_id or "")})
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await issuing.create_rule(
                session=session, brand_id=brand_id, trigger="member_bound", template_id=chosen(rule_template_id),
                actor_user_id=user_id, now=ctx.clock.now(),
            )
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, "rule_template_id")
        return await render_coupons(request, visitor, ctx, brand_id, form)
    return back(brand_id, "rule")


@router.post("/brands/{brand_id}/console/coupons/rules/{rule_id}/disable")
async def disable_rule(brand_id: IdPath, rule_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    user_id = poster_id(visitor, console_path(brand_id, "coupons"))
    async with ctx.db.transaction() as session:
        await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
        await issuing.disable_rule(session=session, brand_id=brand_id, rule_id=rule_id, now=ctx.clock.now())
    return back(brand_id, "rule_off")


@router.post("/brands/{brand_id}/console/coupons/campaigns")
async def create_campaign(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, campaign_template_id: ChosenId = None,
    campaign_name: Text = "", campaign_audience: Text = "", campaign_phones: Text = "", campaign_key: Text = "",
) -> Response:
    """`campaign_audience` is `community:{id}` (the community's bound neighbours now), `interest:{id}` (an interest
    group's members now) or `members` (the phones)."""
    user_id = poster_id(visitor, console_path(brand_id, "coupons"))
    form = FormState(values={
        "campaign_template_id": str(campaign_template_id or ""), "campaign_name": campaign_name,
        "campaign_audience": campaign_audience, "campaign_phones": campaign_phones,
    })
    audience, _, target = campaign_audience.partition(":")
    audience = "interest_group" if audience == "interest" else audience
    fields = {"coupon_campaign_name_invalid": "campaign_name", "coupon_recipients_required": "campaign_phones",
              "coupon_recipients_too_many": "campaign_phones"}
    try:
        template_id = chosen(campaign_template_id)
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            run = await issuing.create_campaign(
                session=session, brand_id=brand_id, template_id=template_id, name=campaign_name, audience=audience,
                community_id=int(target) if audience == "community" and target.isdigit() else None,
                interest_group_id=int(target) if audience == "interest_group" and target.isdigit() else None, member_ids=[],
                phones=phones_of(campaign_phones), idempotency_key=campaign_key, actor_user_id=user_id,
                now=ctx.clock.now(),
            )
    except DomainError as exc:
        if page_refusal(exc):
            raise
        field = fields.get(exc.code, "campaign_audience" if "audience" in exc.code or "community" in exc.code
                           else "campaign_template_id")
        form.refuse(exc, field)
        return await render_coupons(request, visitor, ctx, brand_id, form)
    title = f"发券活动「{run.campaign.name}」" + ("" if run.created else "（已发起过，未重复发放）")
    outcome = Outcome(title, issued=len(run.report.issued), skipped=run.report.skipped)
    return await render_coupons(request, visitor, ctx, brand_id, FormState(), outcome=outcome)


@router.post("/brands/{brand_id}/console/coupons/campaigns/{campaign_id}/run")
async def run_campaign(
    request: Request, brand_id: IdPath, campaign_id: IdPath, visitor: CheckedVisitor, ctx: Ctx
) -> Response:
    """再次发放: reaches only the neighbours the campaign has not reached (those bound since, for a community)."""
    user_id = poster_id(visitor, console_path(brand_id, "coupons"))
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            run = await issuing.run_campaign(
                session=session, brand_id=brand_id, campaign_id=campaign_id, now=ctx.clock.now()
            )
    except DomainError as exc:
        if page_refusal(exc) or exc.status_code == 404:
            raise
        state = FormState()
        state.refuse(exc, f"campaign-{campaign_id}")
        return await render_coupons(request, visitor, ctx, brand_id, state)
    outcome = Outcome(f"发券活动「{run.campaign.name}」再次发放", issued=len(run.report.issued), skipped=run.report.skipped)
    return await render_coupons(request, visitor, ctx, brand_id, FormState(), outcome=outcome)
