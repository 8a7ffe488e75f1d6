"""The 数据看板's KPI sections beside the brand's dashboard: leader income and core-leader churn
(`dashboards.leader_kpis`), the sessions against their baseline and their funnel (`dashboards.sessions`), claim
rates (`dashboards.claims`) and new leaders and members (`dashboards.growth`) — the very service functions the
API's endpoints call, on the page's report session, for the range the brand's figures are of. Charts as in
`web/dashboard_charts.py` (money in fen, rates in basis points, counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards import claims, growth, leader_kpis, sessions
from linli.dashboards.brand import BrandDashboard
from linli.dashboards.rollups import month_of
from linli.web.dashboard_charts import Chart, Series

# The income bands of dashboards.income.BUCKETS, as the page names them.
BAND_TEXT = {
    "negative": "负收入", "zero": "0 元", "under_100": "0.01–99.99 元", "100_500": "100–499.99 元",
    "500_1000": "500–999.99 元", "1000_3000": "1000–2999.99 元", "3000_plus": "3000 元及以上",
}


@dataclass(frozen=True)
class KpiFigures:
    leaders: leader_kpis.LeaderKpis
    sessions: sessions.SessionsDashboard
    claims: claims.ClaimsDashboard
    growth: growth.Growth

    @property
    def income(self) -> leader_kpis.KpiMonth:
        """The range's last month (the bands' chart)."""
        return self.leaders.months[-1]


async def kpi_figures(
    report: AsyncSession, *, brand_id: int, figures: BrandDashboard, session_id: int | None, now: datetime
) -> KpiFigures:
    """The KPIs of the range `figures` is of; the leader months end with the range's last month (this month
    when the range ends later: a month not begun has no income)."""
    date_from, date_to = figures.first_day.isoformat(), figures.last_day.isoformat()
    month = min(month_of(figures.last_day), month_of(figures.today)).strftime("%Y-%m")
    return KpiFigures(
        leaders=await leader_kpis.leader_kpis(session=report, brand_id=brand_id, month=month, now=now),
        sessions=await sessions.sessions_dashboard(session=report, brand_id=brand_id, date_from=date_from,
                                                   date_to=date_to, session_id=session_id, now=now),
        claims=await claims.claims_dashboard(session=report, brand_id=brand_id, date_from=date_from,
                                             date_to=date_to, now=now),
        growth=await growth.brand_growth(session=report, brand_id=brand_id, date_from=date_from, date_to=date_to,
                                         now=now),
    )


def session_label(kpi: sessions.SessionKpi) -> str:
    return f"{kpi.title}（{kpi.start_day.isoformat()}）"


def _months(kpis: KpiFigures) -> list[str]:
    return [m.month.strftime("%Y-%m") for m in kpis.leaders.months]


def income_bands(kpis: KpiFigures) -> Chart:
    buckets = kpis.income.income.buckets
    return Chart("bar", [BAND_TEXT[b.key] for b in buckets], [Series("团长数", "count", [b.leaders for b in buckets])])


def core_churn(kpis: KpiFigures) -> Chart:
    return Chart("bar", _months(kpis), [Series("核心团长流失率", "bp", [m.churn.rate_bp for m in kpis.leaders.months])])


def session_gmv(kpis: KpiFigures) -> Chart:
    shown = kpis.sessions.sessions
    return Chart("bar", [session_label(k) for k in shown], [
        Series("场次成交额", "fen", [k.gmv_fen for k in shown]),
        Series("基线日均成交额", "fen", [k.baseline_day_fen for k in shown]),
    ])


def _funnel_series(funnels: list[sessions.Funnel]) -> list[Series]:
    return [
        Series("浏览", "count", [f.views for f in funnels]), Series("进入", "count", [f.entries for f in funnels]),
        Series("下单", "count", [f.orders for f in funnels]), Series("支付", "count", [f.paid_orders for f in funnels]),
    ]


def session_funnel(kpis: KpiFigures) -> Chart:
    shown = kpis.sessions.sessions
    return Chart("bar", [session_label(k) for k in shown], _funnel_series([k.funnel for k in shown]))


def leader_funnel(kpis: KpiFigures) -> Chart:
    shown = kpis.sessions.leaders
    return Chart("bar", [f.name for f in shown], _funnel_series([f.funnel for f in shown]), horizontal=True)


def claim_products(kpis: KpiFigures) -> Chart:
    shown = kpis.claims.products
    return Chart("bar", [p.name for p in shown], [Series("售后率", "bp", [p.rate_bp for p in shown])])


def claim_leaders(kpis: KpiFigures) -> Chart:
    shown = kpis.claims.leaders
    return Chart("bar", [p.name for p in shown], [Series("售后率", "bp", [p.rate_bp for p in shown])], horizontal=True)


def growth_by_day(kpis: KpiFigures) -> Chart:
    days = kpis.growth.days
    return Chart("line", [d.day.isoformat() for d in days], [
        Series("新团长", "count", [d.leaders_approved for d in days]),
        Series("新成员", "count", [d.members_bound for d in days]),
    ])


def kpi_charts(kpis: KpiFigures) -> dict[str, Chart]:
    """The KPI sections' charts by section key."""
    return {
        "income": income_bands(kpis), "churn": core_churn(kpis), "sessions": session_gmv(kpis),
        "funnel": session_funnel(kpis), "funnel_leaders": leader_funnel(kpis),
        "claim_products": claim_products(kpis), "claim_leaders": claim_leaders(kpis), "growth": growth_by_day(kpis),
    }
