"""The leader KPIs' roll-ups recomputed from the raw tables in set-based SQL (INSERT … SELECT … GROUP BY, so that a
rebuild never loads the orders or the ledger into memory), compared with what the outbox kept (EXCEPT both ways).

From the raw tables, with the rules `dashboards.rollups` and `dashboards.leader_rollups` apply event by event:
- commissions and income months: the ledger's accrual and clawback transactions, by the local month of
  `posted_at`, the amount of the entry on the leader's account;
- growth: leaders by `leaders.activated_at` (set once, at approval), members by their first binding
  (the attribution trail's `bound / first_entry`, one per member), on their local day.

A rebuild from a local day D replaces the day roll-ups from D on and the month roll-ups from D's month on (a
month is one row); earlier rows are left as they are. `rebuild.rebuild_rollups` runs it with `rebuild_orders`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, delete, except_, func, insert, literal_column, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from linli.attribution.models import AttributionEvent
from linli.brands.models import Brand
from linli.dashboards.models import AppliedCommission, BrandGrowthDay, GrowthFact, LeaderIncomeMonth
from linli.dashboards.rollups import month_of
from linli.db import Base, local_date, local_month
from linli.leaders.models import Leader
from linli.ledger.models import LEADER_KINDS, TX_ACCRUAL, TX_CLAWBACK, LedgerAccount, LedgerEntry, LedgerTransaction


@dataclass(frozen=True)
class Scope:
    brand_id: int
    zone: str
    first_day: date | None  # None: from the beginning

    def since(self, *, monthly: bool) -> datetime | None:
        """The UTC instant the rows recomputed start at: D's (or D's month's) local midnight."""
        if self.first_day is None:
            return None
        day = month_of(self.first_day) if monthly else self.first_day
        return datetime.combine(day, time.min, ZoneInfo(self.zone)).astimezone(UTC)


def _after(column: ColumnElement, since: datetime | None) -> list[ColumnElement[bool]]:
    return [] if since is None else [column >= since]


def _commissions(scope: Scope) -> Select:
    """One row per accrual or clawback: the entry on the leader's account (each such posting has exactly one)."""
    return (
        select(LedgerTransaction.id.label("transaction_id"), LedgerTransaction.brand_id, LedgerAccount.leader_id,
               local_month(LedgerTransaction.posted_at, scope.zone).label("month"), LedgerTransaction.kind,
               LedgerEntry.amount_fen)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerTransaction.brand_id == scope.brand_id, LedgerTransaction.kind.in_((TX_ACCRUAL, TX_CLAWBACK)),
               LedgerAccount.kind.in_(LEADER_KINDS), *_after(LedgerTransaction.posted_at, scope.since(monthly=True)))
    )


def _income_months(scope: Scope) -> Select:
    rows = _commissions(scope).subquery()
    accrued = func.sum(case((rows.c.kind == TX_ACCRUAL, rows.c.amount_fen), else_=0))
    clawed = -func.sum(case((rows.c.kind == TX_CLAWBACK, rows.c.amount_fen), else_=0))
    return select(
        rows.c.leader_id, rows.c.month, rows.c.brand_id, accrued.label("accrued_fen"), clawed.label("clawed_back_fen")
    ).group_by(rows.c.leader_id, rows.c.month, rows.c.brand_id)


def _growth_facts(scope: Scope) -> Select:
    since = scope.since(monthly=False)
    leaders = select(
        literal_column("'leader'").label("kind"), Leader.id.label("subject_id"), Leader.brand_id,
        local_date(Leader.activated_at, scope.zone).label("day"),
    ).where(Leader.brand_id == scope.brand_id, Leader.activated_at.is_not(None), *_after(Leader.activated_at, since))
    members = select(
        literal_column("'member'"), AttributionEvent.member_id, AttributionEvent.brand_id,
        local_date(AttributionEvent.occurred_at, scope.zone),
    ).where(AttributionEvent.brand_id == scope.brand_id, AttributionEvent.kind == "bound",
            AttributionEvent.reason == "first_entry", *_after(AttributionEvent.occurred_at, since))
    facts = union(leaders, members).subquery()
    return select(facts.c.kind, facts.c.subject_id, facts.c.brand_id, facts.c.day)


def _growth_days(scope: Scope) -> Select:
    facts = _growth_facts(scope).subquery()
    return select(
        facts.c.brand_id, facts.c.day,
        func.sum(case((facts.c.kind == "leader", 1), else_=0)).label("leaders_approved"),
        func.sum(case((facts.c.kind == "member", 1), else_=0)).label("members_bound"),
    ).group_by(facts.c.brand_id, facts.c.day)


@dataclass(frozen=True)
class _Table:
    name: str  # as `linli rollup` reports it
    model: type[Base]
    keys: tuple[str, ...]
    period: str  # the day or month column a rebuild from a day starts at
    monthly: bool
    expected: Callable[[Scope], Select]  # its columns in the model's column order

    @property
    def columns(self) -> list[str]:
        return [column.name for column in self.model.__table__.columns]

    def kept(self, scope: Scope) -> list[ColumnElement[bool]]:
        """The rows of the scope: the brand's, from the first day's day or month on."""
        table = self.model.__table__
        conditions = [table.c.brand_id == scope.brand_id]
        if scope.first_day is not None:
            conditions.append(table.c[self.period] >= (month_of(scope.first_day) if self.monthly else scope.first_day))
        return conditions

    def stored(self, scope: Scope) -> Select:
        table = self.model.__table__
        return select(*(table.c[name] for name in self.columns)).where(*self.kept(scope))


TABLES = (
    _Table("applied_commissions", AppliedCommission, ("transaction_id",), "month", True, _commissions),
    _Table("leader_income_months", LeaderIncomeMonth, ("leader_id", "month"), "month", True, _income_months),
    _Table("growth_facts", GrowthFact, ("kind", "subject_id"), "day", False, _growth_facts),
    _Table("brand_growth_days", BrandGrowthDay, ("brand_id", "day"), "day", False, _growth_days),
)


async def brand_scopes(session: AsyncSession, brand_id: int | None, first_day: date | None) -> list[Scope]:
    """One scope per brand (or the one asked for), with its time zone."""
    query = select(Brand.id, Brand.timezone).order_by(Brand.id)
    if brand_id is not None:
        query = query.where(Brand.id == brand_id)
    return [Scope(brand, zone, first_day) for brand, zone in (await session.execute(query)).all()]


async def leader_rollups_differ(*, session: AsyncSession, brand_id: int | None = None) -> dict[str, int]:
    """Per table, how many keys differ between the kept rows and a recomputation (missing or other values)."""
    counts: dict[str, int] = {}
    for scope in await brand_scopes(session, brand_id, None):
        for table in TABLES:
            stored, expected = table.stored(scope), table.expected(scope)
            only_kept, only_expected = except_(stored, expected).subquery(), except_(expected, stored).subquery()
            keys = union(
                select(*(only_kept.c[k] for k in table.keys)), select(*(only_expected.c[k] for k in table.keys))
            ).subquery()
            differing = int(await session.scalar(select(func.count()).select_from(keys)) or 0)
            if differing:
                counts[table.name] = counts.get(table.name, 0) + differing
    return counts


async def rebuild_kpi_scope(*, session: AsyncSession, scope: Scope) -> dict[str, int]:
    """Replaces the scope's rows (one brand's; from its first day on, or all) by the recomputation; rows written per
    table. `rebuild.rebuild_rollups` calls it, after locking the tables each event inserts into first."""
    written = {}
    for table in TABLES:
        model = table.model.__table__
        await session.execute(delete(model).where(*table.kept(scope)))
        result = await session.execute(insert(model).from_select(table.columns, table.expected(scope)))
        written[table.name] = max(result.rowcount or 0, 0)
    return written
