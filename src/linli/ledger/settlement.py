"""Settlement: pending commission becomes available once its line is eligible (completion + window).

`settle_due` walks the due lines in id order, one batch per transaction (keyset pagination, so memory
stays bounded however many lines are due). Each batch claims its lines with FOR UPDATE SKIP LOCKED on
PostgreSQL (concurrent settlers take disjoint lines; SQLite has one writer anyway), then writes, set
at once: one transaction per line (`settlement:order:{order_id}`, leader pending → leader available,
for commission − clawbacks so far), its two entries and the line's new status. A line whose clawbacks
left nothing is marked settled with 0 and no transaction. Running it twice settles nothing twice: a
settled line is no longer due, and the unique key is the last line of defence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.db import Database
from linli.ledger import service
from linli.ledger.accrual import settlement_key
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
SETTLEMENT_MEMO = "售后期已过，佣金转为可提现"


@dataclass(frozen=True)
class BatchResult:
    lines: int
    amount_fen: int
    last_id: int
    transactions: int = 0


@dataclass
class SettleReport:
    lines: int = 0
    transactions: int = 0
    amount_fen: int = 0
    batches: int = 0


async def settle_batch(
    *, session: AsyncSession, as_of: datetime, now: datetime, after_id: int = 0, limit: int = DEFAULT_BATCH
) -> BatchResult:
    """Settles up to `limit` due lines with id > after_id; `last_id` is where the next batch starts."""
    rows = (
        await session.execute(
            select(
                CommissionLine.id, CommissionLine.order_id, CommissionLine.brand_id, CommissionLine.leader_id,
                CommissionLine.commission_fen, CommissionLine.clawed_back_fen, CommissionLine.rule_version_id,
            )
            .where(
                CommissionLine.status == LINE_PENDING,
                CommissionLine.eligible_at.is_not(None),
                CommissionLine.eligible_at <= as_of,
                CommissionLine.id > after_id,
            )
            .order_by(CommissionLine.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not rows:
        return BatchResult(lines=0, amount_fen=0, last_id=after_id)

    leaders_by_brand: dict[int, set[int]] = defaultdict(set)
    for row in rows:
        leaders_by_brand[row.brand_id].add(row.leader_id)
    accounts: dict[tuple[str, int | None], int] = {}
    for brand_id, leader_ids in leaders_by_brand.items():
        specs = [(kind, leader) for leader in leader_ids for kind in (LEADER_PENDING, LEADER_AVAILABLE)]
        got = await service.accounts_by_code(session=session, brand_id=brand_id, specs=specs, now=now)
        accounts.update({spec: account.id for spec, account in got.items()})

    paying = [row for row in rows if row.commission_fen - row.clawed_back_fen > 0]
    amount = 0
    if paying:
        created = await session.execute(
            insert(LedgerTransaction).returning(
                LedgerTransaction.id, LedgerTransaction.commission_line_id, sort_by_parameter_order=True
            ),
            [
                dict(
                    idempotency_key=settlement_key(row.order_id), brand_id=row.brand_id, kind=TX_SETTLEMENT,
                    leader_id=row.leader_id, order_id=row.order_id, commission_line_id=row.id,
                    rule_version_id=row.rule_version_id, refund_id=None, memo=SETTLEMENT_MEMO, posted_at=now,
                )
                for row in paying
            ],
        )
        transaction_of = {line_id: tx_id for tx_id, line_id in created.all()}
        entries = []
        for row in paying:
            net = row.commission_fen - row.clawed_back_fen
            amount += net
            tx_id = transaction_of[row.id]
            entries.append(
                dict(transaction_id=tx_id, account_id=accounts[(LEADER_PENDING, row.leader_id)], amount_fen=-net, posted_at=now)
            )
            entries.append(
                dict(transaction_id=tx_id, account_id=accounts[(LEADER_AVAILABLE, row.leader_id)], amount_fen=net, posted_at=now)
            )
        await session.execute(insert(LedgerEntry), entries)
    await session.execute(
        update(CommissionLine),
        [
            dict(id=row.id, status=LINE_SETTLED, settled_fen=row.commission_fen - row.clawed_back_fen, settled_at=now)
            for row in rows
        ],
    )
    return BatchResult(lines=len(rows), amount_fen=amount, last_id=rows[-1].id, transactions=len(paying))


async def settle_due(
    *, db: Database, as_of: datetime, now: datetime, batch_size: int = DEFAULT_BATCH, max_batches: int | None = None
) -> SettleReport:
    """Settles every line eligible by `as_of`, batch by batch, each batch committed on its own."""
    report = SettleReport()
    after_id = 0
    while max_batches is None or report.batches < max_batches:
        async with db.transaction() as session:
            result = await settle_batch(session=session, as_of=as_of, now=now, after_id=after_id, limit=batch_size)
        if result.lines == 0:
            break
        report.batches += 1
        report.lines += result.lines
        report.amount_fen += result.amount_fen
        report.transactions += result.transactions
        after_id = result.last_id
    return report


async def settle_in_session(
    *, session: AsyncSession, as_of: datetime, now: datetime, batch_size: int = DEFAULT_BATCH
) -> SettleReport:
    """The same within one caller's transaction (tests, small replays)."""
    report = SettleReport()
    after_id = 0
    while True:
        result = await settle_batch(session=session, as_of=as_of, now=now, after_id=after_id, limit=batch_size)
        if result.lines == 0:
            return report
        report.batches += 1
        report.lines += result.lines
        report.amount_fen += result.amount_fen
        report.transactions += result.transactions
        after_id = result.last_id
