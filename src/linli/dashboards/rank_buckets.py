"""A leader's rank in a month without counting every leader of the brand: the month's leaders by GMV bucket.

`dash_leader_rank_buckets` holds, per brand, local month and bucket, how many leaders have a month row
(`dash_leader_months` with an order) whose GMV falls in the bucket. Buckets are logarithmic with four per
doubling (the bit length of the GMV in fen and the two bits after its leading one), so there are at most 256
and each holds GMVs within 25 % of each other. A leader's rank is 1 + the leaders of the buckets above theirs +
those of their own bucket with a higher GMV (an index range of `dash_leader_months` between their GMV and the
bucket's end); the leaders ranked are the sum of every bucket.

`record_payment` / `record_refund` move the leader between buckets under the lock of the leader's month row
(its upsert returns the GMV after the change, the one before is that minus the change), bumping one move's two
buckets in ascending order. The bucket rows are as hot as the brand's day row each payment bumps anyway; two
workers' batches that still meet in opposite orders are a deadlock PostgreSQL breaks, and the losing batch's
events are retried (every handler is idempotent). A rebuild recounts them from the leader months (`recount`),
and `linli audit` compares both (`differences`).
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards.models import LeaderMonth, LeaderRankBucket
from linli.dashboards.upsert import bump

SIGNIFICANT_BITS = 3  # the leading bit and the two after it: four buckets per doubling


def bucket_of(gmv_fen: int) -> int:
    """Non-decreasing in the GMV: 0 for nothing (or less), then 4 × bit length + the two bits after the leading."""
    if gmv_fen <= 0:
        return 0
    bits = gmv_fen.bit_length()
    return bits * 4 + ((gmv_fen >> max(bits - SIGNIFICANT_BITS, 0)) & 0b11)


def bucket_end(gmv_fen: int) -> int:
    """The least GMV above `gmv_fen` that is in a higher bucket."""
    if gmv_fen <= 0:
        return 1
    shift = max(gmv_fen.bit_length() - SIGNIFICANT_BITS, 0)
    return ((gmv_fen >> shift) + 1) << shift


async def move(session: AsyncSession, *, brand_id: int, month: date, before_fen: int | None, after_fen: int) -> None:
    """The leader's month went from `before_fen` (None: it had no row yet) to `after_fen`."""
    changes: dict[int, int] = {}
    if before_fen is not None:
        changes[bucket_of(before_fen)] = -1
    new = bucket_of(after_fen)
    changes[new] = changes.get(new, 0) + 1
    for bucket, leaders in sorted(changes.items()):
        if leaders:
            await bump(session, LeaderRankBucket, keys={"brand_id": brand_id, "month": month, "bucket": bucket},
                       leaders=leaders)


async def rank_in_month(*, session: AsyncSession, brand_id: int, month: date, mine: int) -> tuple[int | None, int]:
    """(1 + the leaders with a higher GMV in the month, or None when `mine` is not positive; the leaders ranked)."""
    b = LeaderRankBucket
    above = func.coalesce(func.sum(case((b.bucket > bucket_of(mine), b.leaders), else_=0)), 0)
    ranked, higher = (await session.execute(
        select(func.coalesce(func.sum(b.leaders), 0), above).where(b.brand_id == brand_id, b.month == month)
    )).one()
    if mine <= 0:
        return None, int(ranked)
    m = LeaderMonth
    alongside = await session.scalar(select(func.count()).where(
        m.brand_id == brand_id, m.month == month, m.gmv_fen > mine, m.gmv_fen < bucket_end(mine), m.orders > 0,
    ))
    return 1 + int(higher) + int(alongside or 0), int(ranked)


async def _counted(session: AsyncSession, *, brand_id: int | None, first_month: date | None) -> Counter:
    """(brand, month, bucket) → leaders, from the leader months themselves."""
    m = LeaderMonth
    conditions = [m.orders > 0]
    if brand_id is not None:
        conditions.append(m.brand_id == brand_id)
    if first_month is not None:
        conditions.append(m.month >= first_month)
    counts: Counter = Counter()
    rows = await session.stream(select(m.brand_id, m.month, m.gmv_fen).where(*conditions).execution_options(yield_per=10_000))
    async for brand, month, gmv in rows:
        counts[(int(brand), month, bucket_of(int(gmv)))] += 1
    return counts


async def recount(*, session: AsyncSession, brand_id: int, first_month: date | None) -> int:
    """Replaces the brand's buckets (from `first_month` on, or all) by a count of its leader months; rows written."""
    b = LeaderRankBucket
    await session.execute(delete(b).where(b.brand_id == brand_id, *([b.month >= first_month] if first_month else [])))
    counts = await _counted(session, brand_id=brand_id, first_month=first_month)
    rows = [{"brand_id": brand, "month": month, "bucket": bucket, "leaders": n}
            for (brand, month, bucket), n in sorted(counts.items())]
    for start in range(0, len(rows), 1000):
        await session.execute(insert(b), rows[start:start + 1000])
    return len(rows)


async def differences(*, session: AsyncSession, brand_id: int | None = None) -> dict[str, int]:
    """{"leader_rank_buckets": keys that differ} between the kept buckets and a count of the leader months."""
    b = LeaderRankBucket
    query = select(b.brand_id, b.month, b.bucket, b.leaders).where(*([b.brand_id == brand_id] if brand_id else []))
    kept = {(int(brand), month, int(bucket)): int(n) for brand, month, bucket, n in (await session.execute(query)).all()
            if n}  # a bucket emptied by moves stays as a row of 0
    counted = await _counted(session, brand_id=brand_id, first_month=None)
    differing = sum(1 for key in kept.keys() | counted.keys() if kept.get(key) != counted.get(key))
    return {"leader_rank_buckets": differing} if differing else {}
