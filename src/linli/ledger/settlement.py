"""Settlement: pending commission becomes available once its line is eligible (completion + window).

`settle_due` walks the due lines in (eligible_at, leader_id, id) order, one batch per database
transaction (keyset pagination over ix_commission_lines_due, so memory stays bounded and each due line is
read once per run). Each batch claims its lines with FOR UPDATE SKIP LOCKED on PostgreSQL (concurrent
settlers take disjoint lines; SQLite has one writer anyway), then posts ONE ledger transaction per
leader in the batch (leader pending → leader available, for the sum of commission − clawbacks of that
leader's lines; key `settlement:leader:{leader_id}:line:{first line id}`, derived from the lines) and
marks each line settled with the id of the transaction that moved its money
(`commission_lines.settlement_transaction_id`). Walking in leader order keeps a leader's lines
together, so a T+1 run over a day's orders posts about one transaction per leader and batch, not one
per order: the line carries the per-order detail, the ledger the money.

A line whose clawbacks left nothing is marked settled with 0 and no transaction. Running it twice
settles nothing twice: a settled line is no longer due, and the unique key is the last line of defence.
A line locked at that moment (a clawback in progress) is skipped and settled by the next run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, case, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from linli.db import Database
from linli.ledger import service
from linli.ledger.models import (
    LEADER_AVAILABLE,
    LEADER_PENDING,
    LINE_PENDING,
    LINE_SETTLED,
    TX_SETTLEMENT,
    CommissionLine,
    LedgerEntry,
    LedgerTransaction,
)

DEFAULT_BATCH = 1000
Cursor = tuple[datetime, int, int]  # (eligible_at, leader_id, id) of the last line of a batch: the keyset


def settlement_key(*, leader_id: int, first_line_id: int) -> str:
    return f"settlement:leader:{leader_id}:line:{first_line_id}"


def settlement_memo(lines: int) -> str:
    return f"售后期已过，{lines} 笔订单的佣金转为可提现"


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
    *,
    session: AsyncSession,
    as_of: datetime,
    now: datetime,
    after: Cursor | None = None,
    limit: int = DEFAULT_BATCH,
    brand_id: int | None = None,
) -> BatchResult:
    """Settles up to `limit` due lines after the cursor (of one brand, or of all): a range scan of
    ix_commission_lines_due (status, eligible_at, leader_id, id), so every run reads each due line once."""
    line = CommissionLine
    query = (
        select(line.id, line.brand_id, line.leader_id, line.commission_fen, line.clawed_back_fen, line.eligible_at)
        .where(line.status == LINE_PENDING, line.eligible_at.is_not(None), line.eligible_at <= as_of)
        .order_by(line.eligible_at, line.leader_id, line.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if after is not None:
        query = query.where(tuple_(line.eligible_at, line.leader_id, line.id) > tuple_(*after))
    if brand_id is not None:
        query = query.where(line.brand_id == brand_id)
    rows = (await session.execute(query)).all()
    if not rows:
        return BatchResult(lines=0, amount_fen=0, cursor=None)

    # (brand, leader) → [first line id, lines with money, fen]; a line whose clawbacks left nothing is
    # settled at 0 without joining its leader's transaction.
    groups: dict[tuple[int, int], list[int]] = {}
    for row in rows:
        net = row.commission_fen - row.clawed_back_fen
        group = groups.setdefault((row.brand_id, row.leader_id), [row.id, 0, 0])
        group[0] = min(group[0], row.id)
        group[1] += 1 if net > 0 else 0
        group[2] += net
    paying = {key: group for key, group in groups.items() if group[2] > 0}
    transaction_of: dict[int, int] = {}  # leader id → settlement transaction id
    if paying:
        accounts = await _accounts(session, paying, now)
        posted = await session.execute(
            insert(LedgerTransaction.__table__)
            .values([
                {"idempotency_key": settlement_key(leader_id=leader, first_line_id=first), "brand_id": brand,
                 "kind": TX_SETTLEMENT, "leader_id": leader, "memo": settlement_memo(count), "posted_at": now}
                for (brand, leader), (first, count, _) in paying.items()
            ])
            .returning(LedgerTransaction.__table__.c.leader_id, LedgerTransaction.__table__.c.id)
        )
        transaction_of = {leader: transaction_id for leader, transaction_id in posted.all()}
        await session.execute(
            insert(LedgerEntry.__table__).values([
                {"transaction_id": transaction_of[leader], "account_id": accounts[(kind, leader)],
                 "amount_fen": sign * amount, "posted_at": now}
                for (_, leader), (_, _, amount) in paying.items()
                for kind, sign in ((LEADER_PENDING, -1), (LEADER_AVAILABLE, 1))
            ])
        )
    # One statement: the rows are locked, so commission − clawed back is still what was read above.
    await session.execute(
        update(CommissionLine)
        .where(_in(session, CommissionLine.id, [row.id for row in rows]))
        .values(
            status=LINE_SETTLED, settled_fen=CommissionLine.commission_fen - CommissionLine.clawed_back_fen,
            settled_at=now,
            settlement_transaction_id=(
                case(
                    (CommissionLine.commission_fen - CommissionLine.clawed_back_fen > 0,
                     case(transaction_of, value=CommissionLine.leader_id, else_=None)),
                    else_=None,
                )
                if transaction_of else None
            ),
        )
        .execution_options(synchronize_session=False)
    )
    last = rows[-1]
    return BatchResult(
        lines=len(rows), amount_fen=sum(group[2] for group in groups.values()),
        cursor=(last.eligible_at, last.leader_id, last.id), transactions=len(paying),
    )


def _in(session: AsyncSession, column: Any, values: list[int]) -> Any:
    """`column IN values`: one array parameter on PostgreSQL rather than a statement with a thousand."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("values", values, type_=ARRAY(BigInteger)))
    return column.in_(values)


async def _accounts(session: AsyncSession, groups: dict[tuple[int, int], list[int]], now: datetime) -> dict[tuple[str, int], int]:
    """(kind, leader id) → id of each leader's pending and available account (they exist from the first
    accrual; created here otherwise). One query per brand in the batch."""
    by_brand: dict[int, list[int]] = {}
    for brand, leader in groups:
        by_brand.setdefault(brand, []).append(leader)
    found: dict[tuple[str, int], int] = {}
    for brand, leaders in by_brand.items():
        specs = [(kind, leader) for leader in leaders for kind in (LEADER_PENDING, LEADER_AVAILABLE)]
        accounts = await service.accounts_by_code(session=session, brand_id=brand, specs=specs, now=now)
        found.update({(kind, leader): account.id for (kind, leader), account in accounts.items()})
    return found


async def settle_due(
    *,
    db: Database,
    as_of: datetime,
    now: datetime,
    batch_size: int = DEFAULT_BATCH,
    max_batches: int | None = None,
    settlers: int = 1,
    brand_id: int | None = None,
) -> SettleReport:
    """Settles every line eligible by `as_of` (of one brand, or of all), batch by batch, each batch committed
    on its own.

    `settlers` > 1 runs that many batch loops at once, each on its own connection: on PostgreSQL they
    claim disjoint batches (SKIP LOCKED) and use several cores of the server; on SQLite they take turns.
    `max_batches` bounds each loop.
    """
    if settlers < 1:
        raise ValueError("settlers must be at least 1")
    reports = await asyncio.gather(
        *(
            _settle_loop(db=db, as_of=as_of, now=now, batch_size=batch_size, max_batches=max_batches, brand_id=brand_id)
            for _ in range(settlers)
        )
    )
    total = SettleReport()
    for report in reports:
        total.lines += report.lines
        total.transactions += report.transactions
        total.amount_fen += report.amount_fen
        total.batches += report.batches
    return total


async def _settle_loop(
    *, db: Database, as_of: datetime, now: datetime, batch_size: int, max_batches: int | None, brand_id: int | None
) -> SettleReport:
    report = SettleReport()
    cursor: Cursor | None = None
    while max_batches is None or report.batches < max_batches:
        async with db.transaction() as session:
            result = await settle_batch(
                session=session, as_of=as_of, now=now, after=cursor, limit=batch_size, brand_id=brand_id
            )
        if result.cursor is None:
            break
        report.batches += 1
        report.lines += result.lines
        report.amount_fen += result.amount_fen
        report.transactions += result.transactions
        cursor = result.cursor
    return report
