"""The brand console: the commission report — by live session and by community, for a range of days — and its CSV.

Exactly the API's (`linli.ledger.api.commission_report` and `commission_report_csv`): any staff role of the
brand (`brands.require_staff` through `staff_view`), the dates parsed by `statements.parse_date`, the figures of
`statements.commission_report` and the file of `statements.report_csv`, so the page, the API and the download
show the same rows. The page defaults to the last 30 days (brand time), which the API has no default for. Who may
is read on the primary, the figures where reports read (`Database.report()`, a replica when configured: the page
then says how old they are).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from linli.brands.models import Brand
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.ledger import statements
from linli.replica import staleness_of
from linli.web.console import staff_view
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import SignedIn

router = APIRouter()

DEFAULT_DAYS = 30
CSV_MEDIA = "text/csv; charset=utf-8"
DateQuery = Annotated[str, Query(max_length=10)]
GroupQuery = Annotated[str, Query(max_length=16)]


def default_range(brand: Brand, ctx: AppContext) -> tuple[str, str]:
    today = ctx.clock.now().astimezone(ZoneInfo(brand.timezone)).date()
    return (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), today.isoformat()


def _dates(form: FormState) -> tuple[date, date]:
    """Each date parsed as the API parses it; a refusal goes beside the field it is about."""
    parsed = []
    for name in ("date_from", "date_to"):
        try:
            parsed.append(statements.parse_date(form.values[name], code="report_date_invalid"))
        except DomainError as exc:
            form.refuse(exc, name)
            raise
    return parsed[0], parsed[1]


@router.get("/brands/{brand_id}/console/reports/commission")
async def report_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, date_from: DateQuery = "", date_to: DateQuery = ""
) -> Response:
    report = None
    async with ctx.db.read() as session, ctx.db.report() as reading:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        first, last = default_range(staff.brand, ctx)
        form = FormState(values={"date_from": date_from.strip() or first, "date_to": date_to.strip() or last})
        try:
            day_from, day_to = _dates(form)
            report = await statements.commission_report(
                session=reading, brand_id=brand_id, date_from=day_from, date_to=day_to
            )
        except DomainError as exc:
            if not form.errors:  # the range itself (reversed, too long): beside its end
                form.refuse(exc, "date_to")
        staleness = staleness_of(reading)
    return render(
        request, visitor, "console_reports.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="reports", form=form, report=report, staleness=staleness,
    )


@router.get("/brands/{brand_id}/console/reports/commission.csv")
async def report_csv(
    brand_id: IdPath, visitor: SignedIn, ctx: Ctx, date_from: DateQuery = "", date_to: DateQuery = "",
    group_by: GroupQuery = "community",
) -> Response:
    async with ctx.db.read() as session, ctx.db.report() as reading:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        first, last = default_range(staff.brand, ctx)
        form = FormState(values={"date_from": date_from.strip() or first, "date_to": date_to.strip() or last})
        day_from, day_to = _dates(form)  # a download has no field to show a refusal beside: the 422 page
        report = await statements.commission_report(session=reading, brand_id=brand_id, date_from=day_from, date_to=day_to)
    body = statements.report_csv(report, group_by=group_by)
    filename = f"commission-report-{report.date_from.isoformat()}-{report.date_to.isoformat()}-{group_by}.csv"
    return Response(body, media_type=CSV_MEDIA, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
    })
