"""Attribution: binding members to leaders through invite codes, the trail, transfers and disputes."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.attribution.models import Binding


async def count_active_bindings(*, session: AsyncSession, leader_ids: set[int]) -> dict[int, int]:
    """Members currently bound to each leader (the basis of leader levels)."""
    if not leader_ids:
        return {}
    rows = await session.execute(
        select(Binding.leader_id, func.count())
        .where(Binding.leader_id.in_(leader_ids), Binding.status == "active")
        .group_by(Binding.leader_id)
    )
    counts = {leader_id: 0 for leader_id in leader_ids}
    counts.update({leader_id: count for leader_id, count in rows.all()})
    return counts
