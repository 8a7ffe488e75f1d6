"""`linli audit`'s dashboards check: the roll-ups the outbox kept equal a rebuild from the raw tables."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards.rebuild import rollups_agree
from linli.ledger.audit import Check


async def rollup_check(session: AsyncSession) -> Check:
    differing = await rollups_agree(session=session)
    return Check(
        name="dashboard_rollups_agree",
        description="看板汇总与按原始订单、退款重算的结果一致（`linli rollup --rebuild` 可重建）",
        breaches=sum(differing.values()),
        samples=[{"table": table, "differing_rows": count} for table, count in sorted(differing.items())],
    )
