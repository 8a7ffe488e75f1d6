"""New leaders and new members over time (docs/kpis.md), per local day of a range, from `dash_brand_growth_days`.

A new leader is one approved (applied → active) that day; a reinstatement after a suspension is not. A new member
is a member bound to a leader of the brand for the first time that day; a member bound again after their binding
expired, rebound by last touch, transferred to a successor or moved by an upheld dispute is not new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards.brand import date_range
from linli.dashboards.models import BrandGrowthDay
from linli.dashboards.rollups import brand_zone


@dataclass(frozen=True)
class GrowthDay:
    day: date
    leaders_approved: int
    members_bound: int


@dataclass(frozen=True)
class Growth:
    first_day: date
    last_day: date  # inclusive
    today: date
    leaders_approved: int  # over the range
    members_bound: int
    days: list[GrowthDay]  # every day of the range, zeros included


async def brand_growth(
    *, session: AsyncSession, brand_id: int, date_from: str | None, date_to: str | None, now: datetime
) -> Growth:
    """The range as the brand's dashboard takes it (default the last 30 days; 422 for a bad one)."""
    today = now.astimezone(await brand_zone(session=session, brand_id=brand_id)).date()
    first, last = date_range(date_from=date_from, date_to=date_to, today=today)
    found = {
        day: (int(leaders), int(members))
        for day, leaders, members in (await session.execute(
            select(BrandGrowthDay.day, BrandGrowthDay.leaders_approved, BrandGrowthDay.members_bound)
            .where(BrandGrowthDay.brand_id == brand_id, BrandGrowthDay.day.between(first, last))
        )).all()
    }
    days = [
        GrowthDay(first + timedelta(days=n), *found.get(first + timedelta(days=n), (0, 0)))
        for n in range((last - first).days + 1)
    ]
    return Growth(first_day=first, last_day=last, today=today, leaders_approved=sum(d.leaders_approved for d in days),
                  members_bound=sum(d.members_bound for d in days), days=days)
