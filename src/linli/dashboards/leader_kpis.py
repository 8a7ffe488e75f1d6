"""The brand's leader KPIs of a month and the six before it: leader monthly income (`income`) and core-leader
churn (`churn`), read from the roll-ups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards.churn import MonthChurn, core_churn
from linli.dashboards.income import MonthIncome, monthly_income
from linli.dashboards.rollups import brand_zone, month_of, previous_month
from linli.errors import InvalidInput

MONTHS_SHOWN = 7  # the month asked for and the 6 before it
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class KpiMonth:
    month: date
    income: MonthIncome
    churn: MonthChurn


@dataclass(frozen=True)
class LeaderKpis:
    month: date
    today: date
    months: list[KpiMonth]  # oldest first, ending with `month`


def parse_month(raw: str | None, *, today: date) -> date:
    """YYYY-MM (brand-local), by default this month; one not begun yet is refused."""
    if raw is None:
        return month_of(today)
    found = _MONTH.match(raw)
    if found is None or not 1 <= int(found.group(2)) <= 12 or not 1900 <= int(found.group(1)) <= 2999:
        raise InvalidInput("月份格式应为 YYYY-MM", code="month_invalid")
    month = date(int(found.group(1)), int(found.group(2)), 1)
    if month > today:
        raise InvalidInput("所选月份尚未开始", code="month_in_future")
    return month


async def leader_kpis(*, session: AsyncSession, brand_id: int, month: str | None, now: datetime) -> LeaderKpis:
    today = now.astimezone(await brand_zone(session=session, brand_id=brand_id)).date()
    last = parse_month(month, today=today)
    months = [last]
    while len(months) < MONTHS_SHOWN:
        months.insert(0, previous_month(months[0]))
    income = await monthly_income(session=session, brand_id=brand_id, months=months)
    churn = await core_churn(session=session, brand_id=brand_id, months=months, today=today)
    return LeaderKpis(month=last, today=today,
                      months=[KpiMonth(m, i, c) for m, i, c in zip(months, income, churn, strict=True)])
