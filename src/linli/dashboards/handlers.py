"""Outbox handlers of the dashboards: the roll-ups follow the money.

| topic | emitted by | payload read | what the dashboards do |
| --- | --- | --- | --- |
| `order.paid` | orders.apply_payment (a late payment too) | `order_id` | count the order on its local day and month |
| `payment.refunded` | payments.settle_refund (whole or partial, after-sales included) | `refund_id`, `order_id`, `amount_fen` | take the refund off its order's day (and its leader's month) |
| `claim.filed` | aftersales.file_claim | `claim_id`, `order_id` | count the claim on its order's paid day (product, leader) |
| `live.session_ended` | live.sessions.end_session | `id` | write the session's funnel (views, entries, orders placed) |
| `commission.posted` | ledger.accrual (each accrual and clawback posted, in the posting's transaction) | `transaction_id`, `brand_id`, `leader_id`, `kind` (accrual / clawback), `amount_fen` (the leader's side, signed), `posted_at`; also `order_id` | add to the leader's income of the local month posted in |
| `leader.approved` | leaders.approve (applied → active; a reinstatement is not one) | `leader_id`, `brand_id`, `approved_at` | one more leader approved on that local day |
| `member.bound` | attribution.enter_with_code (a member's first binding ever; rebinding and transfers emit nothing) | `member_id`, `brand_id`, `leader_id`, `bound_at` | one more new member on that local day |

All idempotent (dashboards.rollups, dashboards.kpi_rollups, dashboards.leader_rollups); they run in the worker's
transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.context import AppContext
from linli.dashboards import kpi_rollups, leader_rollups, rollups
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry

TOPICS = (
    "order.paid", "payment.refunded", "commission.posted", "leader.approved", "member.bound", "claim.filed",
    "live.session_ended",
)  # the events the roll-ups count (the table above)


def register(registry: HandlerRegistry, ctx: AppContext) -> None:  # noqa: ARG001 - the registrar signature
    async def order_paid(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        await rollups.record_payment(session=session, order_id=int(event.payload["order_id"]))

    async def payment_refunded(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        payload = event.payload
        await rollups.record_refund(
            session=session, refund_id=int(payload["refund_id"]), order_id=int(payload["order_id"]),
            amount_fen=int(payload["amount_fen"]),
        )

    async def commission_posted(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        await leader_rollups.record_commission(session=session, payload=event.payload)

    async def leader_approved(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        await leader_rollups.record_leader_approved(session=session, payload=event.payload)

    async def member_bound(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        await leader_rollups.record_member_bound(session=session, payload=event.payload)

    registry.register("order.paid", order_paid)
    registry.register("payment.refunded", payment_refunded)
    registry.register("commission.posted", commission_posted)
    registry.register("leader.approved", leader_approved)
    registry.register("member.bound", member_bound)

    async def claim_filed(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        payload = event.payload
        await kpi_rollups.record_claim(session=session, claim_id=int(payload["claim_id"]), order_id=int(payload["order_id"]))

    async def session_ended(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:  # noqa: ARG001
        await kpi_rollups.record_session_end(session=session, session_id=int(event.payload["id"]))

    registry.register("claim.filed", claim_filed)
    registry.register("live.session_ended", session_ended)
