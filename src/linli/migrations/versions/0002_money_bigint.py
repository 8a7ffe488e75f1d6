"""money columns become 64-bit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:00:00

0001 declared amounts of money as INTEGER, which is 32 bits on PostgreSQL: an order of 22 × 1,000,000 元
(2,200,000,000 fen, within the API's limits) could not be stored. Every `*_fen` column becomes BIGINT there.
SQLite's INTEGER already holds 64 bits, so nothing changes on SQLite.

On PostgreSQL each table is rewritten once (one ALTER TABLE with all its columns) under an ACCESS EXCLUSIVE
lock: run it while no API process or worker is writing (docs/operations.md). The downgrade narrows the
columns back and fails, changing nothing, if an amount no longer fits in 32 bits.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen here on purpose: a migration describes the schema of its day, not whatever the models say later.
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "aftersales_delivered_orders": ("paid_fen",),
    "aftersales_policies": ("instant_max_fen",),
    "claims": ("paid_fen", "amount_asked_fen", "approved_fen", "refunded_fen"),
    "commission_lines": ("paid_fen", "commission_fen", "refunded_fen", "clawed_back_fen", "settled_fen"),
    "commission_refunds": ("requested_fen", "applied_fen", "clawback_fen"),
    "community_offers": ("price_fen",),
    "ledger_entries": ("amount_fen",),
    "listings": ("live_price_fen",),
    "orders": ("unit_price_fen", "total_fen"),
    "payments": ("amount_fen",),
    "payout_policies": ("min_amount_fen", "daily_cap_fen"),
    "refunds": ("amount_fen",),
    "skus": ("list_price_fen",),
    "staff_refunds": ("amount_fen",),
    "tier_bonuses": ("gmv_fen", "threshold_fen", "awarded_fen"),
    "withdrawals": ("amount_fen", "fee_fen", "net_fen"),
}


def _retype(sql_type: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: INTEGER is already 8 bytes
    for table, columns in MONEY_COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE {sql_type}" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _retype("BIGINT")


def downgrade() -> None:
    _retype("INTEGER")
