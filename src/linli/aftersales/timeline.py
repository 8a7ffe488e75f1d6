"""The after-sales part of a member's order timeline (fulfillment.tracking merges it in; see app wiring)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from linli.aftersales import service
from linli.aftersales.models import DECISION_INSTANT, DECISION_PARTIAL, DECISION_REJECTED
from linli.fulfillment.tracking import TimelineEntry
from linli.money import yuan
from linli.orders.models import Order


def _decision_entry(claim: service.ClaimSummary) -> TimelineEntry | None:
    if claim.decided_at is None or claim.decision is None:
        return None
    if claim.decision == DECISION_REJECTED:
        return TimelineEntry(
            kind="claim_rejected", at=claim.decided_at, title="售后申请未通过",
            description=claim.decision_reason or None,
        )
    title = {DECISION_INSTANT: "售后极速退款已批准", DECISION_PARTIAL: "售后申请部分通过"}.get(claim.decision, "售后申请已通过")
    return TimelineEntry(kind="claim_approved", at=claim.decided_at, title=title, description=f"同意退款 {yuan(claim.approved_fen)} 元")


async def timeline_entries(*, session: AsyncSession, order: Order) -> list:
    """Filed, decided and refunded moments of every claim on the order."""
    entries: list[TimelineEntry] = []
    for claim in await service.claims_for_order(session=session, order_id=order.id):
        entries.append(
            TimelineEntry(
                kind="claim_filed", at=claim.filed_at, title="提交售后申请",
                description=f"{claim.reason_text}，申请退款 {yuan(claim.amount_asked_fen)} 元",
            )
        )
        decided = _decision_entry(claim)
        if decided is not None:
            entries.append(decided)
        if claim.refunded_at is not None:
            entries.append(
                TimelineEntry(kind="claim_refunded", at=claim.refunded_at, title="售后退款已到账",
                              description=f"退款 {yuan(claim.refunded_fen)} 元，原路退回")
            )
    return entries
