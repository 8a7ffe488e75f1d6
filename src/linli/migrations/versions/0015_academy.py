"""the leader academy (主理人成长中心): courses and their lessons, each leader's progress, mentors, the brand's settings

The leader programme's levels (JSON) need no change: a level saved before courses existed requires none.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linli.db

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('academy_courses',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=40), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_academy_courses_brand_id_brands')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_academy_courses'))
    )
    with op.batch_alter_table('academy_courses', schema=None) as batch_op:
        batch_op.create_index('ix_academy_courses_brand_status', ['brand_id', 'status'], unique=False)

    op.create_table('academy_settings',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('auto_assign_mentor', sa.Boolean(), nullable=False),
    sa.Column('mentor_capacity', sa.Integer(), nullable=False),
    sa.Column('mentor_min_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_academy_settings_brand_id_brands')),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['users.id'], name=op.f('fk_academy_settings_updated_by_user_id_users')),
    sa.PrimaryKeyConstraint('brand_id', name=op.f('pk_academy_settings'))
    )
    op.create_table('academy_lessons',
    sa.Column('course_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('video_url', sa.String(length=500), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['academy_courses.id'], name=op.f('fk_academy_lessons_course_id_academy_courses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_academy_lessons'))
    )
    with op.batch_alter_table('academy_lessons', schema=None) as batch_op:
        batch_op.create_index('ix_academy_lessons_course_position', ['course_id', 'position'], unique=False)

    op.create_table('academy_course_completions',
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('course_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('completed_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['academy_courses.id'], name=op.f('fk_academy_course_completions_course_id_academy_courses')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_academy_course_completions_leader_id_leaders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_academy_course_completions')),
    sa.UniqueConstraint('leader_id', 'course_id', name=op.f('uq_academy_course_completions_leader_id_course_id'))
    )
    with op.batch_alter_table('academy_course_completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_academy_course_completions_course_id'), ['course_id'], unique=False)

    op.create_table('academy_lesson_completions',
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lesson_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('course_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('done_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['academy_courses.id'], name=op.f('fk_academy_lesson_completions_course_id_academy_courses')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_academy_lesson_completions_leader_id_leaders')),
    sa.ForeignKeyConstraint(['lesson_id'], ['academy_lessons.id'], name=op.f('fk_academy_lesson_completions_lesson_id_academy_lessons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_academy_lesson_completions')),
    sa.UniqueConstraint('leader_id', 'lesson_id', name=op.f('uq_academy_lesson_completions_leader_id_lesson_id'))
    )
    with op.batch_alter_table('academy_lesson_completions', schema=None) as batch_op:
        batch_op.create_index('ix_academy_lesson_completions_leader_course', ['leader_id', 'course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_academy_lesson_completions_lesson_id'), ['lesson_id'], unique=False)

    op.create_table('academy_mentor_contacts',
    sa.Column('leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact', sa.String(length=64), nullable=False),
    sa.Column('updated_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_academy_mentor_contacts_leader_id_leaders')),
    sa.PrimaryKeyConstraint('leader_id', name=op.f('pk_academy_mentor_contacts'))
    )
    op.create_table('academy_mentorships',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mentee_leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mentor_leader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('how', sa.String(length=16), nullable=False),
    sa.Column('assigned_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assigned_at', linli.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', linli.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['assigned_by_user_id'], ['users.id'], name=op.f('fk_academy_mentorships_assigned_by_user_id_users')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_academy_mentorships_brand_id_brands')),
    sa.ForeignKeyConstraint(['ended_by_user_id'], ['users.id'], name=op.f('fk_academy_mentorships_ended_by_user_id_users')),
    sa.ForeignKeyConstraint(['mentee_leader_id'], ['leaders.id'], name=op.f('fk_academy_mentorships_mentee_leader_id_leaders')),
    sa.ForeignKeyConstraint(['mentor_leader_id'], ['leaders.id'], name=op.f('fk_academy_mentorships_mentor_leader_id_leaders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_academy_mentorships'))
    )
    with op.batch_alter_table('academy_mentorships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_academy_mentorships_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index('ix_academy_mentorships_mentor_ended', ['mentor_leader_id', 'ended_at'], unique=False)
        batch_op.create_index('uq_academy_mentorships_mentee_current', ['mentee_leader_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))


def downgrade() -> None:
    for table in (
        'academy_mentorships', 'academy_mentor_contacts', 'academy_lesson_completions', 'academy_course_completions',
        'academy_lessons', 'academy_settings', 'academy_courses',
    ):
        op.drop_table(table)
