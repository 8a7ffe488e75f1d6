"""Settlement: pending commission becomes available once its line is eligible (completion + window).

`settle_due` walks the due lines in (eligible_at, id) order, one batch per transaction (keyset
pagination over ix_commission_lines_due, so memory stays bounded and each due line is read once per
run). Each batch claims its lines with FOR UPDATE SKIP LOCKED on PostgreSQL (concurrent settlers take
disjoint lines; SQLite has one writer anyway), then writes with set-based statements (INSERT … SELECT,
one UPDATE; no row is built in Python): one transaction per line (`settlement:order:{order_id}`,
leader pending → leader available, for commission − clawbacks so far), its two entries and the line's
new status. A line whose clawbacks left nothing is marked settled with 0 and no transaction. Running it
twice settles nothing twice: a settled line is no longer due, and the unique key is the last line of
defence. A line locked at that moment (a clawback in progress) is skipped and settled by the next run.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from typing import Any

from sqlalchemy import BigInteger, Row, String, any_, bindparam, cast, func, insert, literal, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from linli.db import Database, UTCDateTime
from linli.ledger import service
from linli.ledger.accrual import SETTLEMENT_KEY_PREFIX
from linli.ledger.models import (
    LEADER_AVAILABLE,
    LEADER_PENDING,
    LINE_PENDING,
    LINE_SETTLED,
    TX_SETTLEMENT,
    CommissionLine,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)

DEFAULT_BATCH = 1000
SETTLEMENT_MEMO = "售后期已过，佣金转为可提现"
Cursor = tuple[datetime, int]  # (eligible_at, id) of the last line of a batch: the keyset


@dataclass(frozen=True)
class BatchResult:
    lines: int
    amount_fen: int
    cursor: Cursor | None  # where the next batch starts; None when nothing was due
    transactions: int = 0


@dataclass
class SettleReport:
    lines: int = 0
    transactions: int = 0
    amount_fen: int = 0
    batches: int = 0


async def settle_batch(
    *, session: AsyncSession, as_of: datetime, now: datetime, after: Cursor | None = None, limit: int = DEFAULT_BATCH
) -> BatchResult:
    """Settles up to `limit` due lines after the cursor, in (eligible_at, id) order: a range scan of
    ix_commission_lines_due (status, eligible_at, id), so every run reads each due line once."""
    query = (
        select(
            CommissionLine.id, CommissionLine.order_id, CommissionLine.brand_id, CommissionLine.leader_id,
            CommissionLine.commission_fen, CommissionLine.clawed_back_fen, CommissionLine.rule_version_id,
            CommissionLine.eligible_at,
        )
        .where(
            CommissionLine.status == LINE_PENDING,
            CommissionLine.eligible_at.is_not(None),
            CommissionLine.eligible_at <= as_of,
        )
        .order_by(CommissionLine.eligible_at, CommissionLine.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if after is not None:
        query = query.where(tuple_(CommissionLine.eligible_at, CommissionLine.id) > tuple_(after[0], after[1]))
    rows = (await session.execute(query)).all()
    if not rows:
        return BatchResult(lines=0, amount_fen=0, cursor=None)

    await _ensure_accounts(session, rows, now)
    ids = [row.id for row in rows]
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_SETTLE_POSTGRESQL, {"ids": ids, "now": now, "memo": SETTLEMENT_MEMO})
    else:
        await _settle_portable(session, rows, now)
    last = rows[-1]
    return BatchResult(
        lines=len(rows), amount_fen=sum(row.commission_fen - row.clawed_back_fen for row in rows),
        cursor=(last.eligible_at, last.id),
        transactions=sum(1 for row in rows if row.commission_fen - row.clawed_back_fen > 0),
    )


async def _ensure_accounts(session: AsyncSession, rows: Sequence[Row], now: datetime) -> None:
    """The leaders' accounts exist from their first accrual; make sure anyway (one count when they do)."""
    leaders_by_brand: dict[int, set[int]] = defaultdict(set)
    for row in rows:
        leaders_by_brand[row.brand_id].add(row.leader_id)
    kinds = (LEADER_PENDING, LEADER_AVAILABLE)
    for brand_id, leader_ids in leaders_by_brand.items():
        found = await session.scalar(
            select(func.count()).select_from(LedgerAccount).where(
                LedgerAccount.brand_id == brand_id, _in(session, LedgerAccount.leader_id, sorted(leader_ids)),
                LedgerAccount.kind.in_(kinds),
            )
        )
        if found != len(kinds) * len(leader_ids):
            specs = [(kind, leader) for leader in leader_ids for kind in kinds]
            await service.accounts_by_code(session=session, brand_id=brand_id, specs=specs, now=now)


def _in(session: AsyncSession, column: Any, values: list[int]) -> Any:
    """`column IN values`: one array parameter on PostgreSQL (no statement with thousands of parameters)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("values", values, type_=ARRAY(BigInteger)))
    return column.in_(values)


# PostgreSQL: the whole batch in one statement (one round trip, no lookup of each transaction by its
# key): the lines become settled, each line with something left gets its transaction, and each
# transaction its two entries. The lines are locked by the claim, so what they say is what was read.
_SETTLE_POSTGRESQL = text(f"""
WITH settled AS (
    UPDATE commission_lines
    SET status = '{LINE_SETTLED}', settled_fen = commission_fen - clawed_back_fen, settled_at = :now
    WHERE id = ANY(:ids)
    RETURNING id, order_id, brand_id, leader_id, rule_version_id, settled_fen
), posted AS (
    INSERT INTO ledger_transactions
        (idempotency_key, brand_id, kind, leader_id, order_id, commission_line_id, rule_version_id, memo, posted_at)
    SELECT '{SETTLEMENT_KEY_PREFIX}' || order_id, brand_id, '{TX_SETTLEMENT}', leader_id, order_id, id,
           rule_version_id, :memo, :now
    FROM settled WHERE settled_fen > 0
    RETURNING id, brand_id, leader_id, commission_line_id
)
INSERT INTO ledger_entries (transaction_id, account_id, amount_fen, posted_at)
SELECT posted.id, account.id,
       CASE account.kind WHEN '{LEADER_PENDING}' THEN -settled.settled_fen ELSE settled.settled_fen END, :now
FROM posted
JOIN settled ON settled.id = posted.commission_line_id
JOIN ledger_accounts AS account
  ON account.leader_id = posted.leader_id AND account.brand_id = posted.brand_id
 AND account.kind IN ('{LEADER_PENDING}', '{LEADER_AVAILABLE}')
""").bindparams(
    bindparam("ids", type_=ARRAY(BigInteger)), bindparam("now", type_=UTCDateTime()), bindparam("memo", type_=String())
)


async def _settle_portable(session: AsyncSession, rows: Sequence[Row], now: datetime) -> None:
    """Elsewhere (SQLite): the same writes as three set-based statements, then the lines."""
    paying_ids = [row.id for row in rows if row.commission_fen - row.clawed_back_fen > 0]
    if paying_ids:
        line = CommissionLine.__table__.c
        net = line.commission_fen - line.clawed_back_fen
        await session.execute(
            insert(LedgerTransaction.__table__).from_select(
                ["idempotency_key", "brand_id", "kind", "leader_id", "order_id", "commission_line_id",
                 "rule_version_id", "memo", "posted_at"],
                select(
                    literal(SETTLEMENT_KEY_PREFIX) + cast(line.order_id, String), line.brand_id,
                    literal(TX_SETTLEMENT), line.leader_id, line.order_id, line.id, line.rule_version_id,
                    literal(SETTLEMENT_MEMO), literal(now, type_=LedgerTransaction.__table__.c.posted_at.type),
                ).where(line.id.in_(paying_ids)),
            )
        )
        # Driven from the lines (primary key) with each transaction found by its unique key, so the plan
        # does not depend on statistics of a ledger_transactions table that grows during the run.
        transactions = LedgerTransaction.__table__
        accounts = LedgerAccount.__table__
        transaction_id = (
            select(transactions.c.id)
            .where(transactions.c.idempotency_key == literal(SETTLEMENT_KEY_PREFIX) + cast(line.order_id, String))
            .scalar_subquery()
        )
        for kind, sign in ((LEADER_PENDING, -1), (LEADER_AVAILABLE, 1)):
            await session.execute(
                insert(LedgerEntry.__table__).from_select(
                    ["transaction_id", "account_id", "amount_fen", "posted_at"],
                    select(
                        transaction_id, accounts.c.id, net * sign,
                        literal(now, type_=LedgerEntry.__table__.c.posted_at.type),
                    )
                    .select_from(CommissionLine.__table__)
                    .join(accounts, (accounts.c.leader_id == line.leader_id) & (accounts.c.kind == kind)
                          & (accounts.c.brand_id == line.brand_id))
                    .where(line.id.in_(paying_ids)),
                )
            )
    # One statement: the rows are locked, so commission − clawed back is still what was read above.
    await session.execute(
        update(CommissionLine)
        .where(CommissionLine.id.in_([row.id for row in rows]))
        .values(
            status=LINE_SETTLED, settled_fen=CommissionLine.commission_fen - CommissionLine.clawed_back_fen,
            settled_at=now,
        )
        .execution_options(synchronize_session=False)
    )


async def settle_due(
    *,
    db: Database,
    as_of: datetime,
    now: datetime,
    batch_size: int = DEFAULT_BATCH,
    max_batches: int | None = None,
    settlers: int = 1,
) -> SettleReport:
    """Settles every line eligible by `as_of`, batch by batch, each batch committed on its own.

    `settlers` > 1 runs that many batch loops at once, each on its own connection: on PostgreSQL they
    claim disjoint batches (SKIP LOCKED) and use several cores of the server; on SQLite they take turns.
    `max_batches` bounds each loop.
    """
    if settlers < 1:
        raise ValueError("settlers must be at least 1")
    reports = await asyncio.gather(
        *(_settle_loop(db=db, as_of=as_of, now=now, batch_size=batch_size, max_batches=max_batches) for _ in range(settlers))
    )
    total = SettleReport()
    for report in reports:
        total.lines += report.lines
        total.transactions += report.transactions
        total.amount_fen += report.amount_fen
        total.batches += report.batches
    return total


async def _settle_loop(
    *, db: Database, as_of: datetime, now: datetime, batch_size: int, max_batches: int | None
) -> SettleReport:
    report = SettleReport()
    cursor: Cursor | None = None
    while max_batches is None or report.batches < max_batches:
        async with db.transaction() as session:
            result = await settle_batch(session=session, as_of=as_of, now=now, after=cursor, limit=batch_size)
        if result.cursor is None:
            break
        report.batches += 1
        report.lines += result.lines
        report.amount_fen += result.amount_fen
        report.transactions += result.transactions
        cursor = result.cursor
    return report


async def settle_in_session(
    *, session: AsyncSession, as_of: datetime, now: datetime, batch_size: int = DEFAULT_BATCH
) -> SettleReport:
    """The same within one caller's transaction (tests, small replays)."""
    report = SettleReport()
    cursor: Cursor | None = None
    while True:
        result = await settle_batch(session=session, as_of=as_of, now=now, after=cursor, limit=batch_size)
        if result.cursor is None:
            return report
        report.batches += 1
        report.lines += result.lines
        report.amount_fen += result.amount_fen
        report.transactions += result.transactions
        cursor = result.cursor
