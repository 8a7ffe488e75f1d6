"""the scheduler: job runs (one per job, scope and period), brands' schedules, worker heartbeats

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:01:23.895634
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('due_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('started_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reclaim_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('job', 'scope', 'period', name=op.f('uq_job_runs_job_scope_period'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_job_scope', ['job', 'scope', 'id'], unique=False)

    op.create_table('worker_heartbeats',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('started_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seen_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_heartbeats'))
    )
    op.create_table('schedule_policies',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('settle_at', sa.String(length=5), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_schedule_policies_brand_id_brands')),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['users.id'], name=op.f('fk_schedule_policies_updated_by_user_id_users')),
    sa.PrimaryKeyConstraint('brand_id', name=op.f('pk_schedule_policies'))
    )


def downgrade() -> None:
    op.drop_table('schedule_policies')
    op.drop_table('worker_heartbeats')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_job_scope')

    op.drop_table('job_runs')
