"""initial schema

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('brands',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brands')),
    sa.UniqueConstraint('slug', name=op.f('uq_brands_slug'))
    )
    op.create_table('dev_sms_messages',
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('body', sa.String(length=500), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dev_sms_messages'))
    )
    with op.batch_alter_table('dev_sms_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dev_sms_messages_phone'), ['phone'], unique=False)

    op.create_table('login_attempts',
    sa.Column('identifier', sa.String(length=64), nullable=False),
    sa.Column('attempted_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_identifier_at', ['identifier', 'attempted_at'], unique=False)

    op.create_table('outbox_events',
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('available_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_events'))
    )
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['processed_at', 'available_at'], unique=False)
        batch_op.create_index('ix_outbox_stream', ['stream', 'id'], unique=False)

    op.create_table('payment_callbacks',
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('notification_id', sa.String(length=64), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('received_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_callbacks')),
    sa.UniqueConstraint('notification_id', name=op.f('uq_payment_callbacks_notification_id'))
    )
    with op.batch_alter_table('payment_callbacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_callbacks_out_trade_no'), ['out_trade_no'], unique=False)

    op.create_table('sms_codes',
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('consumed_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_codes'))
    )
    with op.batch_alter_table('sms_codes', schema=None) as batch_op:
        batch_op.create_index('ix_sms_codes_phone_created', ['phone', 'created_at'], unique=False)

    op.create_table('users',
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('login_name', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('wechat_openid', sa.String(length=64), nullable=True),
    sa.Column('wechat_unionid', sa.String(length=64), nullable=True),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('login_name', name=op.f('uq_users_login_name')),
    sa.UniqueConstraint('phone', name=op.f('uq_users_phone')),
    sa.UniqueConstraint('wechat_openid', name=op.f('uq_users_wechat_openid'))
    )
    op.create_table('auth_sessions',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auth_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_auth_sessions_token_hash'))
    )
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('binding_policies',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('validity_days', sa.Integer(), nullable=False),
    sa.Column('protection_days', sa.Integer(), nullable=False),
    sa.Column('only_new_members', sa.Boolean(), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_binding_policies_brand_id_brands')),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['users.id'], name=op.f('fk_binding_policies_updated_by_user_id_users')),
    sa.PrimaryKeyConstraint('brand_id', name=op.f('pk_binding_policies'))
    )
    op.create_table('categories',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_categories_brand_id_brands')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('brand_id', 'name', name=op.f('uq_categories_brand_id_name'))
    )
    op.create_table('commission_rule_versions',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('live_rate_bp', sa.Integer(), nullable=False),
    sa.Column('off_session_rate_bp', sa.Integer(), nullable=False),
    sa.Column('product_overrides', sa.JSON(), nullable=False),
    sa.Column('session_overrides', sa.JSON(), nullable=False),
    sa.Column('referral_rate_bp', sa.Integer(), nullable=False),
    sa.Column('referral_months', sa.Integer(), nullable=False),
    sa.Column('self_purchase_counts', sa.Boolean(), nullable=False),
    sa.Column('tier_bonuses', sa.JSON(), nullable=False),
    sa.Column('settlement_window_days', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_commission_rule_versions_brand_id_brands')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_commission_rule_versions_created_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_rule_versions')),
    sa.UniqueConstraint('brand_id', 'version', name=op.f('uq_commission_rule_versions_brand_id_version'))
    )
    with op.batch_alter_table('commission_rule_versions', schema=None) as batch_op:
        batch_op.create_index('ix_commission_rule_versions_brand_created', ['brand_id', 'created_at'], unique=False)

    op.create_table('communities',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_communities_brand_id_brands')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_communities')),
    sa.UniqueConstraint('brand_id', 'name', name=op.f('uq_communities_brand_id_name'))
    )
    op.create_table('leader_programs',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('invite_grace_hours', sa.Integer(), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_leader_programs_brand_id_brands')),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['users.id'], name=op.f('fk_leader_programs_updated_by_user_id_users')),
    sa.PrimaryKeyConstraint('brand_id', name=op.f('pk_leader_programs'))
    )
    op.create_table('live_sessions',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('stream_url', sa.String(length=500), nullable=False),
    sa.Column('cover_url', sa.String(length=500), nullable=False),
    sa.Column('scheduled_start_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('phases', sa.JSON(), nullable=False),
    sa.Column('current_phase', sa.Integer(), nullable=True),
    sa.Column('phase_started_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_live_sessions_brand_id_brands')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_sessions'))
    )
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_live_sessions_brand_start', ['brand_id', 'scheduled_start_at'], unique=False)

    op.create_table('members',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('joined_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_members_brand_id_brands')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('brand_id', 'user_id', name=op.f('uq_members_brand_id_user_id'))
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_members_user_id'), ['user_id'], unique=False)

    op.create_table('staff_members',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_staff_members_brand_id_brands')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_members')),
    sa.UniqueConstraint('brand_id', 'user_id', name=op.f('uq_staff_members_brand_id_user_id'))
    )
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_members_user_id'), ['user_id'], unique=False)

    op.create_table('leaders',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('real_name', sa.String(length=32), nullable=False),
    sa.Column('application_note', sa.String(length=500), nullable=False),
    sa.Column('decision_reason', sa.String(length=500), nullable=True),
    sa.Column('applied_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('activated_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exited_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_leaders_brand_id_brands')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_leaders_community_id_communities')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_leaders_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leaders'))
    )
    with op.batch_alter_table('leaders', schema=None) as batch_op:
        batch_op.create_index('ix_leaders_brand_status', ['brand_id', 'status'], unique=False)
        batch_op.create_index('uq_leaders_community_holding', ['community_id'], unique=True, sqlite_where=sa.text("status IN ('active', 'suspended')"), postgresql_where=sa.text("status IN ('active', 'suspended')"))
        batch_op.create_index('uq_leaders_member_open', ['member_id'], unique=True, sqlite_where=sa.text("status IN ('applied', 'active', 'suspended')"), postgresql_where=sa.text("status IN ('applied', 'active', 'suspended')"))

    op.create_table('pickup_points',
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('opening_hours', sa.String(length=64), nullable=False),
    sa.Column('contact_name', sa.String(length=32), nullable=False),
    sa.Column('contact_phone', sa.String(length=20), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_pickup_points_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pickup_points')),
    sa.UniqueConstraint('community_id', name=op.f('uq_pickup_points_community_id'))
    )
    op.create_table('products',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('category_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('images', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_products_brand_id_brands')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_products_category_id_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_brand_id'), ['brand_id'], unique=False)

    op.create_table('room_comments',
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('body', sa.String(length=200), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_room_comments_session_id_live_sessions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_room_comments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room_comments'))
    )
    with op.batch_alter_table('room_comments', schema=None) as batch_op:
        batch_op.create_index('ix_room_comments_session_user', ['session_id', 'user_id', 'created_at'], unique=False)

    op.create_table('attribution_disputes',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claimant_leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bound_leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolution_reason', sa.String(length=500), nullable=True),
    sa.Column('resolved_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('opened_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['bound_leader_id'], ['leaders.id'], name=op.f('fk_attribution_disputes_bound_leader_id_leaders')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_attribution_disputes_brand_id_brands')),
    sa.ForeignKeyConstraint(['claimant_leader_id'], ['leaders.id'], name=op.f('fk_attribution_disputes_claimant_leader_id_leaders')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_attribution_disputes_member_id_members')),
    sa.ForeignKeyConstraint(['resolved_by_user_id'], ['users.id'], name=op.f('fk_attribution_disputes_resolved_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attribution_disputes'))
    )
    with op.batch_alter_table('attribution_disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attribution_disputes_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index('uq_disputes_open_per_claimant', ['member_id', 'claimant_leader_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('attribution_events',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('previous_leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('invite_code', sa.String(length=16), nullable=True),
    sa.Column('actor_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('occurred_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_attribution_events_actor_user_id_users')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_attribution_events_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_attribution_events_leader_id_leaders')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_attribution_events_member_id_members')),
    sa.ForeignKeyConstraint(['previous_leader_id'], ['leaders.id'], name=op.f('fk_attribution_events_previous_leader_id_leaders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attribution_events'))
    )
    with op.batch_alter_table('attribution_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attribution_events_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index('ix_attribution_events_leader', ['leader_id', 'id'], unique=False)
        batch_op.create_index('ix_attribution_events_member', ['member_id', 'id'], unique=False)
        batch_op.create_index('ix_attribution_events_previous_leader', ['previous_leader_id', 'id'], unique=False)

    op.create_table('bindings',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('invite_code', sa.String(length=16), nullable=True),
    sa.Column('bound_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('protected_until', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_bindings_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_bindings_leader_id_leaders')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_bindings_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bindings')),
    sa.UniqueConstraint('member_id', name=op.f('uq_bindings_member_id'))
    )
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.create_index('ix_bindings_leader_status', ['leader_id', 'status'], unique=False)

    op.create_table('invite_codes',
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('grace_until', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_invite_codes_leader_id_leaders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invite_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_invite_codes_code'))
    )
    with op.batch_alter_table('invite_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invite_codes_leader_id'), ['leader_id'], unique=False)
        batch_op.create_index('uq_invite_codes_leader_active', ['leader_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('leader_status_changes',
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('actor_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('changed_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_leader_status_changes_actor_user_id_users')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_leader_status_changes_leader_id_leaders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leader_status_changes'))
    )
    with op.batch_alter_table('leader_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leader_status_changes_leader_id'), ['leader_id'], unique=False)

    op.create_table('ledger_accounts',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_ledger_accounts_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_ledger_accounts_leader_id_leaders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('code', name=op.f('uq_ledger_accounts_code'))
    )
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_accounts_leader', ['leader_id'], unique=False)

    op.create_table('room_visits',
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('visited_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_room_visits_leader_id_leaders')),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_room_visits_session_id_live_sessions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_room_visits_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room_visits'))
    )
    with op.batch_alter_table('room_visits', schema=None) as batch_op:
        batch_op.create_index('ix_room_visits_session_leader', ['session_id', 'leader_id'], unique=False)

    op.create_table('skus',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('list_price_fen', sa.Integer(), nullable=False),
    sa.Column('stock_quantity', sa.Integer(), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint('list_price_fen > 0', name=op.f('ck_skus_list_price_positive')),
    sa.CheckConstraint('stock_quantity >= 0', name=op.f('ck_skus_stock_quantity_non_negative')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_skus_brand_id_brands')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_skus_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skus'))
    )
    with op.batch_alter_table('skus', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skus_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_skus_product_id'), ['product_id'], unique=False)

    op.create_table('tier_bonuses',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('rule_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('gmv_fen', sa.Integer(), nullable=False),
    sa.Column('threshold_fen', sa.Integer(), nullable=True),
    sa.Column('reward', sa.String(length=100), nullable=False),
    sa.Column('awarded_fen', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('computed_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_tier_bonuses_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_tier_bonuses_leader_id_leaders')),
    sa.ForeignKeyConstraint(['rule_version_id'], ['commission_rule_versions.id'], name=op.f('fk_tier_bonuses_rule_version_id_commission_rule_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_bonuses')),
    sa.UniqueConstraint('leader_id', 'month', name=op.f('uq_tier_bonuses_leader_id_month'))
    )
    with op.batch_alter_table('tier_bonuses', schema=None) as batch_op:
        batch_op.create_index('ix_tier_bonuses_brand_month', ['brand_id', 'month'], unique=False)

    op.create_table('listings',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sku_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('live_price_fen', sa.Integer(), nullable=False),
    sa.Column('allocation', sa.Integer(), nullable=False),
    sa.Column('sold', sa.Integer(), nullable=False),
    sa.Column('per_member_limit', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint('live_price_fen > 0', name=op.f('ck_listings_live_price_positive')),
    sa.CheckConstraint('sold >= 0 AND sold <= allocation', name=op.f('ck_listings_sold_within_allocation')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_listings_brand_id_brands')),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_listings_session_id_live_sessions')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_listings_sku_id_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listings')),
    sa.UniqueConstraint('session_id', 'sku_id', name=op.f('uq_listings_session_id_sku_id'))
    )
    op.create_table('stock_adjustments',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sku_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('stock_after', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_stock_adjustments_actor_user_id_users')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_stock_adjustments_brand_id_brands')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_stock_adjustments_sku_id_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_adjustments'))
    )
    with op.batch_alter_table('stock_adjustments', schema=None) as batch_op:
        batch_op.create_index('ix_stock_adjustments_sku', ['sku_id', 'id'], unique=False)

    op.create_table('community_offers',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('listing_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.Column('sold', sa.Integer(), nullable=False),
    sa.Column('per_member_limit', sa.Integer(), nullable=False),
    sa.Column('starts_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint('per_member_limit > 0', name=op.f('ck_community_offers_limit_positive')),
    sa.CheckConstraint('price_fen > 0', name=op.f('ck_community_offers_price_positive')),
    sa.CheckConstraint('sold >= 0 AND sold <= quota', name=op.f('ck_community_offers_sold_within_quota')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_community_offers_brand_id_brands')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_offers_community_id_communities')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_community_offers_leader_id_leaders')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_community_offers_listing_id_listings')),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_community_offers_session_id_live_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_offers'))
    )
    with op.batch_alter_table('community_offers', schema=None) as batch_op:
        batch_op.create_index('ix_community_offers_session', ['session_id', 'status'], unique=False)

    op.create_table('orders',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('listing_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('offer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('sku_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_name', sa.String(length=64), nullable=False),
    sa.Column('sku_name', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_fen', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.Integer(), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('pickup_point_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('placed_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_orders_quantity_positive')),
    sa.CheckConstraint('total_fen = unit_price_fen * quantity', name=op.f('ck_orders_total_is_price_times_quantity')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_orders_brand_id_brands')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_orders_community_id_communities')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_orders_leader_id_leaders')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_orders_listing_id_listings')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_orders_member_id_members')),
    sa.ForeignKeyConstraint(['offer_id'], ['community_offers.id'], name=op.f('fk_orders_offer_id_community_offers')),
    sa.ForeignKeyConstraint(['pickup_point_id'], ['pickup_points.id'], name=op.f('fk_orders_pickup_point_id_pickup_points')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_orders_product_id_products')),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_orders_session_id_live_sessions')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_orders_sku_id_skus')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_orders_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('member_id', 'idempotency_key', name=op.f('uq_orders_member_id_idempotency_key'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_leader_placed', ['leader_id', 'placed_at'], unique=False)
        batch_op.create_index('ix_orders_listing_member', ['listing_id', 'member_id'], unique=False)
        batch_op.create_index('ix_orders_member_placed', ['member_id', 'placed_at'], unique=False)
        batch_op.create_index('ix_orders_offer_member', ['offer_id', 'member_id'], unique=False)
        batch_op.create_index('ix_orders_session_leader', ['session_id', 'leader_id'], unique=False)
        batch_op.create_index('ix_orders_status_expires', ['status', 'expires_at'], unique=False)

    op.create_table('commission_lines',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_name', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('paid_fen', sa.Integer(), nullable=False),
    sa.Column('rule_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('rate_bp', sa.Integer(), nullable=False),
    sa.Column('referral_bp', sa.Integer(), nullable=False),
    sa.Column('commission_fen', sa.Integer(), nullable=False),
    sa.Column('refunded_fen', sa.Integer(), nullable=False),
    sa.Column('clawed_back_fen', sa.Integer(), nullable=False),
    sa.Column('settled_fen', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('placed_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('eligible_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('settled_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint('clawed_back_fen >= 0 AND clawed_back_fen <= commission_fen', name=op.f('ck_commission_lines_clawback_within_commission')),
    sa.CheckConstraint('paid_fen >= 0 AND commission_fen >= 0', name=op.f('ck_commission_lines_amounts_non_negative')),
    sa.CheckConstraint('refunded_fen >= 0 AND refunded_fen <= paid_fen', name=op.f('ck_commission_lines_refunded_within_paid')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_commission_lines_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_commission_lines_leader_id_leaders')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_commission_lines_member_id_members')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_commission_lines_order_id_orders')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_commission_lines_product_id_products')),
    sa.ForeignKeyConstraint(['rule_version_id'], ['commission_rule_versions.id'], name=op.f('fk_commission_lines_rule_version_id_commission_rule_versions')),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_commission_lines_session_id_live_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_lines')),
    sa.UniqueConstraint('order_id', name=op.f('uq_commission_lines_order_id'))
    )
    with op.batch_alter_table('commission_lines', schema=None) as batch_op:
        batch_op.create_index('ix_commission_lines_brand_paid', ['brand_id', 'paid_at'], unique=False)
        batch_op.create_index('ix_commission_lines_due', ['status', 'eligible_at', 'id'], unique=False)
        batch_op.create_index('ix_commission_lines_leader', ['leader_id', 'id'], unique=False)

    op.create_table('order_status_changes',
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=True),
    sa.Column('to_status', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('changed_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_status_changes_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_status_changes'))
    )
    with op.batch_alter_table('order_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_status_changes_order_id'), ['order_id'], unique=False)

    op.create_table('payments',
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('provider_transaction_id', sa.String(length=64), nullable=True),
    sa.Column('prepay', sa.JSON(), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('succeeded_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payments_amount_positive')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_payments_brand_id_brands')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('out_trade_no', name=op.f('uq_payments_out_trade_no')),
    sa.UniqueConstraint('provider_transaction_id', name=op.f('uq_payments_provider_transaction_id'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_order_id'), ['order_id'], unique=False)

    op.create_table('refunds',
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('out_refund_no', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('out_refund_no', name=op.f('uq_refunds_out_refund_no'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_payment_id'), ['payment_id'], unique=False)

    op.create_table('ledger_transactions',
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('commission_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('rule_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('refund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('memo', sa.String(length=200), nullable=False),
    sa.Column('posted_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_ledger_transactions_brand_id_brands')),
    sa.ForeignKeyConstraint(['commission_line_id'], ['commission_lines.id'], name=op.f('fk_ledger_transactions_commission_line_id_commission_lines')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_ledger_transactions_leader_id_leaders')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_ledger_transactions_order_id_orders')),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_ledger_transactions_refund_id_refunds')),
    sa.ForeignKeyConstraint(['rule_version_id'], ['commission_rule_versions.id'], name=op.f('fk_ledger_transactions_rule_version_id_commission_rule_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transactions')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ledger_transactions_idempotency_key'))
    )
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_transactions_leader_posted', ['leader_id', 'posted_at'], unique=False)
        batch_op.create_index('ix_ledger_transactions_line', ['commission_line_id'], unique=False)
        batch_op.create_index('ix_ledger_transactions_order', ['order_id'], unique=False)

    op.create_table('commission_refunds',
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('refund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('requested_fen', sa.Integer(), nullable=False),
    sa.Column('applied_fen', sa.Integer(), nullable=False),
    sa.Column('clawback_fen', sa.Integer(), nullable=False),
    sa.Column('from_account_kind', sa.String(length=32), nullable=True),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['commission_lines.id'], name=op.f('fk_commission_refunds_line_id_commission_lines')),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_commission_refunds_refund_id_refunds')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], name=op.f('fk_commission_refunds_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_refunds')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_commission_refunds_idempotency_key'))
    )
    with op.batch_alter_table('commission_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commission_refunds_line_id'), ['line_id'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('posted_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], name=op.f('fk_ledger_entries_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], name=op.f('fk_ledger_entries_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_account', ['account_id', 'id'], unique=False)
        batch_op.create_index('ix_ledger_entries_transaction', ['transaction_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_transaction')
        batch_op.drop_index('ix_ledger_entries_account')

    op.drop_table('ledger_entries')
    with op.batch_alter_table('commission_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commission_refunds_line_id'))

    op.drop_table('commission_refunds')
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_transactions_order')
        batch_op.drop_index('ix_ledger_transactions_line')
        batch_op.drop_index('ix_ledger_transactions_leader_posted')

    op.drop_table('ledger_transactions')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_payment_id'))
        batch_op.drop_index(batch_op.f('ix_refunds_order_id'))

    op.drop_table('refunds')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_order_id'))

    op.drop_table('payments')
    with op.batch_alter_table('order_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_status_changes_order_id'))

    op.drop_table('order_status_changes')
    with op.batch_alter_table('commission_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_commission_lines_leader')
        batch_op.drop_index('ix_commission_lines_due')
        batch_op.drop_index('ix_commission_lines_brand_paid')

    op.drop_table('commission_lines')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_status_expires')
        batch_op.drop_index('ix_orders_session_leader')
        batch_op.drop_index('ix_orders_offer_member')
        batch_op.drop_index('ix_orders_member_placed')
        batch_op.drop_index('ix_orders_listing_member')
        batch_op.drop_index('ix_orders_leader_placed')

    op.drop_table('orders')
    with op.batch_alter_table('community_offers', schema=None) as batch_op:
        batch_op.drop_index('ix_community_offers_session')

    op.drop_table('community_offers')
    with op.batch_alter_table('stock_adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_adjustments_sku')

    op.drop_table('stock_adjustments')
    op.drop_table('listings')
    with op.batch_alter_table('tier_bonuses', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_bonuses_brand_month')

    op.drop_table('tier_bonuses')
    with op.batch_alter_table('skus', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_skus_product_id'))
        batch_op.drop_index(batch_op.f('ix_skus_brand_id'))

    op.drop_table('skus')
    with op.batch_alter_table('room_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_room_visits_session_leader')

    op.drop_table('room_visits')
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_accounts_leader')

    op.drop_table('ledger_accounts')
    with op.batch_alter_table('leader_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leader_status_changes_leader_id'))

    op.drop_table('leader_status_changes')
    with op.batch_alter_table('invite_codes', schema=None) as batch_op:
        batch_op.drop_index('uq_invite_codes_leader_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_invite_codes_leader_id'))

    op.drop_table('invite_codes')
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.drop_index('ix_bindings_leader_status')

    op.drop_table('bindings')
    with op.batch_alter_table('attribution_events', schema=None) as batch_op:
        batch_op.drop_index('ix_attribution_events_previous_leader')
        batch_op.drop_index('ix_attribution_events_member')
        batch_op.drop_index('ix_attribution_events_leader')
        batch_op.drop_index(batch_op.f('ix_attribution_events_brand_id'))

    op.drop_table('attribution_events')
    with op.batch_alter_table('attribution_disputes', schema=None) as batch_op:
        batch_op.drop_index('uq_disputes_open_per_claimant', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_attribution_disputes_brand_id'))

    op.drop_table('attribution_disputes')
    with op.batch_alter_table('room_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_room_comments_session_user')

    op.drop_table('room_comments')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_brand_id'))

    op.drop_table('products')
    op.drop_table('pickup_points')
    with op.batch_alter_table('leaders', schema=None) as batch_op:
        batch_op.drop_index('uq_leaders_member_open', sqlite_where=sa.text("status IN ('applied', 'active', 'suspended')"), postgresql_where=sa.text("status IN ('applied', 'active', 'suspended')"))
        batch_op.drop_index('uq_leaders_community_holding', sqlite_where=sa.text("status IN ('active', 'suspended')"), postgresql_where=sa.text("status IN ('active', 'suspended')"))
        batch_op.drop_index('ix_leaders_brand_status')

    op.drop_table('leaders')
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_members_user_id'))

    op.drop_table('staff_members')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_user_id'))

    op.drop_table('members')
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_live_sessions_brand_start')

    op.drop_table('live_sessions')
    op.drop_table('leader_programs')
    op.drop_table('communities')
    with op.batch_alter_table('commission_rule_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_commission_rule_versions_brand_created')

    op.drop_table('commission_rule_versions')
    op.drop_table('categories')
    op.drop_table('binding_policies')
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_sessions_user_id'))

    op.drop_table('auth_sessions')
    op.drop_table('users')
    with op.batch_alter_table('sms_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_codes_phone_created')

    op.drop_table('sms_codes')
    with op.batch_alter_table('payment_callbacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_callbacks_out_trade_no'))

    op.drop_table('payment_callbacks')
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_stream')
        batch_op.drop_index('ix_outbox_pending')

    op.drop_table('outbox_events')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_identifier_at')

    op.drop_table('login_attempts')
    with op.batch_alter_table('dev_sms_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dev_sms_messages_phone'))

    op.drop_table('dev_sms_messages')
    op.drop_table('brands')
