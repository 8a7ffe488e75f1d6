"""Commission routes: the brand's rules (staff change them; staff and the brand's leaders read them) and the
real-time commission view and statements (a leader sees only their own; staff see any leader of their
brand), and the brand's commission report (staff)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.leaders import service as leaders
from linli.ledger import rules, statements, views
from linli.ledger.models import CommissionRuleVersion
from linli.ledger.schemas import (
    BalancesOut,
    CommissionLineOut,
    CommissionOut,
    CommissionReportOut,
    ProductOverride,
    ReportRowOut,
    RulesIn,
    RulesOut,
    SessionOverride,
    SettledOrderOut,
    StatementLineOut,
    StatementOrderOut,
    StatementOut,
    TierOut,
)
from linli.ledger.service import LeaderBalances
from linli.openapi import errors
from linli.pagination import Page, PageParams, fetch_page, page_of, page_params
from linli.http import AuthUser, Ctx, Now, ReadSession, ReportSession, WriteSession
from linli.replica import staleness_of

router = APIRouter(prefix="/api/v1", tags=["commission"], responses=errors(409))
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
async def get_rules(brand_id: IdPath, user: AuthUser, session: ReadSession) -> RulesOut:
    await _require_staff_or_leader(session, brand_id, user.user_id)
    row = await rules.find_current_version(session=session, brand_id=brand_id)
    if row is not None:
        return _version_out(row)
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    return _rules_out(rules.DEFAULT_RULES, None, created_at=brand.created_at, note="默认规则")


@router.put("/brands/{brand_id}/commission-rules", response_model=RulesOut, summary="修改佣金规则（品牌员工；只影响之后的订单）")
async def put_rules(brand_id: IdPath, body: RulesIn, user: AuthUser, session: WriteSession, now: Now) -> RulesOut:
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
    "/brands/{brand_id}/commission-rules/versions", response_model=Page[RulesOut], summary="佣金规则历史版本（品牌员工）"
)
async def rule_versions(brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> Page[RulesOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await fetch_page(session, rules.versions_query(brand_id=brand_id), paging)
    if not total:  # never changed: the defaults are the one version
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        return page_of([_rules_out(rules.DEFAULT_RULES, None, created_at=brand.created_at, note="默认规则")], paging)
    return Page(items=[_version_out(row) for row in rows], total=total, page=paging.page, page_size=paging.page_size)


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
    return CommissionOut(
        leader_id=leader_id,
        balances=_balances_out(view.balances),
        items=lines, total=view.total, page=paging.page, page_size=paging.page_size,
    )


@router.get("/brands/{brand_id}/leader/commission", response_model=CommissionOut, summary="我的佣金（团长）")
async def my_commission(
    brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, status: StatusFilter = None
) -> CommissionOut:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    return await _commission_out(session, brand_id, leader.id, status, paging)


@router.get(
    "/brands/{brand_id}/leaders/{leader_id}/commission", response_model=CommissionOut, summary="团长佣金（品牌员工）"
)
async def leader_commission(
    brand_id: IdPath, leader_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, status: StatusFilter = None
) -> CommissionOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    await leaders.get_leader(session=session, brand_id=brand_id, leader_id=leader_id)
    return await _commission_out(session, brand_id, leader_id, status, paging)


# --- statements and the brand report ----------------------------------------------------------------

PeriodQuery = Annotated[str, Query(max_length=8, description="day（日）或 month（自然月），品牌时区")]
OnQuery = Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD：该日或该日所在月；默认今天（品牌时区）")]
FromQuery = Annotated[str, Query(alias="from", max_length=10, description="开始日期 YYYY-MM-DD（含，品牌时区）")]
ToQuery = Annotated[str, Query(alias="to", max_length=10, description="结束日期 YYYY-MM-DD（含；最多 366 天）")]
GroupQuery = Annotated[str, Query(max_length=16, description="community（社区）或 session（直播场次）")]
CSV_MEDIA = "text/csv; charset=utf-8"
CSV_RESPONSE = {200: {"content": {"text/csv": {}}, "description": "CSV（UTF-8 带 BOM，可直接用 Excel 打开）"}}


@asynccontextmanager
async def _snapshot(ctx: AppContext) -> AsyncIterator[AsyncSession]:
    """A read transaction whose queries all see one snapshot: a statement is several queries, and a posting
    landing between them would unbalance it. (SQLite's read transaction is a snapshot already.)"""
    async with ctx.db.read() as session:
        if ctx.db.dialect == "postgresql":
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


async def _statement_period(session: AsyncSession, brand_id: int, period: str, on: str | None, now: datetime) -> date:
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    statements.check_period(period)
    if on is None:
        return now.astimezone(ZoneInfo(brand.timezone)).date()
    return statements.parse_date(on, code="statement_date_invalid")


def _balances_out(b: LeaderBalances) -> BalancesOut:
    return BalancesOut(pending_fen=b.pending_fen, available_fen=b.available_fen, withdrawing_fen=b.withdrawing_fen)


def _statement_out(st: statements.Statement, paging: PageParams) -> StatementOut:
    return StatementOut(
        brand_id=st.brand_id, leader_id=st.leader_id, period=st.period, on=st.on, label=st.label, timezone=st.timezone,
        starts_at=st.starts_at.astimezone(UTC), ends_at=st.ends_at.astimezone(UTC), opening=_balances_out(st.opening), moved=_balances_out(st.moved),
        closing=_balances_out(st.closing), total=st.line_count, page=paging.page, page_size=paging.page_size,
        items=[
            StatementLineOut(
                transaction_id=line.transaction_id, posted_at=line.posted_at, kind=line.kind, kind_text=line.kind_text,
                memo=line.memo, order_id=line.order_id, refund_id=line.refund_id,
                order=StatementOrderOut(**line.order.__dict__) if line.order else None,
                moved=_balances_out(line.moved), balance_after=_balances_out(line.balance_after),
                settled_orders=[
                    SettledOrderOut(order=StatementOrderOut(**part.detail.__dict__), settled_fen=part.settled_fen)
                    for part in line.settled_orders
                ],
            )
            for line in st.lines
        ],
    )


async def _statement_json(
    ctx: AppContext, brand_id: int, leader_id: int | None, user_id: int, period: str, on: str | None, now: datetime,
    paging: PageParams,
) -> StatementOut:
    async with _snapshot(ctx) as session:
        leader_id = await _statement_reader(session, brand_id, leader_id, user_id)
        day = await _statement_period(session, brand_id, period, on, now)
        st = await statements.leader_statement(
            session=session, brand_id=brand_id, leader_id=leader_id, period=period, on=day, page=paging
        )
        return _statement_out(st, paging)


async def _statement_reader(session: AsyncSession, brand_id: int, leader_id: int | None, user_id: int) -> int:
    """The leader whose statement the caller may read: their own (leader_id None), or any of the brand's (staff)."""
    if leader_id is None:
        return (await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id)).id
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
    await leaders.get_leader(session=session, brand_id=brand_id, leader_id=leader_id)
    return leader_id


async def _statement_csv(
    ctx: AppContext, session: AsyncSession, brand_id: int, leader_id: int | None, user_id: int, period: str,
    on: str | None, now: datetime,
) -> StreamingResponse:
    # Checked before the first byte, so that a refusal or bad input is still a clean 4xx.
    leader_id = await _statement_reader(session, brand_id, leader_id, user_id)
    day = await _statement_period(session, brand_id, period, on, now)

    async def body() -> AsyncIterator[bytes]:
        async with _snapshot(ctx) as snapshot:
            st = await statements.open_statement(
                session=snapshot, brand_id=brand_id, leader_id=leader_id, period=period, on=day
            )
            async for chunk in statements.statement_csv(session=snapshot, statement=st):
                yield chunk

    filename = f"statement-{leader_id}-{statements.period_label(period, day)}.csv"
    return StreamingResponse(
        body(), media_type=CSV_MEDIA, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/brands/{brand_id}/leader/statement", response_model=StatementOut, summary="我的对账单（团长；按日或按月）")
async def my_statement(
    brand_id: IdPath, user: AuthUser, ctx: Ctx, now: Now, paging: Paging, period: PeriodQuery = "month", on: OnQuery = None
) -> StatementOut:
    return await _statement_json(ctx, brand_id, None, user.user_id, period, on, now, paging)


@router.get(
    "/brands/{brand_id}/leader/statement.csv", response_class=StreamingResponse, responses=CSV_RESPONSE,
    summary="导出我的对账单 CSV（团长）",
)
async def my_statement_csv(
    brand_id: IdPath, user: AuthUser, ctx: Ctx, session: ReadSession, now: Now, period: PeriodQuery = "month",
    on: OnQuery = None,
) -> StreamingResponse:
    return await _statement_csv(ctx, session, brand_id, None, user.user_id, period, on, now)


@router.get(
    "/brands/{brand_id}/leaders/{leader_id}/statement", response_model=StatementOut, summary="团长对账单（品牌员工）"
)
async def leader_statement(
    brand_id: IdPath, leader_id: IdPath, user: AuthUser, ctx: Ctx, now: Now, paging: Paging, period: PeriodQuery = "month",
    on: OnQuery = None,
) -> StatementOut:
    return await _statement_json(ctx, brand_id, leader_id, user.user_id, period, on, now, paging)


@router.get(
    "/brands/{brand_id}/leaders/{leader_id}/statement.csv", response_class=StreamingResponse, responses=CSV_RESPONSE,
    summary="导出团长对账单 CSV（品牌员工）",
)
async def leader_statement_csv(
    brand_id: IdPath, leader_id: IdPath, user: AuthUser, ctx: Ctx, session: ReadSession, now: Now,
    period: PeriodQuery = "month", on: OnQuery = None,
) -> StreamingResponse:
    return await _statement_csv(ctx, session, brand_id, leader_id, user.user_id, period, on, now)


def _row_out(row: statements.ReportRow) -> ReportRowOut:
    return ReportRowOut(
        key=row.key, name=row.name, orders=row.orders, paid_fen=row.paid_fen, refunded_fen=row.refunded_fen,
        accrued_fen=row.accrued_fen, clawed_back_fen=row.clawed_back_fen, net_fen=row.net_fen,
        settled_fen=row.settled_fen, pending_fen=row.pending_fen,
    )


async def _report(
    session: AsyncSession, report: AsyncSession, brand_id: int, user_id: int, date_from: str, date_to: str
) -> statements.CommissionReport:
    """Who may on the primary (`session`); the figures where reports read (`report`, maybe the replica)."""
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
    return await statements.commission_report(
        session=report, brand_id=brand_id, date_from=statements.parse_date(date_from, code="report_date_invalid"),
        date_to=statements.parse_date(date_to, code="report_date_invalid"),
    )


@router.get(
    "/brands/{brand_id}/commission-report", response_model=CommissionReportOut,
    summary="佣金报表：按社区、按直播场次（品牌员工）",
)
async def commission_report(
    brand_id: IdPath, user: AuthUser, session: ReadSession, reading: ReportSession, date_from: FromQuery,
    date_to: ToQuery,
) -> CommissionReportOut:
    report = await _report(session, reading, brand_id, user.user_id, date_from, date_to)
    return CommissionReportOut(
        brand_id=report.brand_id, date_from=report.date_from, date_to=report.date_to, timezone=report.timezone,
        starts_at=report.starts_at.astimezone(UTC), ends_at=report.ends_at.astimezone(UTC), by_community=[_row_out(r) for r in report.by_community],
        by_session=[_row_out(r) for r in report.by_session], total=_row_out(report.total),
        staleness_seconds=staleness_of(reading),
    )


@router.get(
    "/brands/{brand_id}/commission-report.csv", response_class=Response, responses=CSV_RESPONSE,
    summary="导出佣金报表 CSV（品牌员工）",
)
async def commission_report_csv(
    brand_id: IdPath, user: AuthUser, session: ReadSession, reading: ReportSession, date_from: FromQuery,
    date_to: ToQuery, group_by: GroupQuery = "community",
) -> Response:
    report = await _report(session, reading, brand_id, user.user_id, date_from, date_to)
    filename = f"commission-report-{report.date_from.isoformat()}-{report.date_to.isoformat()}-{group_by}.csv"
    return Response(
        statements.report_csv(report, group_by=group_by), media_type=CSV_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
