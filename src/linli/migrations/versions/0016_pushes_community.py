"""pushes and community groups: the push outbox (contents, a push per recipient per channel, attempts, WeCom robots,
muted channels), community groups with their 70/30 messages and invitations, and the inbox message's link

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 13:24:49
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('push_images',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('content_type', sa.String(length=16), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_images')),
    sa.UniqueConstraint('sha256', name=op.f('uq_push_images_sha256'))
    )
    op.create_table('push_mutes',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('muted_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_push_mutes_brand_id_brands')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_mutes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_mutes')),
    sa.UniqueConstraint('user_id', 'brand_id', 'channel', name=op.f('uq_push_mutes_user_id_brand_id_channel'))
    )
    op.create_table('push_robots',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('webhook_url', sa.String(length=500), nullable=True),
    sa.Column('url_hash', sa.String(length=64), nullable=True),
    sa.Column('paused_until', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_push_robots_brand_id_brands')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_robots')),
    sa.UniqueConstraint('url_hash', name=op.f('uq_push_robots_url_hash'))
    )
    with op.batch_alter_table('push_robots', schema=None) as batch_op:
        batch_op.create_index('uq_push_robots_brand_scope', ['brand_id'], unique=True, sqlite_where=sa.text("scope = 'brand'"), postgresql_where=sa.text("scope = 'brand'"))

    op.create_table('community_groups',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('join_url', sa.String(length=500), nullable=True),
    sa.Column('robot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('commerce_ceiling_bp', sa.Integer(), nullable=False),
    sa.Column('window_messages', sa.Integer(), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ready_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_community_groups_brand_id_brands')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_groups_community_id_communities')),
    sa.ForeignKeyConstraint(['robot_id'], ['push_robots.id'], name=op.f('fk_community_groups_robot_id_push_robots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_groups')),
    sa.UniqueConstraint('community_id', name=op.f('uq_community_groups_community_id'))
    )
    with op.batch_alter_table('community_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_groups_brand_id'), ['brand_id'], unique=False)

    op.create_table('community_group_messages',
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tag', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['community_groups.id'], name=op.f('fk_community_group_messages_group_id_community_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_group_messages')),
    sa.UniqueConstraint('source', 'source_id', name=op.f('uq_community_group_messages_source_source_id'))
    )
    with op.batch_alter_table('community_group_messages', schema=None) as batch_op:
        batch_op.create_index('ix_community_group_messages_group', ['group_id', 'id'], unique=False)

    op.create_table('push_contents',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dedupe_key', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('tag', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('body', sa.String(length=2048), nullable=False),
    sa.Column('markdown', sa.Text(), nullable=True),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('image_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('held_share_bp', sa.Integer(), nullable=True),
    sa.Column('hold_note', sa.String(length=200), nullable=True),
    sa.Column('decided_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_push_contents_brand_id_brands')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_push_contents_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_push_contents_decided_by_user_id_users')),
    sa.ForeignKeyConstraint(['group_id'], ['community_groups.id'], name=op.f('fk_push_contents_group_id_community_groups')),
    sa.ForeignKeyConstraint(['image_id'], ['push_images.id'], name=op.f('fk_push_contents_image_id_push_images')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_contents')),
    sa.UniqueConstraint('brand_id', 'dedupe_key', name=op.f('uq_push_contents_brand_id_dedupe_key'))
    )
    with op.batch_alter_table('push_contents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_contents_group_id'), ['group_id'], unique=False)

    op.create_table('pushes',
    sa.Column('content_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('part', sa.String(length=8), nullable=False),
    sa.Column('recipient_key', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('robot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_pushes_brand_id_brands')),
    sa.ForeignKeyConstraint(['content_id'], ['push_contents.id'], name=op.f('fk_pushes_content_id_push_contents')),
    sa.ForeignKeyConstraint(['robot_id'], ['push_robots.id'], name=op.f('fk_pushes_robot_id_push_robots')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pushes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pushes')),
    sa.UniqueConstraint('content_id', 'channel', 'recipient_key', 'part', name=op.f('uq_pushes_content_id_channel_recipient_key_part'))
    )
    with op.batch_alter_table('pushes', schema=None) as batch_op:
        batch_op.create_index('ix_pushes_brand', ['brand_id', 'state', 'id'], unique=False)
        batch_op.create_index('ix_pushes_due', ['channel', 'state', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_pushes_robot_due', ['robot_id', 'state', 'next_attempt_at'], unique=False)

    op.create_table('push_attempts',
    sa.Column('push_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('robot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('started_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['push_id'], ['pushes.id'], name=op.f('fk_push_attempts_push_id_pushes')),
    sa.ForeignKeyConstraint(['robot_id'], ['push_robots.id'], name=op.f('fk_push_attempts_robot_id_push_robots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_attempts'))
    )
    with op.batch_alter_table('push_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_attempts_push_id'), ['push_id'], unique=False)
        batch_op.create_index('ix_push_attempts_robot', ['robot_id', 'started_at'], unique=False)

    op.create_table('community_invites',
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('invited_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['community_groups.id'], name=op.f('fk_community_invites_group_id_community_groups')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_community_invites_member_id_members')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_community_invites_order_id_orders')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_invites_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_invites')),
    sa.UniqueConstraint('member_id', name=op.f('uq_community_invites_member_id'))
    )
    with op.batch_alter_table('community_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_invites_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_invites_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link', sa.String(length=255), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('link')

    with op.batch_alter_table('community_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_invites_user_id'))
        batch_op.drop_index(batch_op.f('ix_community_invites_group_id'))

    op.drop_table('community_invites')
    with op.batch_alter_table('push_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_push_attempts_robot')
        batch_op.drop_index(batch_op.f('ix_push_attempts_push_id'))

    op.drop_table('push_attempts')
    with op.batch_alter_table('pushes', schema=None) as batch_op:
        batch_op.drop_index('ix_pushes_robot_due')
        batch_op.drop_index('ix_pushes_due')
        batch_op.drop_index('ix_pushes_brand')

    op.drop_table('pushes')
    with op.batch_alter_table('push_contents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_contents_group_id'))

    op.drop_table('push_contents')
    with op.batch_alter_table('community_group_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_community_group_messages_group')

    op.drop_table('community_group_messages')
    with op.batch_alter_table('community_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_groups_brand_id'))

    op.drop_table('community_groups')
    with op.batch_alter_table('push_robots', schema=None) as batch_op:
        batch_op.drop_index('uq_push_robots_brand_scope', sqlite_where=sa.text("scope = 'brand'"), postgresql_where=sa.text("scope = 'brand'"))

    op.drop_table('push_robots')
    op.drop_table('push_mutes')
    op.drop_table('push_images')
