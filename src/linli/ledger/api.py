"""Commission routes: the brand's rules (staff change them; staff and the brand's leaders read them) and the
real-time commission view (a leader sees only their own; staff see any leader of their brand)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.leaders import service as leaders
from linli.ledger import rules, views
from linli.ledger.models import CommissionRuleVersion
from linli.ledger.schemas import (
    BalancesOut,
    CommissionLineOut,
    CommissionOut,
    ProductOverride,
    RulesIn,
    RulesOut,
    SessionOverride,
    TierOut,
)
from linli.pagination import PageParams, page_params
from linli.web import AuthUser, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["commission"])
Paging = Annotated[PageParams, Depends(page_params)]
StatusFilter = Annotated[str | None, Query(max_length=16, description="pending / settled / reversed / excluded")]


def _rules_out(ruleset: rules.RuleSet, row: CommissionRuleVersion | None, *, created_at, note: str = "") -> RulesOut:  # noqa: ANN001
    return RulesOut(
        id=row.id if row else None,
        version=row.version if row else 1,
        is_default=row is None or row.created_by_user_id is None,
        live_rate_bp=ruleset.live_rate_bp,
        off_session_rate_bp=ruleset.off_session_rate_bp,
        product_overrides=[ProductOverride(product_id=p, rate_bp=r) for p, r in ruleset.product_overrides],
        session_overrides=[SessionOverride(session_id=s, product_id=p, rate_bp=r) for s, p, r in ruleset.session_overrides],
        referral_rate_bp=ruleset.referral_rate_bp,
        referral_months=ruleset.referral_months,
        self_purchase_counts=ruleset.self_purchase_counts,
        tier_bonuses=[TierOut(threshold_fen=t.threshold_fen, bonus_fen=t.bonus_fen, reward=t.reward) for t in ruleset.tier_bonuses],
        settlement_window_days=ruleset.settlement_window_days,
        note=row.note if row else note,
        created_at=row.created_at if row else created_at,
        created_by_user_id=row.created_by_user_id if row else None,
    )


def _version_out(row: CommissionRuleVersion) -> RulesOut:
    return _rules_out(rules.ruleset_of(row), row, created_at=row.created_at)


async def _require_staff_or_leader(session: AsyncSession, brand_id: int, user_id: int) -> None:
    if await brands.staff_role(session=session, brand_id=brand_id, user_id=user_id) is None:
        await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id)


@router.get("/brands/{brand_id}/commission-rules", response_model=RulesOut, summary="佣金规则（品牌员工、本品牌团长）")
async def get_rules(brand_id: int, user: AuthUser, session: ReadSession) -> RulesOut:
    await _require_staff_or_leader(session, brand_id, user.user_id)
    row = await rules.find_current_version(session=session, brand_id=brand_id)
    if row is not None:
        return _version_out(row)
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    return _rules_out(rules.DEFAULT_RULES, None, created_at=brand.created_at, note="默认规则")


@router.put("/brands/{brand_id}/commission-rules", response_model=RulesOut, summary="修改佣金规则（品牌员工；只影响之后的订单）")
async def put_rules(brand_id: int, body: RulesIn, user: AuthUser, session: WriteSession, now: Now) -> RulesOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    ruleset = rules.RuleSet(
        live_rate_bp=body.live_rate_bp,
        off_session_rate_bp=body.off_session_rate_bp,
        product_overrides=tuple((o.product_id, o.rate_bp) for o in body.product_overrides),
        session_overrides=tuple((o.session_id, o.product_id, o.rate_bp) for o in body.session_overrides),
        referral_rate_bp=body.referral_rate_bp,
        referral_months=body.referral_months,
        self_purchase_counts=body.self_purchase_counts,
        tier_bonuses=tuple(rules.Tier(threshold_fen=t.threshold_fen, bonus_fen=t.bonus_fen, reward=t.reward.strip()) for t in body.tier_bonuses),
        settlement_window_days=body.settlement_window_days,
    )
    row = await rules.update_rules(
        session=session, brand_id=brand_id, rules=ruleset, note=body.note, actor_user_id=user.user_id, now=now
    )
    return _version_out(row)


@router.get(
    "/brands/{brand_id}/commission-rules/versions", response_model=list[RulesOut], summary="佣金规则历史版本（品牌员工）"
)
async def rule_versions(brand_id: int, user: AuthUser, session: ReadSession) -> list[RulesOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows = await rules.list_versions(session=session, brand_id=brand_id)
    if not rows:
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        return [_rules_out(rules.DEFAULT_RULES, None, created_at=brand.created_at, note="默认规则")]
    return [_version_out(row) for row in rows]


async def _commission_out(
    session: AsyncSession, brand_id: int, leader_id: int, status: str | None, paging: PageParams
) -> CommissionOut:
    view = await views.leader_commission(
        session=session, brand_id=brand_id, leader_id=leader_id, status=status, params=paging
    )
    lines = [
        CommissionLineOut(
            order_id=v.line.order_id, member_name=v.member_name, member_phone=v.member_phone,
            product_name=v.line.product_name, quantity=v.line.quantity, paid_fen=v.line.paid_fen, rule=v.line.rule,
            rule_text=views.rule_text(v.line.rule), rule_version=v.rule_version, rule_version_id=v.line.rule_version_id,
            rate_bp=v.line.rate_bp, referral_bp=v.line.referral_bp, commission_fen=v.line.commission_fen,
            refunded_fen=v.line.refunded_fen, clawed_back_fen=v.line.clawed_back_fen, net_fen=v.net_fen,
            settled_fen=v.line.settled_fen, status=v.line.status, status_text=views.STATUS_TEXT.get(v.line.status, v.line.status),
            paid_at=v.line.paid_at, completed_at=v.line.completed_at, available_from=v.line.eligible_at,
            available_from_date=v.available_from_date, settled_at=v.line.settled_at,
        )
        for v in view.lines
    ]
    b = view.balances
    return CommissionOut(
        leader_id=leader_id,
        balances=BalancesOut(pending_fen=b.pending_fen, available_fen=b.available_fen, withdrawing_fen=b.withdrawing_fen),
        items=lines, total=view.total, page=paging.page, page_size=paging.page_size,
    )


@router.get("/brands/{brand_id}/leader/commission", response_model=CommissionOut, summary="我的佣金（团长）")
async def my_commission(
    brand_id: int, user: AuthUser, session: ReadSession, paging: Paging, status: StatusFilter = None
) -> CommissionOut:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    return await _commission_out(session, brand_id, leader.id, status, paging)


@router.get(
    "/brands/{brand_id}/leaders/{leader_id}/commission", response_model=CommissionOut, summary="团长佣金（品牌员工）"
)
async def leader_commission(
    brand_id: int, leader_id: int, user: AuthUser, session: ReadSession, paging: Paging, status: StatusFilter = None
) -> CommissionOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    await leaders.get_leader(session=session, brand_id=brand_id, leader_id=leader_id)
    return await _commission_out(session, brand_id, leader_id, status, paging)
