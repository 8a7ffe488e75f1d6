"""The leader's workbench: 数据 (the leader's dashboard) for today, this week, this month or a chosen month.

The same figures as `GET /api/v1/brands/{id}/leader/dashboard` (`dashboards.service.leader_dashboard`, read
from the roll-ups, docs/kpis.md): `leaders.require_active_leader` first, then the period; a period it cannot
show (not a month, a month not begun) is told beside the month field with its status (422).

While a session of the brand is live the page also shows the leader's live panel (`dashboards.live_panel`),
which `dashboard.js` refreshes from `GET …/leader/dashboard/live` whenever the room's stream reports a stock,
ticker or offer event, and every 15 s (payments change it without a room event). The panel reads the primary: a
refresh follows the commit that triggered it, which a replica may not have replayed yet. The period's figures
come from `Database.report()` (a replica when configured) and the page then says how old they are.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.dashboards import service as dashboards
from linli.dashboards.live_panel import leader_live_panel
from linli.errors import DomainError
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.replica import staleness_of
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import SignedIn
from linli.web.workbench import user_id_of

router = APIRouter()

PeriodText = Annotated[str, Query(max_length=16)]
TABS = (("today", "今天"), ("week", "本周"), ("month", "本月"))


@router.get("/brands/{brand_id}/leader/dashboard")
async def dashboard_page(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, period: PeriodText = "today") -> Response:
    form = FormState(values={"period": period})
    figures = None
    # Who may, the commission and the live panel on the primary; the period's figures where reports read.
    async with ctx.db.read() as session, ctx.db.report() as report:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        try:
            figures = await dashboards.leader_dashboard(
                session=report, balances_session=session, brand_id=brand_id, leader_id=leader.id,
                period_kind=period.strip(), now=ctx.clock.now(),
            )
        except DomainError as exc:
            form.refuse(exc, "period")
        if figures is None:  # the month typed is told beside its field; the page shows today meanwhile
            figures = await dashboards.leader_dashboard(
                session=report, balances_session=session, brand_id=brand_id, leader_id=leader.id, period_kind="today",
                now=ctx.clock.now(),
            )
        panel = await leader_live_panel(session=session, brand_id=brand_id, leader_id=leader.id)
        staleness = staleness_of(report)
    chosen_month = figures.period.kind if figures.period.kind not in dict(TABS) else figures.today.strftime("%Y-%m")
    return render(
        request, visitor, "workbench_dashboard.html", status_code=form.status_code, brand=brand, form=form,
        figures=figures, tabs=TABS, chosen_month=form.values["period"] if form.errors else chosen_month, tab="dashboard",
        panel=panel, staleness=staleness,
    )


@router.get("/brands/{brand_id}/leader/dashboard/live")
async def live_panel_fragment(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    """The live panel alone (the page's script swaps it in); empty when no session is live any more."""
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        panel = await leader_live_panel(session=session, brand_id=brand_id, leader_id=leader.id)
    return render(request, visitor, "workbench_live_panel.html", brand=brand, panel=panel)
