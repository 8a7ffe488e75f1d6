"""Issuing in bulk, all through `service.issue_coupon`: by hand (staff name the members; source key
`manual:{idempotency key}`), by campaign (a community's bound members or a list; `campaign:{id}`, so a campaign
run again reaches only the members it has not reached) and by rule (`rule:{id}`; the `member.bound` handler).

A refusal about one member (over the per-member limit, not the brand's member, the quota gone for the rest) is
reported as skipped and leaves the others issued; a refusal about the template itself (unknown, disabled, its
window over) refuses the whole call before anything is issued.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.attribution import service as attribution
from linli.brands import service as brands
from linli.coupons import service, templates
from linli.coupons.models import Coupon, CouponCampaign, CouponRule
from linli.db import insert_unique
from linli.errors import Conflict, DomainError, InvalidInput, NotFound
from linli.logs import log_event
from linli.marketing import interests
from linli.members import service as members
from linli.security import is_valid_phone

log = logging.getLogger("linli.coupons")
MAX_RECIPIENTS = 1000
MAX_CAMPAIGN_NAME = 32
TRIGGERS = {"member_bound": "新邻居绑定团长后"}
AUDIENCES = ("community", "members")


@dataclass(frozen=True)
class Skipped:
    member_id: int | None
    phone: str | None
    code: str
    message: str


@dataclass
class IssueReport:
    issued: list[Coupon] = field(default_factory=list)  # issued by this call
    already: list[Coupon] = field(default_factory=list)  # issued before with the same key
    skipped: list[Skipped] = field(default_factory=list)


# --- recipients ------------------------------------------------------------------------------


async def recipients(
    *, session: AsyncSession, brand_id: int, member_ids: list[int], phones: list[str], report: IssueReport
) -> list[int]:
    """The brand's members named by id or phone, each once, in the order given; unknown ones go to `report`."""
    if not member_ids and not phones:
        raise InvalidInput("请填写要发券的用户", code="coupon_recipients_required")
    if len(member_ids) + len(phones) > MAX_RECIPIENTS:
        raise InvalidInput(f"一次最多发给 {MAX_RECIPIENTS} 位用户", code="coupon_recipients_too_many")
    found: list[int] = []
    known = await members.members_by_ids(session=session, member_ids=set(member_ids))
    for member_id in member_ids:
        if member_id in known and known[member_id].brand_id == brand_id:
            found.append(member_id)
        else:
            report.skipped.append(Skipped(member_id, None, "member_not_found", "不是本品牌的用户"))
    for raw in phones:
        phone = raw.strip()
        if not is_valid_phone(phone):
            report.skipped.append(Skipped(None, phone, "phone_invalid", "手机号格式不正确"))
            continue
        user = await accounts.find_user_by_phone(session=session, phone=phone)
        member = await members.find_member(session=session, brand_id=brand_id, user_id=user.id) if user else None
        if member is None:
            report.skipped.append(Skipped(None, phone, "member_not_found", "该手机号不是本品牌的用户"))
        else:
            found.append(member.id)
    return list(dict.fromkeys(found))


async def issue_to(
    *, session: AsyncSession, brand_id: int, template_id: int, member_ids: list[int], source: str, source_key: str,
    now: datetime, report: IssueReport | None = None,
) -> IssueReport:
    report = report or IssueReport()
    template = await templates.get_template(session=session, brand_id=brand_id, template_id=template_id)
    templates.require_issuable(template, now)
    for member_id in member_ids:
        try:
            issued = await service.issue_coupon(
                session=session, brand_id=brand_id, template_id=template_id, member_id=member_id, source=source,
                source_key=source_key, now=now,
            )
        except DomainError as exc:
            report.skipped.append(Skipped(member_id, None, exc.code, exc.message))
            continue
        (report.issued if issued.created else report.already).append(issued.coupon)
    return report


def _checked_key(idempotency_key: str) -> str:
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 64:
        raise InvalidInput("幂等键长度须为 8 到 64 个字符", code="idempotency_key_invalid")
    return key


async def issue_by_hand(
    *, session: AsyncSession, brand_id: int, template_id: int, member_ids: list[int], phones: list[str],
    idempotency_key: str, now: datetime,
) -> IssueReport:
    """Staff issue the template to the members named; the same key again issues nothing more."""
    key = _checked_key(idempotency_key)
    await templates.get_template(session=session, brand_id=brand_id, template_id=template_id)
    report = IssueReport()
    chosen = await recipients(session=session, brand_id=brand_id, member_ids=member_ids, phones=phones, report=report)
    return await issue_to(
        session=session, brand_id=brand_id, template_id=template_id, member_ids=chosen, source="manual",
        source_key=f"manual:{key}", now=now, report=report,
    )


# --- campaigns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignRun:
    campaign: CouponCampaign
    created: bool  # False: this idempotency key had created the campaign (nothing issued now)
    report: IssueReport


async def create_campaign(
    *, session: AsyncSession, brand_id: int, template_id: int, name: str, audience: str, community_id: int | None,
    member_ids: list[int], phones: list[str], idempotency_key: str, actor_user_id: int | None, now: datetime,
    interest_group_id: int | None = None,
) -> CampaignRun:
    """A campaign and its first run in one transaction; the same key again answers the campaign it made."""
    key = _checked_key(idempotency_key)
    existing = await session.scalar(
        select(CouponCampaign).where(CouponCampaign.brand_id == brand_id, CouponCampaign.idempotency_key == key)
    )
    if existing is not None:
        return CampaignRun(campaign=existing, created=False, report=IssueReport())
    title = name.strip()
    if not 1 <= len(title) <= MAX_CAMPAIGN_NAME:
        raise InvalidInput(f"活动名称须为 1 到 {MAX_CAMPAIGN_NAME} 个字", code="coupon_campaign_name_invalid")
    template = await templates.get_template(session=session, brand_id=brand_id, template_id=template_id)
    templates.require_issuable(template, now)
    report = IssueReport()
    chosen: list[int] = []
    if audience == "community":
        if community_id is None:
            raise InvalidInput("请选择小区", code="coupon_campaign_audience_invalid")
        await brands.get_community(session=session, brand_id=brand_id, community_id=community_id)
        interest_group_id = None
    elif audience == "interest_group":
        if interest_group_id is None:
            raise InvalidInput("请选择兴趣小组", code="coupon_campaign_audience_invalid")
        group = await interests.get_group(session=session, brand_id=brand_id, group_id=interest_group_id)
        if group.status != "active":
            raise Conflict("兴趣小组已停用，不能发券", code="interest_group_archived")
        community_id = None
    elif audience == "members":
        community_id = interest_group_id = None
        chosen = await recipients(
            session=session, brand_id=brand_id, member_ids=member_ids, phones=phones, report=report
        )
    else:
        raise InvalidInput(
            "发放对象只能是某个小区的邻居（community）、某个兴趣小组（interest_group）或指定用户（members）",
            code="coupon_campaign_audience_invalid",
        )
    campaign = CouponCampaign(
        brand_id=brand_id, template_id=template.id, name=title, audience=audience, community_id=community_id,
        interest_group_id=interest_group_id, member_ids=chosen, idempotency_key=key, issued=0, created_at=now, created_by_user_id=actor_user_id,
        last_run_at=None,
    )
    if not await insert_unique(session, campaign):  # a concurrent twin with this key made it a moment ago
        raise Conflict("该活动正在创建，请刷新后查看", code="concurrent_conflict")
    run = await run_campaign(session=session, brand_id=brand_id, campaign_id=campaign.id, now=now, report=report)
    return CampaignRun(campaign=run.campaign, created=True, report=run.report)


async def run_campaign(
    *, session: AsyncSession, brand_id: int, campaign_id: int, now: datetime, report: IssueReport | None = None
) -> CampaignRun:
    """Issues to the audience as it is now; a member the campaign already reached gets nothing more."""
    campaign = await session.get(CouponCampaign, campaign_id, with_for_update=True, populate_existing=True)
    if campaign is None or campaign.brand_id != brand_id:
        raise NotFound("发券活动不存在", code="coupon_campaign_not_found")
    if campaign.audience == "community":
        assert campaign.community_id is not None
        audience = await attribution.community_member_ids(
            session=session, brand_id=brand_id, community_id=campaign.community_id, now=now
        )
    elif campaign.audience == "interest_group":
        assert campaign.interest_group_id is not None
        # The group's members as its last recomputation found them (an archived group: nobody).
        audience = await interests.member_ids_of(session=session, brand_id=brand_id, group_id=campaign.interest_group_id)
    else:
        audience = list(campaign.member_ids)
    report = await issue_to(
        session=session, brand_id=brand_id, template_id=campaign.template_id, member_ids=audience, source="campaign",
        source_key=f"campaign:{campaign.id}", now=now, report=report,
    )
    campaign.issued += len(report.issued)
    campaign.last_run_at = now
    return CampaignRun(campaign=campaign, created=False, report=report)


async def list_campaigns(*, session: AsyncSession, brand_id: int) -> list[CouponCampaign]:
    rows = await session.scalars(
        select(CouponCampaign).where(CouponCampaign.brand_id == brand_id).order_by(CouponCampaign.id.desc())
    )
    return list(rows)


# --- rules -----------------------------------------------------------------------------------


async def create_rule(
    *, session: AsyncSession, brand_id: int, trigger: str, template_id: int, actor_user_id: int | None, now: datetime
) -> CouponRule:
    if trigger not in TRIGGERS:
        raise InvalidInput("发券时机只能是 " + "、".join(TRIGGERS), code="coupon_rule_trigger_invalid")
    template = await templates.get_template(session=session, brand_id=brand_id, template_id=template_id)
    templates.require_issuable(template, now)
    rule = CouponRule(
        brand_id=brand_id, trigger=trigger, template_id=template.id, status="active", created_at=now,
        created_by_user_id=actor_user_id, disabled_at=None,
    )
    if not await insert_unique(session, rule):
        raise Conflict("这张券已设置了同样的自动发放规则", code="coupon_rule_exists")
    return rule


async def disable_rule(*, session: AsyncSession, brand_id: int, rule_id: int, now: datetime) -> CouponRule:
    rule = await session.get(CouponRule, rule_id, with_for_update=True, populate_existing=True)
    if rule is None or rule.brand_id != brand_id:
        raise NotFound("自动发券规则不存在", code="coupon_rule_not_found")
    if rule.status != "disabled":
        rule.status, rule.disabled_at = "disabled", now
    return rule


async def list_rules(*, session: AsyncSession, brand_id: int) -> list[CouponRule]:
    rows = await session.scalars(
        select(CouponRule).where(CouponRule.brand_id == brand_id).order_by(CouponRule.id.desc())
    )
    return list(rows)


async def on_member_bound(*, session: AsyncSession, brand_id: int, member_id: int, now: datetime) -> int:
    """The `member.bound` handler's work: each active welcome rule issues its template once (`rule:{id}`). A rule
    that cannot issue (template stopped, quota gone, limit reached) is skipped and logged, never retried."""
    rules = await session.scalars(
        select(CouponRule).where(
            CouponRule.brand_id == brand_id, CouponRule.trigger == "member_bound", CouponRule.status == "active"
        ).order_by(CouponRule.id)
    )
    issued = 0
    for rule in list(rules):
        try:
            outcome = await service.issue_coupon(
                session=session, brand_id=brand_id, template_id=rule.template_id, member_id=member_id, source="rule",
                source_key=f"rule:{rule.id}", now=now,
            )
        except DomainError as exc:
            log_event(log, "coupons.rule_skipped", rule_id=rule.id, member_id=member_id, code=exc.code)
            continue
        issued += int(outcome.created)
    return issued
