from __future__ import annotations

from sqlalchemy import select

from linli.context import AppContext
from linli.marketing.models import CampaignKit, CopyTemplate, SessionCampaign
from linli.worker import run_until_idle


async def work(ctx: AppContext) -> None:
    """What the worker does next: deliver every pending event (kits are made there, never in the request)."""
    await run_until_idle(ctx)


async def kits_of(ctx: AppContext, session_id: int) -> dict[int, CampaignKit]:
    async with ctx.db.read() as s:
        rows = await s.scalars(select(CampaignKit).where(CampaignKit.session_id == session_id).order_by(CampaignKit.leader_id))
        return {k.leader_id: k for k in rows}


async def snapshot(ctx: AppContext) -> dict[str, list[tuple]]:
    """Everything the marketing context writes, to show that a refused request changed nothing."""
    async with ctx.db.read() as s:
        return {
            "templates": [(t.id, t.name, t.body, t.is_default) for t in await s.scalars(select(CopyTemplate).order_by(CopyTemplate.id))],
            "campaigns": [
                (c.session_id, c.copy_template_id, c.cover_key)
                for c in await s.scalars(select(SessionCampaign).order_by(SessionCampaign.id))
            ],
            "kits": [(k.id, k.version, k.status, k.fingerprint) for k in await s.scalars(select(CampaignKit).order_by(CampaignKit.id))],
        }


def error_code(response) -> str:  # noqa: ANN001
    return response.json()["error"]["code"]


async def buy_listing(ctx: AppContext, *, listing_id: int, community_id: int, buyer_user_id: int, quantity: int = 1) -> int:
    """Places and pays an order of a listing (a succeeded payment row, so it can be refunded); the worker runs."""
    import uuid
    from datetime import timedelta

    from linli.orders import service as orders
    from linli.payments import service as payments
    from linli.payments.models import Payment

    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        placed = await orders.place_order(
            session=s, user_id=buyer_user_id, listing_id=listing_id, offer_id=None, quantity=quantity,
            idempotency_key=uuid.uuid4().hex, pickup_community_id=community_id, payment_ttl=timedelta(minutes=10), now=now,
        )
        order = placed.order
        s.add(Payment(
            order_id=order.id, brand_id=order.brand_id, provider="simulator", out_trade_no=payments.new_out_trade_no(),
            amount_fen=order.total_fen, status="succeeded", provider_transaction_id=None, prepay={}, created_at=now,
            succeeded_at=now,
        ))
        applied = await orders.apply_payment(session=s, order_id=order.id, amount_fen=order.total_fen, now=now)
        assert applied.outcome == "paid"
    await run_until_idle(ctx)
    return order.id
