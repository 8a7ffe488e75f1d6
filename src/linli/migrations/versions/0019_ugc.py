"""ugc: community posts with photos, moderation and the featured reward

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 15:05:13
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('community_ugc_settings',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reward_template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_community_ugc_settings_brand_id_brands')),
    sa.ForeignKeyConstraint(['reward_template_id'], ['coupon_templates.id'], name=op.f('fk_community_ugc_settings_reward_template_id_coupon_templates')),
    sa.PrimaryKeyConstraint('brand_id', name=op.f('pk_community_ugc_settings'))
    )
    op.create_table('community_posts',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('tag', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=40), nullable=False),
    sa.Column('body', sa.String(length=2000), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('hide_reason', sa.String(length=200), nullable=True),
    sa.Column('moderated_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('moderated_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approved_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('featured_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('featured_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reward_coupon_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_community_posts_brand_id_brands')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_posts_community_id_communities')),
    sa.ForeignKeyConstraint(['featured_by_user_id'], ['users.id'], name=op.f('fk_community_posts_featured_by_user_id_users')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_community_posts_member_id_members')),
    sa.ForeignKeyConstraint(['moderated_by_user_id'], ['users.id'], name=op.f('fk_community_posts_moderated_by_user_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_community_posts_order_id_orders')),
    sa.ForeignKeyConstraint(['reward_coupon_id'], ['coupons.id'], name=op.f('fk_community_posts_reward_coupon_id_coupons')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_posts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_posts')),
    sa.UniqueConstraint('reward_coupon_id', name=op.f('uq_community_posts_reward_coupon_id'))
    )
    with op.batch_alter_table('community_posts', schema=None) as batch_op:
        batch_op.create_index('ix_community_posts_author', ['member_id', 'id'], unique=False)
        batch_op.create_index('ix_community_posts_feed', ['community_id', 'status', 'approved_at'], unique=False)
        batch_op.create_index('ix_community_posts_queue', ['brand_id', 'status', 'id'], unique=False)

    op.create_table('community_post_photos',
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=16), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'], name=op.f('fk_community_post_photos_post_id_community_posts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_post_photos')),
    sa.UniqueConstraint('post_id', 'position', name=op.f('uq_community_post_photos_post_id_position'))
    )


def downgrade() -> None:
    op.drop_table('community_post_photos')
    with op.batch_alter_table('community_posts', schema=None) as batch_op:
        batch_op.drop_index('ix_community_posts_queue')
        batch_op.drop_index('ix_community_posts_feed')
        batch_op.drop_index('ix_community_posts_author')

    op.drop_table('community_posts')
    op.drop_table('community_ugc_settings')
