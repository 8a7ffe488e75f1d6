"""the dashboards' roll-ups, kept current from the outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dash_brand_days',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('paid_fen', linli.db.Money(), nullable=False),
    sa.Column('refunded_fen', linli.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_brand_days_brand_id_brands')),
    sa.PrimaryKeyConstraint('brand_id', 'day', name=op.f('pk_dash_brand_days'))
    )
    op.create_table('dash_brand_months',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('paying_members', sa.Integer(), nullable=False),
    sa.Column('bought_again_next_month', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_brand_months_brand_id_brands')),
    sa.PrimaryKeyConstraint('brand_id', 'month', name=op.f('pk_dash_brand_months'))
    )
    op.create_table('dash_member_months',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_member_months_brand_id_brands')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_dash_member_months_member_id_members')),
    sa.PrimaryKeyConstraint('brand_id', 'month', 'member_id', name=op.f('pk_dash_member_months'))
    )
    op.create_table('dash_leader_days',
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('paid_fen', linli.db.Money(), nullable=False),
    sa.Column('refunded_fen', linli.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_leader_days_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_dash_leader_days_leader_id_leaders')),
    sa.PrimaryKeyConstraint('leader_id', 'day', name=op.f('pk_dash_leader_days'))
    )
    with op.batch_alter_table('dash_leader_days', schema=None) as batch_op:
        batch_op.create_index('ix_dash_leader_days_brand_day', ['brand_id', 'day'], unique=False)

    op.create_table('dash_leader_member_months',
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_dash_leader_member_months_leader_id_leaders')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_dash_leader_member_months_member_id_members')),
    sa.PrimaryKeyConstraint('leader_id', 'month', 'member_id', name=op.f('pk_dash_leader_member_months'))
    )
    op.create_table('dash_leader_months',
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('paying_members', sa.Integer(), nullable=False),
    sa.Column('bought_again_next_month', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_leader_months_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_dash_leader_months_leader_id_leaders')),
    sa.PrimaryKeyConstraint('leader_id', 'month', name=op.f('pk_dash_leader_months'))
    )
    op.create_table('dash_paid_orders',
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('paid_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_day', sa.Date(), nullable=False),
    sa.Column('paid_month', sa.Date(), nullable=False),
    sa.Column('paid_fen', linli.db.Money(), nullable=False),
    sa.Column('refunded_fen', linli.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_paid_orders_brand_id_brands')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_dash_paid_orders_community_id_communities')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_dash_paid_orders_leader_id_leaders')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_dash_paid_orders_member_id_members')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_dash_paid_orders_order_id_orders')),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_dash_paid_orders_session_id_live_sessions')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_dash_paid_orders'))
    )
    with op.batch_alter_table('dash_paid_orders', schema=None) as batch_op:
        batch_op.create_index('ix_dash_paid_orders_brand_day', ['brand_id', 'paid_day'], unique=False)
        batch_op.create_index('ix_dash_paid_orders_leader_day', ['leader_id', 'paid_day'], unique=False)

    op.create_table('dash_applied_refunds',
    sa.Column('refund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_fen', linli.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_dash_applied_refunds_order_id_orders')),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_dash_applied_refunds_refund_id_refunds')),
    sa.PrimaryKeyConstraint('refund_id', name=op.f('pk_dash_applied_refunds'))
    )
    with op.batch_alter_table('dash_applied_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dash_applied_refunds_order_id'), ['order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dash_applied_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dash_applied_refunds_order_id'))

    op.drop_table('dash_applied_refunds')
    with op.batch_alter_table('dash_paid_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_paid_orders_leader_day')
        batch_op.drop_index('ix_dash_paid_orders_brand_day')

    op.drop_table('dash_paid_orders')
    op.drop_table('dash_leader_months')
    op.drop_table('dash_leader_member_months')
    with op.batch_alter_table('dash_leader_days', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_leader_days_brand_day')

    op.drop_table('dash_leader_days')
    op.drop_table('dash_member_months')
    op.drop_table('dash_brand_months')
    op.drop_table('dash_brand_days')
