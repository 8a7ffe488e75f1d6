"""The leader's workbench: statements (对账单) for a day or a month in the brand's time zone, and their CSV.

As `GET /api/v1/brands/{id}/leader/statement` and `…/statement.csv`: `leaders.require_active_leader` first, the
period checked (`statements.check_period`), the date parsed (`statements.parse_date`, today in the brand's time
zone when none is given), then `statements.leader_statement` for the page and `statements.open_statement` +
`statements.statement_csv` for the download, each in one snapshot, so the page, the download and the API's
download show the same figures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.models import Brand
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.ledger import statements
from linli.pagination import PageParams
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import SignedIn
from linli.web.workbench import user_id_of

router = APIRouter()

PAGE_SIZE = 50
PeriodText = Annotated[str, Query(max_length=8)]
OnText = Annotated[str | None, Query(max_length=10)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
CSV_MEDIA = "text/csv; charset=utf-8"


@asynccontextmanager
async def snapshot(ctx: AppContext) -> AsyncIterator[AsyncSession]:
    """One snapshot for all of a statement's queries, as the API reads it: a posting landing between them
    would unbalance it. (SQLite's read transaction is a snapshot already.)"""
    async with ctx.db.read() as session:
        if ctx.db.dialect == "postgresql":
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


def day_of(period: str, on: str | None, *, brand: Brand, ctx: AppContext) -> date:
    """The day the statement is about: `on` (a month input sends YYYY-MM: its first day), else today."""
    statements.check_period(period)
    if not on:
        return ctx.clock.now().astimezone(ZoneInfo(brand.timezone)).date()
    text = on.strip()
    if period == statements.PERIOD_MONTH and len(text) == 7:
        text += "-01"
    return statements.parse_date(text, code="statement_date_invalid")


@router.get("/brands/{brand_id}/leader/statements")
async def statements_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, period: PeriodText = statements.PERIOD_DAY,
    on: OnText = None, page: PageNumber = 1,
) -> Response:
    form = FormState(values={"period": period, "on": on or ""})
    statement = None
    async with snapshot(ctx) as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        try:
            day = day_of(period, on, brand=brand, ctx=ctx)
        except DomainError as exc:
            form.refuse(exc, "on")
        else:
            statement = await statements.leader_statement(
                session=session, brand_id=brand_id, leader_id=leader.id, period=period, on=day,
                page=PageParams(page=page, page_size=PAGE_SIZE),
            )
    shown = statement.on if statement is not None else ctx.clock.now().astimezone(ZoneInfo(brand.timezone)).date()
    return render(
        request, visitor, "workbench_statements.html", status_code=form.status_code, brand=brand, form=form,
        statement=statement, period=period if statement is not None else statements.PERIOD_DAY,
        day_value=shown.isoformat(), month_value=statements.period_label(statements.PERIOD_MONTH, shown),
        page=page, pages=max(1, -(-statement.line_count // PAGE_SIZE)) if statement is not None else 1,
        tab="statements",
    )


@router.get("/brands/{brand_id}/leader/statements.csv")
async def statement_csv(
    brand_id: IdPath, visitor: SignedIn, ctx: Ctx, period: PeriodText = statements.PERIOD_DAY, on: OnText = None
) -> StreamingResponse:
    # Checked before the first byte, so that a refusal or bad input is still a clean 4xx page.
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        day = day_of(period, on, brand=await brands.get_brand(session=session, brand_id=brand_id), ctx=ctx)

    async def body() -> AsyncIterator[bytes]:
        async with snapshot(ctx) as session:
            header = await statements.open_statement(
                session=session, brand_id=brand_id, leader_id=leader.id, period=period, on=day
            )
            async for chunk in statements.statement_csv(session=session, statement=header):
                yield chunk

    filename = f"statement-{leader.id}-{statements.period_label(period, day)}.csv"
    return StreamingResponse(
        body(), media_type=CSV_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
