"""the pickup communities' months, indexed by GMV: the brand's communities ranked without grouping their days;
a community's paid orders indexed by day; a leader's bindings by when they were made (new members of a period)

The months kept so far are filled from `dash_paid_orders`, as `linli rollup --rebuild` would.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dash_community_months',
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('paid_fen', linli.db.Money(), nullable=False),
    sa.Column('refunded_fen', linli.db.Money(), nullable=False),
    sa.Column('gmv_fen', linli.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_community_months_brand_id_brands')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'],
                            name=op.f('fk_dash_community_months_community_id_communities')),
    sa.PrimaryKeyConstraint('community_id', 'month', name=op.f('pk_dash_community_months'))
    )
    op.execute(
        "INSERT INTO dash_community_months (community_id, month, brand_id, orders, paid_fen, refunded_fen, gmv_fen) "
        "SELECT community_id, paid_month, brand_id, count(*), sum(paid_fen), sum(refunded_fen), "
        "sum(paid_fen) - sum(refunded_fen) FROM dash_paid_orders WHERE community_id IS NOT NULL "
        "GROUP BY community_id, paid_month, brand_id"
    )
    with op.batch_alter_table('dash_community_months', schema=None) as batch_op:
        batch_op.create_index('ix_dash_community_months_brand_month_gmv', ['brand_id', 'month', 'gmv_fen'], unique=False)
    with op.batch_alter_table('dash_paid_orders', schema=None) as batch_op:
        batch_op.create_index('ix_dash_paid_orders_community_day', ['community_id', 'paid_day'], unique=False)
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.create_index('ix_bindings_leader_bound_at', ['leader_id', 'bound_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.drop_index('ix_bindings_leader_bound_at')
    with op.batch_alter_table('dash_paid_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_paid_orders_community_day')
    op.drop_table('dash_community_months')
