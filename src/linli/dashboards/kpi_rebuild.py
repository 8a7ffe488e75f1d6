"""The session, community and claim roll-ups recomputed by set-based SQL: each table is one grouped SELECT
over the per-order facts (`dash_paid_orders`, themselves recomputed from orders and refunds by
dashboards.rebuild), the orders' products, the claims and the ended sessions' visits and orders.

`rollups_agree` compares each SELECT with the table's rows; `rebuild_rollups` runs these after writing fresh
facts, as `INSERT … SELECT` (`rebuild`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean, ColumnElement, Integer, Select, case, delete, func, insert, literal_column, select, text, type_coerce, union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from linli.aftersales.models import Claim
from linli.dashboards.kpi_rollups import ENDED, funnel_orders, funnel_visits
from linli.dashboards.models import (
    AppliedClaim, CommunityDay, CommunityMonth, LeaderClaimDay, PaidOrder, ProductDay, SessionCommunity, SessionFigures, SessionLeader,
)
from linli.db import Base
from linli.live.models import LiveSession, RoomVisit
from linli.orders.models import Order

LOCKED_TABLES = "dash_applied_claims, dash_sessions, dash_session_leaders"
_P = PaidOrder


def _brand(column: Any, brand_id: int | None) -> list[ColumnElement[bool]]:
    return [] if brand_id is None else [column == brand_id]


def _zero(name: str) -> Any:
    return literal_column("0", Integer).label(name)


def _claims_per_order() -> Any:
    return select(Claim.order_id, func.count().label("n")).group_by(Claim.order_id).subquery()


def _applied_claims(brand_id: int | None) -> Select:
    return select(Claim.id, Claim.order_id, Claim.brand_id).where(*_brand(Claim.brand_id, brand_id))


def _session_communities(brand_id: int | None) -> Select:
    return (
        select(_P.session_id, _P.community_id, _P.brand_id, func.count(), func.sum(_P.paid_fen), func.sum(_P.refunded_fen))
        .where(_P.session_id.is_not(None), _P.community_id.is_not(None), *_brand(_P.brand_id, brand_id))
        .group_by(_P.session_id, _P.community_id, _P.brand_id)
    )


def _community_days(brand_id: int | None) -> Select:
    in_session = type_coerce(_P.session_id.is_not(None), Boolean)
    return (
        select(_P.community_id, _P.paid_day, in_session.label("in_session"), _P.brand_id, func.count(),
               func.sum(_P.paid_fen), func.sum(_P.refunded_fen))
        .where(_P.community_id.is_not(None), *_brand(_P.brand_id, brand_id))
        .group_by(_P.community_id, _P.paid_day, in_session, _P.brand_id)
    )


def _community_months(brand_id: int | None) -> Select:
    paid, refunded = func.sum(_P.paid_fen), func.sum(_P.refunded_fen)
    return (
        select(_P.community_id, _P.paid_month, _P.brand_id, func.count(), paid, refunded, paid - refunded)
        .where(_P.community_id.is_not(None), *_brand(_P.brand_id, brand_id))
        .group_by(_P.community_id, _P.paid_month, _P.brand_id)
    )


def _product_days(brand_id: int | None) -> Select:
    claims = _claims_per_order()
    return (
        select(Order.product_id, _P.paid_day, _P.brand_id, func.count(),
               func.sum(case((claims.c.n > 0, 1), else_=0)), func.coalesce(func.sum(claims.c.n), 0))
        .select_from(_P)
        .join(Order, Order.id == _P.order_id)
        .outerjoin(claims, claims.c.order_id == _P.order_id)
        .where(*_brand(_P.brand_id, brand_id))
        .group_by(Order.product_id, _P.paid_day, _P.brand_id)
    )


def _leader_claim_days(brand_id: int | None) -> Select:
    claims = _claims_per_order()
    return (
        select(_P.leader_id, _P.paid_day, _P.brand_id, func.count(), func.sum(claims.c.n))
        .join(claims, claims.c.order_id == _P.order_id)
        .where(_P.leader_id.is_not(None), *_brand(_P.brand_id, brand_id))
        .group_by(_P.leader_id, _P.paid_day, _P.brand_id)
    )


def _sessions(brand_id: int | None) -> Select:
    """Paid orders per session, plus (ended sessions) the visits, entries and orders placed, plus a zero row for
    every ended session (its funnel is written even when nobody came)."""
    visits = funnel_visits(*_brand(LiveSession.brand_id, brand_id)).subquery()
    placed = funnel_orders(*_brand(LiveSession.brand_id, brand_id)).subquery()
    parts = union_all(
        select(_P.session_id, _P.brand_id, _zero("views"), _zero("entries"), _zero("placed"),
               func.count().label("paid"), func.sum(_P.paid_fen).label("paid_fen"),
               func.sum(_P.refunded_fen).label("refunded_fen"))
        .where(_P.session_id.is_not(None), *_brand(_P.brand_id, brand_id)).group_by(_P.session_id, _P.brand_id),
        select(visits.c.session_id, visits.c.brand_id, visits.c.views, visits.c.entries, _zero("placed"), _zero("paid"),
               _zero("paid_fen"), _zero("refunded_fen")),
        select(placed.c.session_id, placed.c.brand_id, _zero("views"), _zero("entries"), placed.c.placed, _zero("paid"),
               _zero("paid_fen"), _zero("refunded_fen")),
        select(LiveSession.id, LiveSession.brand_id, *(_zero(n) for n in ("views", "entries", "placed", "paid")),
               _zero("paid_fen"), _zero("refunded_fen"))
        .where(LiveSession.status == ENDED, *_brand(LiveSession.brand_id, brand_id)),
    ).subquery()
    c = parts.c
    return select(c.session_id, c.brand_id, func.sum(c.views), func.sum(c.entries), func.sum(c.placed),
                  func.sum(c.paid), func.sum(c.paid_fen), func.sum(c.refunded_fen)).group_by(c.session_id, c.brand_id)


def _session_leaders(brand_id: int | None) -> Select:
    brand = _brand(LiveSession.brand_id, brand_id)
    visits = funnel_visits(RoomVisit.leader_id.is_not(None), *brand).subquery()
    placed = funnel_orders(Order.leader_id.is_not(None), *brand).subquery()
    parts = union_all(
        select(_P.session_id, _P.leader_id, _P.brand_id, _zero("views"), _zero("entries"), _zero("placed"),
               func.count().label("paid"))
        .where(_P.session_id.is_not(None), _P.leader_id.is_not(None), *_brand(_P.brand_id, brand_id))
        .group_by(_P.session_id, _P.leader_id, _P.brand_id),
        select(visits.c.session_id, visits.c.leader_id, visits.c.brand_id, visits.c.views, visits.c.entries,
               _zero("placed"), _zero("paid")),
        select(placed.c.session_id, placed.c.leader_id, placed.c.brand_id, _zero("views"), _zero("entries"),
               placed.c.placed, _zero("paid")),
    ).subquery()
    c = parts.c
    return select(c.session_id, c.leader_id, c.brand_id, func.sum(c.views), func.sum(c.entries), func.sum(c.placed),
                  func.sum(c.paid)).group_by(c.session_id, c.leader_id, c.brand_id)


@dataclass(frozen=True)
class _Table:
    name: str
    model: type[Base]
    keys: tuple[str, ...]
    values: tuple[str, ...]  # in the SELECT's order after the keys; all integers
    query: Callable[[int | None], Select]


TABLES = (
    _Table("applied_claims", AppliedClaim, ("claim_id",), ("order_id", "brand_id"), _applied_claims),
    _Table("sessions", SessionFigures, ("session_id",),
           ("brand_id", "views", "entries", "placed_orders", "orders", "paid_fen", "refunded_fen"), _sessions),
    _Table("session_leaders", SessionLeader, ("session_id", "leader_id"),
           ("brand_id", "views", "entries", "placed_orders", "orders"), _session_leaders),
    _Table("session_communities", SessionCommunity, ("session_id", "community_id"),
           ("brand_id", "orders", "paid_fen", "refunded_fen"), _session_communities),
    _Table("community_days", CommunityDay, ("community_id", "day", "in_session"),
           ("brand_id", "orders", "paid_fen", "refunded_fen"), _community_days),
    _Table("community_months", CommunityMonth, ("community_id", "month"),
           ("brand_id", "orders", "paid_fen", "refunded_fen", "gmv_fen"), _community_months),
    _Table("product_days", ProductDay, ("product_id", "day"), ("brand_id", "lines", "claimed_lines", "claims"),
           _product_days),
    _Table("leader_claim_days", LeaderClaimDay, ("leader_id", "day"), ("brand_id", "claimed_lines", "claims"),
           _leader_claim_days),
)


def _keyed(rows: Any, table: _Table) -> dict[tuple, tuple]:
    width = len(table.keys)
    return {tuple(row[:width]): tuple(int(v) for v in row[width:]) for row in rows}


async def _expected(session: AsyncSession, table: _Table, brand_id: int | None) -> dict[tuple, tuple]:
    return _keyed((await session.execute(table.query(brand_id))).all(), table)


async def _stored(session: AsyncSession, table: _Table, brand_id: int | None) -> dict[tuple, tuple]:
    model = table.model
    columns = [getattr(model, name) for name in (*table.keys, *table.values)]
    return _keyed((await session.execute(select(*columns).where(*_brand(model.brand_id, brand_id)))).all(), table)


async def differences(*, session: AsyncSession, brand_id: int | None = None) -> dict[str, int]:
    """Per table, how many keys differ between the kept rows and the recomputation."""
    counts = {}
    for table in TABLES:
        mine, fresh = await _stored(session, table, brand_id), await _expected(session, table, brand_id)
        differing = sum(1 for key in mine.keys() | fresh.keys() if mine.get(key) != fresh.get(key))
        if differing:
            counts[table.name] = differing
    return counts


async def rebuild(*, session: AsyncSession, brand_id: int | None = None) -> None:
    """Replaces these tables' rows (of one brand, or all) by the recomputation; call it once `dash_paid_orders`
    is fresh."""
    if session.get_bind().dialect.name == "postgresql":  # the claim and session-end handlers' own rows
        await session.execute(text(f"LOCK TABLE {LOCKED_TABLES} IN EXCLUSIVE MODE"))
    for table in TABLES:
        model = table.model
        await session.execute(delete(model).where(*_brand(model.brand_id, brand_id)))
        await session.execute(insert(model).from_select([*table.keys, *table.values], table.query(brand_id)))
