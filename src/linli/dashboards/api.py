from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from linli.brands.schemas import IdPath
from linli.dashboards import service
from linli.dashboards.schemas import LeaderDashboardOut, RepurchaseOut
from linli.http import AuthUser, Now, ReadSession
from linli.leaders import service as leaders
from linli.openapi import errors

router = APIRouter(prefix="/api/v1", tags=["dashboards"], responses=errors(403, 404))
PeriodQuery = Annotated[str, Query(max_length=16, description="today（今天）、week（本周）、month（本月）或 YYYY-MM，品牌时区")]


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
