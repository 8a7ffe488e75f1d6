"""the pages: a receipt per create form carried out (a double click creates once)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_form_receipts',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('form_key', sa.String(length=64), nullable=False),
    sa.Column('result_path', sa.String(length=300), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_form_receipts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_form_receipts')),
    sa.UniqueConstraint('user_id', 'form_key', name=op.f('uq_web_form_receipts_user_id_form_key'))
    )


def downgrade() -> None:
    op.drop_table('web_form_receipts')
