"""Every amount of money is a 64-bit integer in every database (an order may reach 99 × 1,000,000 元)."""

from __future__ import annotations

import re

from sqlalchemy.dialects import postgresql, sqlite

from linli.models import metadata
from tests.conftest import START

# Words that name money; a rate in basis points (`*_bp`) is not money.
# "cap" only as a word of its own (a coupon's cap_fen), not inside another word (a mentor's capacity).
MONEY_WORDS = re.compile(r"amount|price|total|fee|cost|gmv|balance|bonus|commission|paid|cash|income|payout|(?:^|_)cap(?:_|$)")


def _integer_columns():
    for table in metadata.sorted_tables:
        for column in table.columns:
            if _pg_type(column) in ("SMALLINT", "INTEGER", "BIGINT"):
                yield table.name, column


def _pg_type(column) -> str:
    return column.type.compile(dialect=postgresql.dialect())


def test_every_fen_column_is_64_bit_on_postgresql():
    fen = [(table, column) for table, column in _integer_columns() if column.name.endswith("_fen")]
    assert len(fen) >= 30  # the walk really sees the money columns
    narrow = [f"{table}.{column.name} is {_pg_type(column)}" for table, column in fen if _pg_type(column) != "BIGINT"]
    assert narrow == []


def test_every_column_that_looks_like_money_is_a_64_bit_fen_column():
    suspects = [
        f"{table}.{column.name} is {_pg_type(column)}"
        for table, column in _integer_columns()
        if MONEY_WORDS.search(column.name) and not column.name.endswith(("_bp", "_id")) and not column.primary_key
        and not (column.name.endswith("_fen") and _pg_type(column) == "BIGINT")
    ]
    assert suspects == []


def test_sqlite_keeps_its_integer_which_is_already_64_bit():
    # SQLite's INTEGER holds 8 bytes; declaring it INTEGER keeps the migrated schema equal to the models.
    fen = [column for _, column in _integer_columns() if column.name.endswith("_fen")]
    assert {column.type.compile(dialect=sqlite.dialect()) for column in fen} == {"INTEGER"}


async def test_sums_of_money_come_back_as_int_on_both_databases(db):
    # PostgreSQL sums BIGINT into NUMERIC (a Decimal in Python), which yuan() and JSON payloads cannot take.
    from sqlalchemy import case, func, select

    from linli.ledger.models import LedgerEntry
    from linli.money import yuan

    big = 2_200_000_000
    async with db.transaction() as s:
        s.add_all([LedgerEntry(transaction_id=1, account_id=1, amount_fen=big, posted_at=START) for _ in range(3)])
    async with db.read() as s:
        total, net, positive = (
            await s.execute(
                select(
                    func.coalesce(func.sum(LedgerEntry.amount_fen), 0),
                    func.sum(LedgerEntry.amount_fen - LedgerEntry.transaction_id),
                    func.sum(case((LedgerEntry.amount_fen > 0, LedgerEntry.amount_fen), else_=0)),
                )
            )
        ).one()
    assert (total, net, positive) == (3 * big, 3 * big - 3, 3 * big)
    assert {type(total), type(net), type(positive)} == {int}
    assert yuan(total) == "66000000.00"
