"""`linli audit`'s dashboards check: the roll-ups the outbox kept equal a rebuild from the raw tables.

The roll-ups follow the outbox, so while events they count still wait there (the worker has not handled them
yet) a difference is the lag, not a breach: the check then reports the waiting events beside the differing rows
and passes. A roll-up that stays behind is still seen: the events that keep failing are `linli health`'s
outbox check, and the next audit once the outbox has drained compares again."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.dashboards.handlers import TOPICS
from linli.dashboards.rebuild import rollups_agree
from linli.ledger.audit import Check
from linli.outbox.models import OutboxEvent

NAME = "dashboard_rollups_agree"
DESCRIPTION = "看板汇总与按原始订单、退款重算的结果一致（`linli rollup --rebuild` 可重建）"


async def pending_dashboard_events(*, session: AsyncSession) -> int:
    """Events the dashboards count that the worker has not handled yet."""
    return int(await session.scalar(
        select(func.count()).where(OutboxEvent.processed_at.is_(None), OutboxEvent.topic.in_(TOPICS))
    ) or 0)


async def rollup_check(session: AsyncSession, *, brand_id: int | None = None) -> Check:
    differing = await rollups_agree(session=session, brand_id=brand_id)
    samples: list[dict[str, object]] = [
        {"table": table, "differing_rows": count} for table, count in sorted(differing.items())
    ]
    if differing and (pending := await pending_dashboard_events(session=session)):
        return Check(
            name=NAME,
            description=f"{DESCRIPTION}；尚有 {pending} 条看板事件待处理，差异视为滞后，处理完后再核对",
            breaches=0,
            samples=[{"pending_events": pending}, *samples],
        )
    return Check(name=NAME, description=DESCRIPTION, breaches=sum(differing.values()), samples=samples)
