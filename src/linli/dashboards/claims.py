"""The brand's claim rates (docs/kpis.md): of the orders paid in a range (an order is one product line), how
many have at least one after-sales claim, per product and per leader.

Read from the roll-ups: `dash_product_days` (paid lines, claimed lines and claims per product and paid day),
`dash_leader_days.orders` (a leader's paid lines) and `dash_leader_claim_days`. A claim counts on the day its
order was paid, whenever it was filed, so a range's rate grows as its claims arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.catalog import service as catalog
from linli.dashboards.brand import date_range
from linli.dashboards.models import LeaderClaimDay, LeaderDay, ProductDay
from linli.dashboards.rollups import brand_zone
from linli.leaders import service as leaders

TOP_LEADERS = 50


@dataclass(frozen=True)
class ClaimFigures:
    paid_lines: int  # orders paid in the range
    claimed_lines: int  # of them, those with at least one claim filed
    claims: int  # claims filed on them (an order may have several, one after another)

    @property
    def rate_bp(self) -> int | None:
        """claimed_lines ÷ paid_lines in basis points, rounded down; None without a paid line."""
        return self.claimed_lines * 10_000 // self.paid_lines if self.paid_lines else None


@dataclass(frozen=True)
class NamedClaimFigures(ClaimFigures):
    key: int  # the product's or the leader's id
    name: str


@dataclass(frozen=True)
class ClaimsDashboard:
    first_day: date
    last_day: date
    today: date
    totals: ClaimFigures
    products: list[NamedClaimFigures]  # every product with a paid line in the range
    leaders: list[NamedClaimFigures]  # the 50 leaders with the most claimed lines (then the most paid lines)


def _ranked(figures: list[NamedClaimFigures]) -> list[NamedClaimFigures]:
    return sorted(figures, key=lambda f: (-f.claimed_lines, -f.paid_lines, f.key))


async def _products(session: AsyncSession, *, brand_id: int, first: date, last: date) -> list[NamedClaimFigures]:
    p = ProductDay
    rows = (await session.execute(
        select(p.product_id, func.sum(p.lines), func.sum(p.claimed_lines), func.sum(p.claims))
        .where(p.brand_id == brand_id, p.day.between(first, last)).group_by(p.product_id)
    )).all()
    names = await catalog.products_by_ids(session=session, product_ids={row[0] for row in rows})
    return _ranked([
        NamedClaimFigures(int(paid), int(claimed), int(claims), key=product_id, name=names[product_id].name)
        for product_id, paid, claimed, claims in rows
    ])


async def _leaders(session: AsyncSession, *, brand_id: int, first: date, last: date) -> list[NamedClaimFigures]:
    paid = dict((await session.execute(
        select(LeaderDay.leader_id, func.sum(LeaderDay.orders))
        .where(LeaderDay.brand_id == brand_id, LeaderDay.day.between(first, last)).group_by(LeaderDay.leader_id)
    )).all())
    c = LeaderClaimDay
    claimed = {leader_id: (int(lines), int(claims)) for leader_id, lines, claims in (await session.execute(
        select(c.leader_id, func.sum(c.claimed_lines), func.sum(c.claims))
        .where(c.brand_id == brand_id, c.day.between(first, last)).group_by(c.leader_id)
    )).all()}
    figures = [
        NamedClaimFigures(int(lines), *claimed.get(leader_id, (0, 0)), key=leader_id, name="")
        for leader_id, lines in paid.items()
    ]
    top = _ranked(figures)[:TOP_LEADERS]
    names = await leaders.leaders_by_ids(session=session, leader_ids={f.key for f in top})
    return [NamedClaimFigures(f.paid_lines, f.claimed_lines, f.claims, key=f.key, name=names[f.key].real_name) for f in top]


async def claims_dashboard(
    *, session: AsyncSession, brand_id: int, date_from: str | None, date_to: str | None, now: datetime
) -> ClaimsDashboard:
    """The claim rates of the orders paid in the range (422 for a bad one, as for the brand's dashboard)."""
    today = now.astimezone(await brand_zone(session=session, brand_id=brand_id)).date()
    first, last = date_range(date_from=date_from, date_to=date_to, today=today)
    products = await _products(session, brand_id=brand_id, first=first, last=last)
    totals = ClaimFigures(sum(p.paid_lines for p in products), sum(p.claimed_lines for p in products),
                          sum(p.claims for p in products))
    return ClaimsDashboard(
        first_day=first, last_day=last, today=today, totals=totals, products=products,
        leaders=await _leaders(session, brand_id=brand_id, first=first, last=last),
    )
