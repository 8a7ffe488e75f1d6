"""Coupon routes: brand staff manage templates, issue by hand, set rules and run campaigns; a member reads their
own coupons. Redemption is `POST /api/v1/orders` with `coupon_id` (the orders context)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.coupons import issuing, service, templates
from linli.coupons.models import Coupon, CouponCampaign, CouponRule, CouponTemplate
from linli.coupons.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignRunOut,
    IssuedCouponOut,
    IssueOut,
    MyCouponOut,
    RecipientsIn,
    RuleIn,
    RuleOut,
    SkippedOut,
    TemplateIn,
    TemplateOut,
)
from linli.coupons.terms import discount_text
from linli.http import AuthUser, Now, ReadSession, WriteSession
from linli.openapi import errors
from linli.pagination import Page, PageParams, page_of, page_params

router = APIRouter(prefix="/api/v1", tags=["coupons"], responses=errors(409))
Paging = Annotated[PageParams, Depends(page_params)]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=64)]


async def templates_out(
    session: AsyncSession, brand_id: int, rows: list[CouponTemplate], now: datetime
) -> list[TemplateOut]:
    stats = await templates.template_stats(session=session, templates=rows, now=now)
    scopes = await templates.scope_texts(session=session, brand_id=brand_id, templates=rows)
    return [
        TemplateOut(
            id=t.id, brand_id=t.brand_id, name=t.name, kind=t.kind, amount_fen=t.amount_fen,
            percent_off_bp=t.percent_off_bp, cap_fen=t.cap_fen, threshold_fen=t.threshold_fen,
            discount_text=discount_text(templates.terms_of(t)), valid_from=t.valid_from, valid_until=t.valid_until,
            valid_days=t.valid_days, per_member_limit=t.per_member_limit, issue_quota=t.issue_quota, scope=t.scope,
            scope_id=t.scope_id, scope_text=scopes[t.id], status=t.status, issued=stats[t.id].issued,
            used=stats[t.id].used, expired=stats[t.id].expired, discount_fen=stats[t.id].discount_fen,
            created_at=t.created_at, disabled_at=t.disabled_at,
        )
        for t in rows
    ]


def issued_out(coupon: Coupon) -> IssuedCouponOut:
    return IssuedCouponOut(
        id=coupon.id, template_id=coupon.template_id, member_id=coupon.member_id, source=coupon.source,
        valid_from=coupon.valid_from, valid_until=coupon.valid_until,
    )


def skipped_out(report: issuing.IssueReport) -> list[SkippedOut]:
    return [SkippedOut(member_id=s.member_id, phone=s.phone, code=s.code, message=s.message) for s in report.skipped]


def rule_out(rule: CouponRule) -> RuleOut:
    return RuleOut(
        id=rule.id, trigger=rule.trigger, template_id=rule.template_id, status=rule.status, created_at=rule.created_at,
        disabled_at=rule.disabled_at,
    )


def campaign_out(campaign: CouponCampaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.id, template_id=campaign.template_id, name=campaign.name, audience=campaign.audience,
        community_id=campaign.community_id, interest_group_id=campaign.interest_group_id, issued=campaign.issued, created_at=campaign.created_at,
        last_run_at=campaign.last_run_at,
    )


def run_out(run: issuing.CampaignRun) -> CampaignRunOut:
    return CampaignRunOut(
        campaign=campaign_out(run.campaign), issued=[issued_out(c) for c in run.report.issued],
        skipped=skipped_out(run.report),
    )


# --- templates (staff) -----------------------------------------------------------------------


@router.get("/brands/{brand_id}/coupon-templates", response_model=Page[TemplateOut], summary="优惠券模板及发放、使用情况（员工）")
async def list_templates(
    brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, now: Now
) -> Page[TemplateOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await templates.list_templates(session=session, brand_id=brand_id, params=paging)
    return Page(items=await templates_out(session, brand_id, rows, now), total=total, page=paging.page,
                page_size=paging.page_size)


@router.post("/brands/{brand_id}/coupon-templates", status_code=201, response_model=TemplateOut, summary="新建优惠券模板（员工）")
async def create_template(
    brand_id: IdPath, body: TemplateIn, user: AuthUser, session: WriteSession, now: Now
) -> TemplateOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    template = await templates.create_template(
        session=session, brand_id=brand_id, data=templates.TemplateInput(**body.model_dump()),
        actor_user_id=user.user_id, now=now,
    )
    return (await templates_out(session, brand_id, [template], now))[0]


@router.post(
    "/brands/{brand_id}/coupon-templates/{template_id}/disable", response_model=TemplateOut,
    summary="停发优惠券模板（员工；已发出的券仍可使用）",
)
async def disable_template(
    brand_id: IdPath, template_id: IdPath, user: AuthUser, session: WriteSession, now: Now
) -> TemplateOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    template = await templates.disable_template(session=session, brand_id=brand_id, template_id=template_id, now=now)
    return (await templates_out(session, brand_id, [template], now))[0]


@router.post(
    "/brands/{brand_id}/coupon-templates/{template_id}/issue", status_code=201, response_model=IssueOut,
    summary="手动发券给指定用户（员工；同一 Idempotency-Key 不重复发放）",
)
async def issue_by_hand(
    brand_id: IdPath, template_id: IdPath, body: RecipientsIn, response: Response, user: AuthUser,
    session: WriteSession, now: Now, idempotency_key: IdempotencyKey,
) -> IssueOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    report = await issuing.issue_by_hand(
        session=session, brand_id=brand_id, template_id=template_id, member_ids=body.member_ids, phones=body.phones,
        idempotency_key=idempotency_key, now=now,
    )
    if not report.issued and report.already:
        response.status_code = 200  # the same key again: what it issued the first time
    return IssueOut(
        issued=[issued_out(c) for c in report.issued], already=[issued_out(c) for c in report.already],
        skipped=skipped_out(report),
    )


# --- rules and campaigns (staff) -------------------------------------------------------------


@router.get("/brands/{brand_id}/coupon-rules", response_model=Page[RuleOut], summary="自动发券规则（员工）")
async def list_rules(brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> Page[RuleOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return page_of([rule_out(r) for r in await issuing.list_rules(session=session, brand_id=brand_id)], paging)


@router.post("/brands/{brand_id}/coupon-rules", status_code=201, response_model=RuleOut, summary="新建自动发券规则（员工）")
async def create_rule(brand_id: IdPath, body: RuleIn, user: AuthUser, session: WriteSession, now: Now) -> RuleOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rule = await issuing.create_rule(
        session=session, brand_id=brand_id, trigger=body.trigger, template_id=body.template_id,
        actor_user_id=user.user_id, now=now,
    )
    return rule_out(rule)


@router.post("/brands/{brand_id}/coupon-rules/{rule_id}/disable", response_model=RuleOut, summary="停用自动发券规则（员工）")
async def disable_rule(brand_id: IdPath, rule_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> RuleOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return rule_out(await issuing.disable_rule(session=session, brand_id=brand_id, rule_id=rule_id, now=now))


@router.get("/brands/{brand_id}/coupon-campaigns", response_model=Page[CampaignOut], summary="发券活动（员工）")
async def list_campaigns(brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> Page[CampaignOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return page_of([campaign_out(c) for c in await issuing.list_campaigns(session=session, brand_id=brand_id)], paging)


@router.post(
    "/brands/{brand_id}/coupon-campaigns", status_code=201, response_model=CampaignRunOut,
    summary="新建发券活动并立即发放（员工；同一 Idempotency-Key 只建一次）",
)
async def create_campaign(
    brand_id: IdPath, body: CampaignIn, response: Response, user: AuthUser, session: WriteSession, now: Now,
    idempotency_key: IdempotencyKey,
) -> CampaignRunOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    run = await issuing.create_campaign(
        session=session, brand_id=brand_id, template_id=body.template_id, name=body.name, audience=body.audience,
        community_id=body.community_id, member_ids=body.member_ids, phones=body.phones, idempotency_key=idempotency_key,
        actor_user_id=user.user_id, now=now, interest_group_id=body.interest_group_id,
    )
    if not run.created:
        response.status_code = 200  # the same key again: the campaign it created, nothing issued now
    return run_out(run)


@router.post(
    "/brands/{brand_id}/coupon-campaigns/{campaign_id}/run", response_model=CampaignRunOut,
    summary="再次执行发券活动（员工；已领过本活动的用户不再发放）",
)
async def run_campaign(
    brand_id: IdPath, campaign_id: IdPath, user: AuthUser, session: WriteSession, now: Now
) -> CampaignRunOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return run_out(await issuing.run_campaign(session=session, brand_id=brand_id, campaign_id=campaign_id, now=now))


# --- the member's own ------------------------------------------------------------------------


async def my_coupons_out(session: AsyncSession, brand_id: int, rows: list[service.MemberCoupon]) -> list[MyCouponOut]:
    scopes = await templates.scope_texts(session=session, brand_id=brand_id, templates=[r.template for r in rows])
    return [
        MyCouponOut(
            id=r.coupon.id, template_id=r.template.id, name=r.template.name, discount_text=discount_text(r.terms),
            kind=r.template.kind, amount_fen=r.template.amount_fen, percent_off_bp=r.template.percent_off_bp,
            cap_fen=r.template.cap_fen, threshold_fen=r.template.threshold_fen, scope=r.template.scope,
            scope_id=r.template.scope_id, scope_text=scopes[r.template.id], status=r.status,
            valid_from=r.coupon.valid_from, valid_until=r.coupon.valid_until, issued_at=r.coupon.issued_at,
            used_at=r.coupon.used_at, order_id=r.order_id,
        )
        for r in rows
    ]


@router.get("/brands/{brand_id}/coupons/mine", response_model=Page[MyCouponOut], summary="我的优惠券")
async def my_coupons(
    brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, now: Now,
    status: Annotated[
        str | None, Query(max_length=16, description="available 可用 / used 已使用 / expired 已过期；不填为全部")
    ] = None,
) -> Page[MyCouponOut]:
    await brands.get_brand(session=session, brand_id=brand_id)
    rows, total = await service.member_coupons(
        session=session, brand_id=brand_id, user_id=user.user_id, status=status, params=paging, now=now
    )
    return Page(items=await my_coupons_out(session, brand_id, rows), total=total, page=paging.page,
                page_size=paging.page_size)
