"""The brand console: 数据看板 — a range's figures with charts (ECharts), a table under each chart, and each table
as CSV; then the KPI sections (leader income and churn, sessions and their funnel, claim rates, growth) of
`web/dashboard_kpi_charts.py`, the services the KPI endpoints call, for the same range.

Exactly the API's (`dashboards.api.brand_dashboard` and `brand_dashboard_csv`): any staff role of the brand
(`brands.require_staff` through `staff_view`), the figures of `dashboards.brand.brand_dashboard` and the files
of `dashboards.exports.dashboard_csv`, so the page, the API and the download show the same numbers. The
community and leader are chosen from the brand's own; a value that is not one of them, or a date or range the
service refuses, is told beside its field (422) and no figures are shown. The session (场次) narrows the
sessions' sections only, chosen from the brand's sessions that went live. Access and the filters' choices are
read on the primary, the figures where reports read (`Database.report()`, a replica when configured; the page
then says how old they are).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.dashboards import brand, exports, sessions
from linli.dashboards.rollups import brand_zone
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.live import service as live
from linli.ledger import statements
from linli.pagination import PageParams
from linli.replica import staleness_of
from linli.web.console import staff_view
from linli.web.console_leaders import STATUS_TEXT
from linli.web.dashboard_charts import brand_charts
from linli.web.dashboard_kpi_charts import BAND_TEXT, kpi_charts, kpi_figures
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import SignedIn

router = APIRouter()

FilterText = Annotated[str, Query(max_length=20)]
TableName = Annotated[str, Path(max_length=16)]
CSV_MEDIA = "text/csv; charset=utf-8"
ALL = PageParams(page=1, page_size=1000)  # the filters' choices: a brand has tens to hundreds of them
FIELDS = ("date_from", "date_to", "community_id", "leader_id", "session_id")
NEVER_LED = ("applied", "rejected")  # an applicant never had an order attributed


@dataclass(frozen=True)
class Choices:
    communities: list[tuple[int, str]]
    leaders: list[tuple[int, str]]
    sessions: list[tuple[int, str]]


async def filter_choices(session: AsyncSession, *, brand_id: int) -> Choices:
    rows, _ = await brands.list_communities(session=session, brand_id=brand_id, params=ALL)
    names = {community.id: community.name for community, _ in rows}
    held, _ = await leaders.list_leaders(session=session, brand_id=brand_id, status=None, params=ALL)
    shows, _ = await live.list_sessions(session=session, brand_id=brand_id, status=None, params=ALL)
    zone = await brand_zone(session=session, brand_id=brand_id)
    return Choices(
        communities=[(community.id, community.name) for community, _ in rows],
        leaders=[
            (leader.id, f"{leader.real_name}（{names.get(leader.community_id, '')}）"
                        + ("" if leader.status == "active" else f" · {STATUS_TEXT[leader.status]}"))
            for leader in held if leader.status not in NEVER_LED
        ],
        sessions=[  # latest first; only those that went live have figures
            (show.id, f"{show.title}（{(show.started_at or show.scheduled_start_at).astimezone(zone):%Y-%m-%d}）")
            for show in shows if show.status in sessions.SHOWN_STATUSES
        ],
    )


def _chosen(form: FormState, name: str, choices: list[tuple[int, str]], message: str) -> int | None:
    """The id chosen in a select, which must be one of its options; empty is everything."""
    text = form.values[name]
    if not text:
        return None
    if text.isascii() and text.isdigit() and int(text) in {key for key, _ in choices}:
        return int(text)
    exc = InvalidInput(message, code=f"{name.removesuffix('_id')}_invalid")
    form.refuse(exc, name)
    raise exc


async def figures_of(
    report: AsyncSession, ctx: AppContext, *, brand_id: int, form: FormState, choices: Choices,
    complete: str | None = None,
) -> brand.BrandDashboard:
    """The service's figures for what the form asks (`complete`: the table whose file lists every row); a refusal
    is put beside its field first, then raised."""
    community_id = _chosen(form, "community_id", choices.communities, "请从列表中选择小区")
    leader_id = _chosen(form, "leader_id", choices.leaders, "请从列表中选择团长")
    for name in ("date_from", "date_to"):  # parsed one by one, as the service will, to say which one is wrong
        if form.values[name]:
            try:
                statements.parse_date(form.values[name], code="date_invalid")
            except DomainError as exc:
                form.refuse(exc, name)
                raise
    try:
        return await brand.brand_dashboard(
            session=report, brand_id=brand_id, date_from=form.values["date_from"] or None,
            date_to=form.values["date_to"] or None, leader_id=leader_id, community_id=community_id,
            now=ctx.clock.now(), complete=complete,
        )
    except InvalidInput as exc:  # the range itself (reversed, too long): beside its end
        form.refuse(exc, "date_to")
        raise


def _form(**values: str) -> FormState:
    return FormState(values={name: values.get(name, "").strip() for name in FIELDS})


def csv_query(figures: brand.BrandDashboard) -> str:
    """The query of the 「导出 CSV」 links: the range shown and the filters applied."""
    asked = {"date_from": figures.first_day.isoformat(), "date_to": figures.last_day.isoformat(),
             "community_id": figures.community_id, "leader_id": figures.leader_id}
    return urlencode({name: value for name, value in asked.items() if value is not None})


@router.get("/brands/{brand_id}/console/dashboard")
async def dashboard_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, date_from: FilterText = "",
    date_to: FilterText = "", community_id: FilterText = "", leader_id: FilterText = "", session_id: FilterText = "",
) -> Response:
    form = _form(date_from=date_from, date_to=date_to, community_id=community_id, leader_id=leader_id,
                 session_id=session_id)
    figures = kpis = live_id = None
    async with ctx.db.read() as session, ctx.db.report() as report:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        choices = await filter_choices(session, brand_id=brand_id)
        try:
            live_id = _chosen(form, "session_id", choices.sessions, "请从列表中选择场次")
            figures = await figures_of(report, ctx, brand_id=brand_id, form=form, choices=choices)
        except InvalidInput:
            pass  # told beside its field
        if figures is not None:
            kpis = await kpi_figures(report, brand_id=brand_id, figures=figures, session_id=live_id,
                                     now=ctx.clock.now())
        staleness = staleness_of(report)
    shown: dict[str, Any] = {"charts": {}, "query": ""}
    if figures is not None and kpis is not None:  # the range the figures are of (the default when none was typed)
        form.values.update(date_from=figures.first_day.isoformat(), date_to=figures.last_day.isoformat())
        shown = {"charts": brand_charts(figures) | kpi_charts(kpis), "query": csv_query(figures)}
    return render(
        request, visitor, "console_dashboard.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="dashboard", form=form, choices=choices, figures=figures, kpis=kpis, band_text=BAND_TEXT,
        staleness=staleness, **shown,
    )


@router.get("/brands/{brand_id}/console/dashboard/{table}.csv")
async def dashboard_csv(
    brand_id: IdPath, table: TableName, visitor: SignedIn, ctx: Ctx, date_from: FilterText = "",
    date_to: FilterText = "", community_id: FilterText = "", leader_id: FilterText = "",
) -> Response:
    form = _form(date_from=date_from, date_to=date_to, community_id=community_id, leader_id=leader_id)
    async with ctx.db.read() as session, ctx.db.report() as report:
        await staff_view(session, brand_id=brand_id, visitor=visitor)
        exports.check_table(table)
        choices = await filter_choices(session, brand_id=brand_id)
        # A download has no field to show a refusal beside: the 422 page.
        figures = await figures_of(report, ctx, brand_id=brand_id, form=form, choices=choices, complete=table)
    return Response(exports.dashboard_csv(figures, table=table), media_type=CSV_MEDIA, headers={
        "Content-Disposition": f'attachment; filename="{exports.csv_filename(figures, table=table)}"',
        "Cache-Control": "no-store",
    })
