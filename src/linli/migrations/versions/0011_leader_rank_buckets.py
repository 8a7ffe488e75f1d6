"""the leaders of a brand's month per GMV bucket: a leader's rank read from a few rows

Filled here from `dash_leader_months` (the buckets are computed in Python, as dashboards.rank_buckets counts
them; the same function, so both agree).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from linli.dashboards.rank_buckets import bucket_of

    table = op.create_table('dash_leader_rank_buckets',
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('bucket', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('leaders', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_dash_leader_rank_buckets_brand_id_brands')),
    sa.PrimaryKeyConstraint('brand_id', 'month', 'bucket', name=op.f('pk_dash_leader_rank_buckets'))
    )
    counts: Counter = Counter()
    for brand_id, month, gmv in op.get_bind().execute(
        sa.text("SELECT brand_id, month, gmv_fen FROM dash_leader_months WHERE orders > 0")
    ):
        counts[(brand_id, month, bucket_of(int(gmv)))] += 1
    rows = [{"brand_id": b, "month": m, "bucket": k, "leaders": n} for (b, m, k), n in sorted(counts.items())]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table('dash_leader_rank_buckets')
