"""the session, community and claim roll-ups (filled by `linli rollup --rebuild` on a database with orders)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:12:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dash_community_days',
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('in_session', sa.Boolean(), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('paid_fen', linli.db.Money(), nullable=False),
    sa.Column('refunded_fen', linli.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_community_days_brand_id_brands')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_dash_community_days_community_id_communities')),
    sa.PrimaryKeyConstraint('community_id', 'day', 'in_session', name=op.f('pk_dash_community_days'))
    )
    with op.batch_alter_table('dash_community_days', schema=None) as batch_op:
        batch_op.create_index('ix_dash_community_days_brand_day', ['brand_id', 'day'], unique=False)

    op.create_table('dash_session_communities',
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('paid_fen', linli.db.Money(), nullable=False),
    sa.Column('refunded_fen', linli.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_session_communities_brand_id_brands')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_dash_session_communities_community_id_communities')),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_dash_session_communities_session_id_live_sessions')),
    sa.PrimaryKeyConstraint('session_id', 'community_id', name=op.f('pk_dash_session_communities'))
    )
    with op.batch_alter_table('dash_session_communities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dash_session_communities_brand_id'), ['brand_id'], unique=False)

    op.create_table('dash_sessions',
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('placed_orders', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('paid_fen', linli.db.Money(), nullable=False),
    sa.Column('refunded_fen', linli.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_sessions_brand_id_brands')),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_dash_sessions_session_id_live_sessions')),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_dash_sessions'))
    )
    with op.batch_alter_table('dash_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dash_sessions_brand_id'), ['brand_id'], unique=False)

    op.create_table('dash_leader_claim_days',
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claimed_lines', sa.Integer(), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_leader_claim_days_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_dash_leader_claim_days_leader_id_leaders')),
    sa.PrimaryKeyConstraint('leader_id', 'day', name=op.f('pk_dash_leader_claim_days'))
    )
    with op.batch_alter_table('dash_leader_claim_days', schema=None) as batch_op:
        batch_op.create_index('ix_dash_leader_claim_days_brand_day', ['brand_id', 'day'], unique=False)

    op.create_table('dash_product_days',
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('claimed_lines', sa.Integer(), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_product_days_brand_id_brands')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_dash_product_days_product_id_products')),
    sa.PrimaryKeyConstraint('product_id', 'day', name=op.f('pk_dash_product_days'))
    )
    with op.batch_alter_table('dash_product_days', schema=None) as batch_op:
        batch_op.create_index('ix_dash_product_days_brand_day', ['brand_id', 'day'], unique=False)

    op.create_table('dash_session_leaders',
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('placed_orders', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_session_leaders_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_dash_session_leaders_leader_id_leaders')),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_dash_session_leaders_session_id_live_sessions')),
    sa.PrimaryKeyConstraint('session_id', 'leader_id', name=op.f('pk_dash_session_leaders'))
    )
    with op.batch_alter_table('dash_session_leaders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dash_session_leaders_brand_id'), ['brand_id'], unique=False)

    op.create_table('dash_applied_claims',
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_applied_claims_brand_id_brands')),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_dash_applied_claims_claim_id_claims')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_dash_applied_claims_order_id_orders')),
    sa.PrimaryKeyConstraint('claim_id', name=op.f('pk_dash_applied_claims'))
    )
    with op.batch_alter_table('dash_applied_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dash_applied_claims_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dash_applied_claims_order_id'), ['order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dash_applied_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dash_applied_claims_order_id'))
        batch_op.drop_index(batch_op.f('ix_dash_applied_claims_brand_id'))

    op.drop_table('dash_applied_claims')
    with op.batch_alter_table('dash_session_leaders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dash_session_leaders_brand_id'))

    op.drop_table('dash_session_leaders')
    with op.batch_alter_table('dash_product_days', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_product_days_brand_day')

    op.drop_table('dash_product_days')
    with op.batch_alter_table('dash_leader_claim_days', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_leader_claim_days_brand_day')

    op.drop_table('dash_leader_claim_days')
    with op.batch_alter_table('dash_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dash_sessions_brand_id'))

    op.drop_table('dash_sessions')
    with op.batch_alter_table('dash_session_communities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dash_session_communities_brand_id'))

    op.drop_table('dash_session_communities')
    with op.batch_alter_table('dash_community_days', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_community_days_brand_day')

    op.drop_table('dash_community_days')
