"""the leader's days carry their GMV, and a leader's week sums its days: today's and this week's rank from an index

Filled here from `dash_leader_days` (a week runs Monday to Sunday, local, and is named by its Monday).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server default only fills the rows already there; the models give every new row its value.
    with op.batch_alter_table('dash_leader_days', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gmv_fen', linli.db.Money(), nullable=False, server_default='0'))
    op.execute("UPDATE dash_leader_days SET gmv_fen = paid_fen - refunded_fen")
    with op.batch_alter_table('dash_leader_days', schema=None) as batch_op:
        batch_op.alter_column('gmv_fen', server_default=None)
        batch_op.drop_index('ix_dash_leader_days_brand_day')
        batch_op.create_index('ix_dash_leader_days_brand_day_gmv', ['brand_id', 'day', 'gmv_fen'], unique=False)
    op.create_table('dash_leader_weeks',
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('paid_fen', linli.db.Money(), nullable=False),
    sa.Column('refunded_fen', linli.db.Money(), nullable=False),
    sa.Column('gmv_fen', linli.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_leader_weeks_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_dash_leader_weeks_leader_id_leaders')),
    sa.PrimaryKeyConstraint('leader_id', 'week', name=op.f('pk_dash_leader_weeks'))
    )
    monday = ("day - CAST(EXTRACT(ISODOW FROM day) AS INTEGER) + 1" if op.get_bind().dialect.name == 'postgresql'
              else "date(day, 'weekday 0', '-6 days')")
    op.execute(
        "INSERT INTO dash_leader_weeks (leader_id, week, brand_id, orders, paid_fen, refunded_fen, gmv_fen) "
        f"SELECT leader_id, {monday}, brand_id, sum(orders), sum(paid_fen), sum(refunded_fen), sum(gmv_fen) "
        f"FROM dash_leader_days GROUP BY leader_id, {monday}, brand_id"
    )
    with op.batch_alter_table('dash_leader_weeks', schema=None) as batch_op:
        batch_op.create_index('ix_dash_leader_weeks_brand_week_gmv', ['brand_id', 'week', 'gmv_fen'], unique=False)


def downgrade() -> None:
    op.drop_table('dash_leader_weeks')
    with op.batch_alter_table('dash_leader_days', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_leader_days_brand_day_gmv')
        batch_op.create_index('ix_dash_leader_days_brand_day', ['brand_id', 'day'], unique=False)
        batch_op.drop_column('gmv_fen')
