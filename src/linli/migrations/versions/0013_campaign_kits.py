"""campaign kits: copy templates, session campaigns, one kit per leader per session

The kits of sessions scheduled before this revision are made by the worker on the session's next change, or at
once by `linli kits refresh`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 13:21:09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('copy_templates',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('body', sa.String(length=1000), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_copy_templates_brand_id_brands')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_copy_templates'))
    )
    with op.batch_alter_table('copy_templates', schema=None) as batch_op:
        batch_op.create_index('ix_copy_templates_brand', ['brand_id', 'id'], unique=False)

    op.create_table('session_campaigns',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('copy_template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('cover_key', sa.String(length=200), nullable=True),
    sa.Column('cover_sha256', sa.String(length=64), nullable=True),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_session_campaigns_brand_id_brands')),
    sa.ForeignKeyConstraint(['copy_template_id'], ['copy_templates.id'], name=op.f('fk_session_campaigns_copy_template_id_copy_templates')),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_session_campaigns_session_id_live_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_campaigns')),
    sa.UniqueConstraint('session_id', name=op.f('uq_session_campaigns_session_id'))
    )
    op.create_table('campaign_kits',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('leader_name', sa.String(length=32), nullable=False),
    sa.Column('badge', sa.String(length=100), nullable=False),
    sa.Column('invite_code', sa.String(length=16), nullable=False),
    sa.Column('invite_link', sa.String(length=300), nullable=False),
    sa.Column('copy_text', sa.String(length=2000), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('made_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('remade_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminded', sa.String(length=64), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_campaign_kits_brand_id_brands')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_campaign_kits_leader_id_leaders')),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_campaign_kits_session_id_live_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_kits')),
    sa.UniqueConstraint('session_id', 'leader_id', name=op.f('uq_campaign_kits_session_id_leader_id'))
    )
    with op.batch_alter_table('campaign_kits', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_kits_leader', ['leader_id', 'session_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('campaign_kits', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_kits_leader')

    op.drop_table('campaign_kits')
    op.drop_table('session_campaigns')
    with op.batch_alter_table('copy_templates', schema=None) as batch_op:
        batch_op.drop_index('ix_copy_templates_brand')

    op.drop_table('copy_templates')
