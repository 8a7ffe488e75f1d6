"""the leader KPIs' roll-ups: leaders' income per month, new leaders and members per day

Postings, approvals and bindings made before this revision emitted no event: `linli rollup --rebuild` fills
the new roll-ups from the ledger, the leaders and the attribution trail.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:09:55
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dash_brand_growth_days',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('leaders_approved', sa.Integer(), nullable=False),
    sa.Column('members_bound', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_brand_growth_days_brand_id_brands')),
    sa.PrimaryKeyConstraint('brand_id', 'day', name=op.f('pk_dash_brand_growth_days'))
    )
    op.create_table('dash_growth_facts',
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_growth_facts_brand_id_brands')),
    sa.PrimaryKeyConstraint('kind', 'subject_id', name=op.f('pk_dash_growth_facts'))
    )
    with op.batch_alter_table('dash_growth_facts', schema=None) as batch_op:
        batch_op.create_index('ix_dash_growth_facts_brand_day', ['brand_id', 'day'], unique=False)

    op.create_table('dash_applied_commissions',
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', linli.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_applied_commissions_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_dash_applied_commissions_leader_id_leaders')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], name=op.f('fk_dash_applied_commissions_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('transaction_id', name=op.f('pk_dash_applied_commissions'))
    )
    with op.batch_alter_table('dash_applied_commissions', schema=None) as batch_op:
        batch_op.create_index('ix_dash_applied_commissions_brand_month', ['brand_id', 'month'], unique=False)

    op.create_table('dash_leader_income_months',
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('accrued_fen', linli.db.Money(), nullable=False),
    sa.Column('clawed_back_fen', linli.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_leader_income_months_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_dash_leader_income_months_leader_id_leaders')),
    sa.PrimaryKeyConstraint('leader_id', 'month', name=op.f('pk_dash_leader_income_months'))
    )
    with op.batch_alter_table('dash_leader_income_months', schema=None) as batch_op:
        batch_op.create_index('ix_dash_leader_income_months_brand_month', ['brand_id', 'month'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dash_leader_income_months', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_leader_income_months_brand_month')

    op.drop_table('dash_leader_income_months')
    with op.batch_alter_table('dash_applied_commissions', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_applied_commissions_brand_month')

    op.drop_table('dash_applied_commissions')
    with op.batch_alter_table('dash_growth_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_growth_facts_brand_day')

    op.drop_table('dash_growth_facts')
    op.drop_table('dash_brand_growth_days')
