from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.dashboards import brand, claims, exports, growth, leader_kpis, service, sessions
from linli.dashboards.schemas import (
    BrandDashboardOut, ChurnOut, ClaimFiguresOut, ClaimsDashboardOut, CommunityGmvOut, CommunityOut, CommunityTotalsOut,
    DayOut, FiguresOut, FunnelOut, GrowthDayOut, GrowthOut, IncomeBucketOut, IncomeOut, LeaderDashboardOut,
    LeaderFunnelOut, LeaderKpisOut, LeaderMonthOut, MonthOut, NamedClaimFiguresOut, RepurchaseOut, SessionCommunityOut,
    SessionKpiOut, SessionsDashboardOut, TopLeaderOut,
)
from linli.http import AuthUser, Now, ReadSession, ReportSession
from linli.leaders import service as leaders
from linli.openapi import errors
from linli.replica import staleness_of

router = APIRouter(prefix="/api/v1", tags=["dashboards"], responses=errors(403, 404))
PeriodQuery = Annotated[str, Query(max_length=16, description="today（今天）、week（本周）、month（本月）或 YYYY-MM，品牌时区")]
FromQuery = Annotated[
    str | None, Query(alias="from", max_length=10, description="开始日期 YYYY-MM-DD（含，品牌时区）；默认结束日期前 29 天")
]
ToQuery = Annotated[str | None, Query(alias="to", max_length=10, description="结束日期 YYYY-MM-DD（含；最多 400 天）；默认今天")]
MonthQuery = Annotated[str | None, Query(max_length=7, description="YYYY-MM（品牌时区）；默认本月")]
LeaderQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="只看这位团长（本品牌的）")]
CommunityQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="只看这个小区（订单的自提小区，本品牌的）")]
TableQuery = Annotated[
    str, Query(max_length=16, description="days（每日）、leaders（团长排行）、months（月复购）或 communities（小区）")
]
CSV_MEDIA = "text/csv; charset=utf-8"
CSV_RESPONSE = {200: {"content": {"text/csv": {}}, "description": "CSV（UTF-8 带 BOM，可直接用 Excel 打开）"}}


def leader_dashboard_out(figures: service.LeaderDashboard, staleness_seconds: float | None) -> LeaderDashboardOut:
    repurchase = figures.repurchase
    return LeaderDashboardOut(
        period=figures.period.kind, first_day=figures.period.first_day, last_day=figures.period.last_day,
        today=figures.today, orders=figures.orders, paid_fen=figures.paid_fen, refunded_fen=figures.refunded_fen,
        gmv_fen=figures.gmv_fen, paying_members=figures.paying_members, new_members=figures.new_members,
        repurchase=RepurchaseOut(month=repurchase.month, paying_members=repurchase.paying_members,
                                 bought_again_next_month=repurchase.bought_again_next_month, rate_bp=repurchase.rate_bp),
        pending_fen=figures.pending_fen, available_fen=figures.available_fen, withdrawing_fen=figures.withdrawing_fen,
        withdrawn_fen=figures.withdrawn_fen, rank=figures.rank, ranked_leaders=figures.ranked_leaders,
        staleness_seconds=staleness_seconds,
    )


@router.get("/brands/{brand_id}/leader/dashboard", response_model=LeaderDashboardOut, summary="我的数据看板（团长）")
async def my_dashboard(
    brand_id: IdPath, user: AuthUser, session: ReadSession, report: ReportSession, now: Now,
    period: PeriodQuery = "today",
) -> LeaderDashboardOut:
    # Who may, and the commission, on the primary; the figures where reports read (docs/operations.md).
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    figures = await service.leader_dashboard(
        session=report, balances_session=session, brand_id=brand_id, leader_id=leader.id, period_kind=period, now=now
    )
    return leader_dashboard_out(figures, staleness_of(report))


def brand_dashboard_out(figures: brand.BrandDashboard, staleness_seconds: float | None) -> BrandDashboardOut:
    totals = figures.totals
    return BrandDashboardOut(
        first_day=figures.first_day, last_day=figures.last_day, today=figures.today, leader_id=figures.leader_id,
        community_id=figures.community_id,
        totals=FiguresOut(orders=totals.orders, paid_fen=totals.paid_fen, refunded_fen=totals.refunded_fen,
                          gmv_fen=totals.gmv_fen),
        days=[DayOut(day=d.day, orders=d.orders, paid_fen=d.paid_fen, refunded_fen=d.refunded_fen, gmv_fen=d.gmv_fen)
              for d in figures.days],
        leaders=[TopLeaderOut(leader_id=t.leader_id, name=t.name, orders=t.orders, gmv_fen=t.gmv_fen)
                 for t in figures.leaders],
        months=[MonthOut(month=m.month, paying_members=m.paying_members,
                         bought_again_next_month=m.bought_again_next_month, rate_bp=m.rate_bp)
                for m in figures.months],
        staleness_seconds=staleness_seconds,
        communities=[CommunityOut(community_id=c.community_id, name=c.name, orders=c.orders, paid_fen=c.paid_fen,
                                  refunded_fen=c.refunded_fen, gmv_fen=c.gmv_fen)
                     for c in figures.communities],
    )


@router.get("/brands/{brand_id}/dashboard", response_model=BrandDashboardOut, summary="品牌数据看板（品牌员工）")
async def brand_dashboard(
    brand_id: IdPath, user: AuthUser, session: ReadSession, report: ReportSession, now: Now,
    date_from: FromQuery = None, date_to: ToQuery = None, leader_id: LeaderQuery = None,
    community_id: CommunityQuery = None,
) -> BrandDashboardOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    figures = await brand.brand_dashboard(
        session=report, brand_id=brand_id, date_from=date_from, date_to=date_to, leader_id=leader_id,
        community_id=community_id, now=now,
    )
    return brand_dashboard_out(figures, staleness_of(report))


def leader_kpis_out(figures: leader_kpis.LeaderKpis, staleness_seconds: float | None) -> LeaderKpisOut:
    return LeaderKpisOut(month=figures.month, today=figures.today, staleness_seconds=staleness_seconds, months=[
        LeaderMonthOut(
            month=m.month,
            income=IncomeOut(
                leaders=m.income.leaders, total_fen=m.income.total_fen, mean_fen=m.income.mean_fen,
                median_fen=m.income.median_fen,
                buckets=[IncomeBucketOut(key=b.key, low_fen=b.low_fen, high_fen=b.high_fen, leaders=b.leaders)
                         for b in m.income.buckets],
            ),
            churn=ChurnOut(core_leaders=m.churn.core_leaders, churned=m.churn.churned, rate_bp=m.churn.rate_bp,
                           final=m.churn.final),
        )
        for m in figures.months
    ])


@router.get("/brands/{brand_id}/dashboard/leaders", response_model=LeaderKpisOut,
            summary="团长月收入与核心团长流失（品牌员工）")
async def leaders_dashboard(
    brand_id: IdPath, user: AuthUser, session: ReadSession, report: ReportSession, now: Now, month: MonthQuery = None
) -> LeaderKpisOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    figures = await leader_kpis.leader_kpis(session=report, brand_id=brand_id, month=month, now=now)
    return leader_kpis_out(figures, staleness_of(report))


@router.get("/brands/{brand_id}/dashboard/growth", response_model=GrowthOut, summary="新团长与新成员（品牌员工）")
async def growth_dashboard(
    brand_id: IdPath, user: AuthUser, session: ReadSession, report: ReportSession, now: Now,
    date_from: FromQuery = None, date_to: ToQuery = None,
) -> GrowthOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    figures = await growth.brand_growth(session=report, brand_id=brand_id, date_from=date_from, date_to=date_to, now=now)
    return GrowthOut(
        first_day=figures.first_day, last_day=figures.last_day, today=figures.today,
        leaders_approved=figures.leaders_approved, members_bound=figures.members_bound,
        days=[GrowthDayOut(day=d.day, leaders_approved=d.leaders_approved, members_bound=d.members_bound)
              for d in figures.days],
        staleness_seconds=staleness_of(report),
    )


@router.get(
    "/brands/{brand_id}/dashboard.csv", response_class=Response, responses=CSV_RESPONSE,
    summary="导出品牌数据看板的一张表 CSV（品牌员工）",
)
async def brand_dashboard_csv(
    brand_id: IdPath, user: AuthUser, session: ReadSession, report: ReportSession, now: Now, table: TableQuery,
    date_from: FromQuery = None, date_to: ToQuery = None, leader_id: LeaderQuery = None,
    community_id: CommunityQuery = None,
) -> Response:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    exports.check_table(table)
    figures = await brand.brand_dashboard(
        session=report, brand_id=brand_id, date_from=date_from, date_to=date_to, leader_id=leader_id,
        community_id=community_id, now=now, complete=table,
    )
    return Response(exports.dashboard_csv(figures, table=table), media_type=CSV_MEDIA, headers={
        "Content-Disposition": f'attachment; filename="{exports.csv_filename(figures, table=table)}"',
    })


SessionQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="只看这一场（本品牌的直播场次）")]


def _funnel_out(funnel: sessions.Funnel) -> FunnelOut:
    return FunnelOut(views=funnel.views, entries=funnel.entries, orders=funnel.orders, paid_orders=funnel.paid_orders)


def sessions_dashboard_out(figures: sessions.SessionsDashboard, staleness_seconds: float | None) -> SessionsDashboardOut:
    totals = figures.community_totals
    return SessionsDashboardOut(
        staleness_seconds=staleness_seconds,
        first_day=figures.first_day, last_day=figures.last_day, today=figures.today, session_id=figures.session_id,
        sessions=[
            SessionKpiOut(
                session_id=k.session_id, title=k.title, status=k.status, started_at=k.started_at, start_day=k.start_day,
                orders=k.orders, paid_fen=k.paid_fen, refunded_fen=k.refunded_fen, gmv_fen=k.gmv_fen,
                communities=[
                    SessionCommunityOut(community_id=c.community_id, name=c.name, orders=c.orders, paid_fen=c.paid_fen,
                                        refunded_fen=c.refunded_fen, gmv_fen=c.gmv_fen, baseline_fen=c.baseline_fen)
                    for c in k.communities
                ],
                baseline_fen=k.baseline_fen, baseline_day_fen=k.baseline_day_fen, multiple_bp=k.multiple_bp,
                funnel=_funnel_out(k.funnel),
            )
            for k in figures.sessions
        ],
        funnel=_funnel_out(figures.funnel),
        leaders=[LeaderFunnelOut(leader_id=f.leader_id, name=f.name, **_funnel_out(f.funnel).model_dump())
                 for f in figures.leaders],
        unattributed=_funnel_out(figures.unattributed),
        communities=[
            CommunityGmvOut(community_id=c.community_id, name=c.name, orders=c.orders, paid_fen=c.paid_fen,
                            refunded_fen=c.refunded_fen, gmv_fen=c.gmv_fen, session_gmv_fen=c.session_gmv_fen)
            for c in figures.communities
        ],
        community_totals=CommunityTotalsOut(orders=totals.orders, paid_fen=totals.paid_fen, refunded_fen=totals.refunded_fen,
                                            gmv_fen=totals.gmv_fen, session_gmv_fen=totals.session_gmv_fen),
    )


@router.get("/brands/{brand_id}/dashboard/sessions", response_model=SessionsDashboardOut,
            summary="直播场次看板：单场成交额与基线、小区成交额、漏斗（品牌员工）")
async def sessions_dashboard(
    brand_id: IdPath, user: AuthUser, session: ReadSession, report: ReportSession, now: Now,
    date_from: FromQuery = None, date_to: ToQuery = None, session_id: SessionQuery = None,
) -> SessionsDashboardOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    figures = await sessions.sessions_dashboard(
        session=report, brand_id=brand_id, date_from=date_from, date_to=date_to, session_id=session_id, now=now,
    )
    return sessions_dashboard_out(figures, staleness_of(report))


def _claim_figures_out(figures: claims.NamedClaimFigures) -> NamedClaimFiguresOut:
    return NamedClaimFiguresOut(id=figures.key, name=figures.name, paid_lines=figures.paid_lines,
                                claimed_lines=figures.claimed_lines, claims=figures.claims, rate_bp=figures.rate_bp)


@router.get("/brands/{brand_id}/dashboard/claims", response_model=ClaimsDashboardOut,
            summary="售后率看板：按商品、按团长（品牌员工）")
async def claims_dashboard(
    brand_id: IdPath, user: AuthUser, session: ReadSession, report: ReportSession, now: Now, date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> ClaimsDashboardOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    figures = await claims.claims_dashboard(session=report, brand_id=brand_id, date_from=date_from, date_to=date_to, now=now)
    totals = figures.totals
    return ClaimsDashboardOut(
        staleness_seconds=staleness_of(report),
        first_day=figures.first_day, last_day=figures.last_day, today=figures.today,
        totals=ClaimFiguresOut(paid_lines=totals.paid_lines, claimed_lines=totals.claimed_lines, claims=totals.claims,
                               rate_bp=totals.rate_bp),
        products=[_claim_figures_out(p) for p in figures.products],
        leaders=[_claim_figures_out(p) for p in figures.leaders],
    )
