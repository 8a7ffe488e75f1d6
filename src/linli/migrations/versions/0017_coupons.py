"""coupons: templates, the coupons issued, their redemptions, rules and campaigns; an order's discount and payable

Orders already placed paid their total: `discount_fen` 0 and `payable_fen` = `total_fen` (filled here).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 13:26:38
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coupon_templates',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', linli.db.Money(), nullable=True),
    sa.Column('percent_off_bp', sa.Integer(), nullable=True),
    sa.Column('cap_fen', linli.db.Money(), nullable=True),
    sa.Column('threshold_fen', linli.db.Money(), nullable=False),
    sa.Column('valid_from', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_days', sa.Integer(), nullable=True),
    sa.Column('per_member_limit', sa.Integer(), nullable=False),
    sa.Column('issue_quota', sa.Integer(), nullable=True),
    sa.Column('issued_count', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('scope_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('disabled_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint("(kind = 'fixed' AND amount_fen > 0 AND percent_off_bp IS NULL AND cap_fen IS NULL) OR (kind = 'percent' AND amount_fen IS NULL AND percent_off_bp BETWEEN 1 AND 9999 AND cap_fen > 0)", name=op.f('ck_coupon_templates_terms_complete')),
    sa.CheckConstraint("kind IN ('fixed', 'percent')", name=op.f('ck_coupon_templates_kind_known')),
    sa.CheckConstraint("scope IN ('all', 'category', 'product', 'session', 'community') AND ((scope = 'all') = (scope_id IS NULL))", name=op.f('ck_coupon_templates_scope_known')),
    sa.CheckConstraint('(valid_days IS NULL AND valid_from IS NOT NULL AND valid_until > valid_from) OR (valid_days > 0 AND valid_from IS NULL AND valid_until IS NULL)', name=op.f('ck_coupon_templates_validity_complete')),
    sa.CheckConstraint('issued_count >= 0', name=op.f('ck_coupon_templates_issued_not_negative')),
    sa.CheckConstraint('per_member_limit >= 1', name=op.f('ck_coupon_templates_per_member_limit_positive')),
    sa.CheckConstraint('threshold_fen >= 0', name=op.f('ck_coupon_templates_threshold_not_negative')),
    sa.CheckConstraint('issue_quota IS NULL OR (issue_quota >= 1 AND issued_count <= issue_quota)', name=op.f('ck_coupon_templates_quota_kept')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_coupon_templates_brand_id_brands')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_coupon_templates_created_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_templates'))
    )
    with op.batch_alter_table('coupon_templates', schema=None) as batch_op:
        batch_op.create_index('ix_coupon_templates_brand', ['brand_id', 'id'], unique=False)

    op.create_table('coupon_allowances',
    sa.Column('template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.CheckConstraint('issued >= 1', name=op.f('ck_coupon_allowances_issued_positive')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_coupon_allowances_member_id_members')),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_templates.id'], name=op.f('fk_coupon_allowances_template_id_coupon_templates')),
    sa.PrimaryKeyConstraint('template_id', 'member_id', name=op.f('pk_coupon_allowances'))
    )
    op.create_table('coupon_campaigns',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('interest_group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('member_ids', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('last_run_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint("(audience = 'community' AND community_id IS NOT NULL AND interest_group_id IS NULL) OR (audience = 'members' AND community_id IS NULL AND interest_group_id IS NULL) OR (audience = 'interest_group' AND interest_group_id IS NOT NULL AND community_id IS NULL)", name=op.f('ck_coupon_campaigns_audience_complete')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_coupon_campaigns_brand_id_brands')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_coupon_campaigns_community_id_communities')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_coupon_campaigns_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['interest_group_id'], ['interest_groups.id'], name=op.f('fk_coupon_campaigns_interest_group_id_interest_groups')),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_templates.id'], name=op.f('fk_coupon_campaigns_template_id_coupon_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_campaigns')),
    sa.UniqueConstraint('brand_id', 'idempotency_key', name=op.f('uq_coupon_campaigns_brand_id_idempotency_key'))
    )
    op.create_table('coupon_rules',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('trigger', sa.String(length=24), nullable=False),
    sa.Column('template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('disabled_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint("trigger IN ('member_bound')", name=op.f('ck_coupon_rules_trigger_known')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_coupon_rules_brand_id_brands')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_coupon_rules_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_templates.id'], name=op.f('fk_coupon_rules_template_id_coupon_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_rules')),
    sa.UniqueConstraint('brand_id', 'trigger', 'template_id', name=op.f('uq_coupon_rules_brand_id_trigger_template_id'))
    )
    op.create_table('coupons',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_key', sa.String(length=96), nullable=False),
    sa.Column('issued_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_from', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint("status IN ('available', 'used')", name=op.f('ck_coupons_status_known')),
    sa.CheckConstraint('valid_until > valid_from', name=op.f('ck_coupons_window_not_empty')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_coupons_brand_id_brands')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_coupons_member_id_members')),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_templates.id'], name=op.f('fk_coupons_template_id_coupon_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupons')),
    sa.UniqueConstraint('template_id', 'member_id', 'source_key', name=op.f('uq_coupons_template_id_member_id_source_key'))
    )
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.create_index('ix_coupons_member_status', ['member_id', 'status', 'valid_until'], unique=False)
        batch_op.create_index('ix_coupons_template_status', ['template_id', 'status'], unique=False)

    op.create_table('coupon_redemptions',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('coupon_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('discount_fen', linli.db.Money(), nullable=False),
    sa.Column('redeemed_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('release_reason', sa.String(length=24), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint('discount_fen >= 0', name=op.f('ck_coupon_redemptions_discount_not_negative')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_coupon_redemptions_brand_id_brands')),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_coupon_redemptions_coupon_id_coupons')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_coupon_redemptions_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_redemptions')),
    sa.UniqueConstraint('order_id', name=op.f('uq_coupon_redemptions_order_id'))
    )
    with op.batch_alter_table('coupon_redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_coupon_redemptions_brand', ['brand_id', 'coupon_id'], unique=False)
        batch_op.create_index('uq_coupon_redemptions_holding', ['coupon_id'], unique=True, sqlite_where=sa.text('released_at IS NULL'), postgresql_where=sa.text('released_at IS NULL'))

    # The server defaults only fill the rows already there; the models give every new row its values.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_fen', linli.db.Money(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('payable_fen', linli.db.Money(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('coupon_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_orders_coupon_id_coupons'), 'coupons', ['coupon_id'], ['id'])
    op.execute("UPDATE orders SET payable_fen = total_fen")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('discount_fen', server_default=None)
        batch_op.alter_column('payable_fen', server_default=None)
        batch_op.create_check_constraint(batch_op.f('ck_orders_discount_not_negative'), 'discount_fen >= 0')
        batch_op.create_check_constraint(
            batch_op.f('ck_orders_payable_is_total_minus_discount'), 'payable_fen = total_fen - discount_fen'
        )
        batch_op.create_check_constraint(batch_op.f('ck_orders_payable_at_least_one_fen'), 'payable_fen >= 1')



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_orders_payable_at_least_one_fen'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_orders_payable_is_total_minus_discount'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_orders_discount_not_negative'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_orders_coupon_id_coupons'), type_='foreignkey')
        batch_op.drop_column('coupon_id')
        batch_op.drop_column('payable_fen')
        batch_op.drop_column('discount_fen')

    with op.batch_alter_table('coupon_redemptions', schema=None) as batch_op:
        batch_op.drop_index('uq_coupon_redemptions_holding', sqlite_where=sa.text('released_at IS NULL'), postgresql_where=sa.text('released_at IS NULL'))
        batch_op.drop_index('ix_coupon_redemptions_brand')

    op.drop_table('coupon_redemptions')
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_index('ix_coupons_template_status')
        batch_op.drop_index('ix_coupons_member_status')

    op.drop_table('coupons')
    op.drop_table('coupon_rules')
    op.drop_table('coupon_campaigns')
    op.drop_table('coupon_allowances')
    with op.batch_alter_table('coupon_templates', schema=None) as batch_op:
        batch_op.drop_index('ix_coupon_templates_brand')

    op.drop_table('coupon_templates')
