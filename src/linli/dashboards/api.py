from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.dashboards import brand, growth, leader_kpis, service
from linli.dashboards.schemas import (
    BrandDashboardOut, ChurnOut, DayOut, FiguresOut, GrowthDayOut, GrowthOut, IncomeBucketOut, IncomeOut,
    LeaderDashboardOut, LeaderKpisOut, LeaderMonthOut, MonthOut, RepurchaseOut, TopLeaderOut,
)
from linli.http import AuthUser, Now, ReadSession
from linli.leaders import service as leaders
from linli.openapi import errors

router = APIRouter(prefix="/api/v1", tags=["dashboards"], responses=errors(403, 404))
PeriodQuery = Annotated[str, Query(max_length=16, description="today（今天）、week（本周）、month（本月）或 YYYY-MM，品牌时区")]
FromQuery = Annotated[
    str | None, Query(alias="from", max_length=10, description="开始日期 YYYY-MM-DD（含，品牌时区）；默认结束日期前 29 天")
]
ToQuery = Annotated[str | None, Query(alias="to", max_length=10, description="结束日期 YYYY-MM-DD（含；最多 400 天）；默认今天")]
MonthQuery = Annotated[str | None, Query(max_length=7, description="YYYY-MM（品牌时区）；默认本月")]
LeaderQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="只看这位团长（本品牌的）")]
CommunityQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="只看这个小区（订单的自提小区，本品牌的）")]


def leader_dashboard_out(figures: service.LeaderDashboard) -> LeaderDashboardOut:
    repurchase = figures.repurchase
    return LeaderDashboardOut(
        period=figures.period.kind, first_day=figures.period.first_day, last_day=figures.period.last_day,
        today=figures.today, orders=figures.orders, paid_fen=figures.paid_fen, refunded_fen=figures.refunded_fen,
        gmv_fen=figures.gmv_fen, paying_members=figures.paying_members, new_members=figures.new_members,
        repurchase=RepurchaseOut(month=repurchase.month, paying_members=repurchase.paying_members,
                                 bought_again_next_month=repurchase.bought_again_next_month, rate_bp=repurchase.rate_bp),
        pending_fen=figures.pending_fen, available_fen=figures.available_fen, withdrawing_fen=figures.withdrawing_fen,
        withdrawn_fen=figures.withdrawn_fen, rank=figures.rank, ranked_leaders=figures.ranked_leaders,
    )


@router.get("/brands/{brand_id}/leader/dashboard", response_model=LeaderDashboardOut, summary="我的数据看板（团长）")
async def my_dashboard(
    brand_id: IdPath, user: AuthUser, session: ReadSession, now: Now, period: PeriodQuery = "today"
) -> LeaderDashboardOut:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    figures = await service.leader_dashboard(
        session=session, brand_id=brand_id, leader_id=leader.id, period_kind=period, now=now
    )
    return leader_dashboard_out(figures)


def brand_dashboard_out(figures: brand.BrandDashboard) -> BrandDashboardOut:
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
    )


@router.get("/brands/{brand_id}/dashboard", response_model=BrandDashboardOut, summary="品牌数据看板（品牌员工）")
async def brand_dashboard(
    brand_id: IdPath, user: AuthUser, session: ReadSession, now: Now, date_from: FromQuery = None,
    date_to: ToQuery = None, leader_id: LeaderQuery = None, community_id: CommunityQuery = None,
) -> BrandDashboardOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    figures = await brand.brand_dashboard(
        session=session, brand_id=brand_id, date_from=date_from, date_to=date_to, leader_id=leader_id,
        community_id=community_id, now=now,
    )
    return brand_dashboard_out(figures)


def leader_kpis_out(figures: leader_kpis.LeaderKpis) -> LeaderKpisOut:
    return LeaderKpisOut(month=figures.month, today=figures.today, months=[
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
    brand_id: IdPath, user: AuthUser, session: ReadSession, now: Now, month: MonthQuery = None
) -> LeaderKpisOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return leader_kpis_out(await leader_kpis.leader_kpis(session=session, brand_id=brand_id, month=month, now=now))


@router.get("/brands/{brand_id}/dashboard/growth", response_model=GrowthOut, summary="新团长与新成员（品牌员工）")
async def growth_dashboard(
    brand_id: IdPath, user: AuthUser, session: ReadSession, now: Now, date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> GrowthOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    figures = await growth.brand_growth(session=session, brand_id=brand_id, date_from=date_from, date_to=date_to, now=now)
    return GrowthOut(
        first_day=figures.first_day, last_day=figures.last_day, today=figures.today,
        leaders_approved=figures.leaders_approved, members_bound=figures.members_bound,
        days=[GrowthDayOut(day=d.day, leaders_approved=d.leaders_approved, members_bound=d.members_bound)
              for d in figures.days],
    )
