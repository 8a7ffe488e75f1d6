"""the leader's month sums its days (orders, paid, refunded, GMV) and is indexed by GMV for ranking

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_COLUMNS = (('orders', sa.Integer()), ('paid_fen', linli.db.Money()), ('refunded_fen', linli.db.Money()),
            ('gmv_fen', linli.db.Money()))


def upgrade() -> None:
    # The server default only fills the rows already there; the models give every new row its values.
    with op.batch_alter_table('dash_leader_months', schema=None) as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=False, server_default='0'))
    # The months kept so far: their sums from the leader's days (a day belongs to the month it starts with).
    days = ("FROM dash_leader_days d WHERE d.leader_id = dash_leader_months.leader_id "
            "AND d.day >= dash_leader_months.month AND d.day < {next_month}")
    next_month = ("CAST(dash_leader_months.month + INTERVAL '1 month' AS DATE)"
                  if op.get_bind().dialect.name == 'postgresql' else "date(dash_leader_months.month, '+1 month')")
    where = days.format(next_month=next_month)
    op.execute(
        "UPDATE dash_leader_months SET "
        f"orders = (SELECT coalesce(sum(d.orders), 0) {where}), "
        f"paid_fen = (SELECT coalesce(sum(d.paid_fen), 0) {where}), "
        f"refunded_fen = (SELECT coalesce(sum(d.refunded_fen), 0) {where}), "
        f"gmv_fen = (SELECT coalesce(sum(d.paid_fen - d.refunded_fen), 0) {where})"
    )
    with op.batch_alter_table('dash_leader_months', schema=None) as batch_op:
        for name, _ in _COLUMNS:
            batch_op.alter_column(name, server_default=None)
        batch_op.create_index('ix_dash_leader_months_brand_month_gmv', ['brand_id', 'month', 'gmv_fen'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dash_leader_months', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_leader_months_brand_month_gmv')
        for name, _ in reversed(_COLUMNS):
            batch_op.drop_column(name)
