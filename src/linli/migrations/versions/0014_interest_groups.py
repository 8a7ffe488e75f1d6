"""interest groups: the brand's rules over members' purchases and the members each finds

The members are found by the worker (at once for a new rule, then daily at 03:30 local) or `linli interest-groups`.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('interest_groups',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('category_ids', sa.JSON(), nullable=False),
    sa.Column('product_ids', sa.JSON(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('min_share_bp', sa.Integer(), nullable=False),
    sa.Column('min_focus_fen', linli.db.Money(), nullable=False),
    sa.Column('min_focus_orders', sa.Integer(), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('computed_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_interest_groups_brand_id_brands')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interest_groups')),
    sa.UniqueConstraint('brand_id', 'name', name=op.f('uq_interest_groups_brand_id_name'))
    )
    op.create_table('interest_members',
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('joined_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['interest_groups.id'], name=op.f('fk_interest_members_group_id_interest_groups')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_interest_members_member_id_members')),
    sa.PrimaryKeyConstraint('group_id', 'member_id', name=op.f('pk_interest_members'))
    )
    with op.batch_alter_table('interest_members', schema=None) as batch_op:
        batch_op.create_index('ix_interest_members_member', ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('interest_members', schema=None) as batch_op:
        batch_op.drop_index('ix_interest_members_member')

    op.drop_table('interest_members')
    op.drop_table('interest_groups')
