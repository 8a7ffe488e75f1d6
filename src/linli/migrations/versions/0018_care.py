"""automated care: members' birthdays, the brand's care occasions (birthday, holidays) and one delivery per member
per occasion per year

The greetings are sent by the worker (daily at 09:00 in each brand's time zone) or `linli care --as-of`.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('member_birthdays',
    sa.Column('member_id', _ID, nullable=False),
    sa.Column('brand_id', _ID, nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_member_birthdays_brand_id_brands')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_birthdays_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_birthdays'))
    )
    with op.batch_alter_table('member_birthdays', schema=None) as batch_op:
        batch_op.create_index('ix_member_birthdays_day', ['brand_id', 'month', 'day', 'member_id'], unique=False)
    op.create_table('care_occasions',
    sa.Column('brand_id', _ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('month', sa.Integer(), nullable=True),
    sa.Column('day', sa.Integer(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('coupon_template_id', _ID, nullable=True),
    sa.Column('greeting', sa.String(length=500), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_care_occasions_brand_id_brands')),
    sa.ForeignKeyConstraint(['coupon_template_id'], ['coupon_templates.id'], name=op.f('fk_care_occasions_coupon_template_id_coupon_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_occasions'))
    )
    with op.batch_alter_table('care_occasions', schema=None) as batch_op:
        batch_op.create_index('ix_care_occasions_brand', ['brand_id', 'kind', 'id'], unique=False)
    op.create_table('care_deliveries',
    sa.Column('brand_id', _ID, nullable=False),
    sa.Column('occasion_id', _ID, nullable=False),
    sa.Column('member_id', _ID, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('local_day', sa.String(length=10), nullable=False),
    sa.Column('coupon_id', _ID, nullable=True),
    sa.Column('coupon_note', sa.String(length=64), nullable=True),
    sa.Column('push_content_id', _ID, nullable=True),
    sa.Column('delivered_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_care_deliveries_brand_id_brands')),
    sa.ForeignKeyConstraint(['occasion_id'], ['care_occasions.id'], name=op.f('fk_care_deliveries_occasion_id_care_occasions')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_care_deliveries_member_id_members')),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_care_deliveries_coupon_id_coupons')),
    sa.ForeignKeyConstraint(['push_content_id'], ['push_contents.id'], name=op.f('fk_care_deliveries_push_content_id_push_contents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_deliveries')),
    sa.UniqueConstraint('occasion_id', 'member_id', 'year', name=op.f('uq_care_deliveries_occasion_id_member_id_year'))
    )


def downgrade() -> None:
    op.drop_table('care_deliveries')
    with op.batch_alter_table('care_occasions', schema=None) as batch_op:
        batch_op.drop_index('ix_care_occasions_brand')
    op.drop_table('care_occasions')
    with op.batch_alter_table('member_birthdays', schema=None) as batch_op:
        batch_op.drop_index('ix_member_birthdays_day')
    op.drop_table('member_birthdays')
