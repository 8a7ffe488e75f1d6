"""`make run` keeps serving, and the demo's T+1 happens by itself: the in-process worker settles at 00:10 local."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from linli.accounts import service as accounts
from linli.demo import XIAOLI_PHONE, load_demo
from linli.fulfillment.models import Parcel
from linli.ledger import service as ledger
from linli.scheduler.runner import Scheduler
from linli.worker import run_until_idle


async def _xiaoli_available(ctx, brand_id: int, leader_id: int) -> int:
    async with ctx.db.read() as s:
        return (await ledger.leader_balances(session=s, brand_id=brand_id, leader_id=leader_id)).available_fen


async def test_the_demo_pickup_settles_at_ten_past_midnight_with_no_command_run(ctx, clock, client):
    summary = await load_demo(ctx)  # 20 Nov, 10:00 in Shanghai
    code = next(line for line in summary.splitlines() if "pickup codes to verify as 小李" in line).split(": ", 1)[1].split(" ")[0]
    async with ctx.db.transaction() as s:
        xiaoli = await accounts.find_user_by_phone(session=s, phone=XIAOLI_PHONE)
        token = (await accounts.issue_token(session=s, settings=ctx.settings, user=xiaoli, method="sms", now=clock.now())).token
        parcel = await s.scalar(select(Parcel).where(Parcel.status == "arrived"))
        brand_id, leader_id = parcel.brand_id, parcel.leader_id
    verified = await client.post(f"/api/v1/brands/{brand_id}/leader/pickups", json={"code": code},
                                 headers={"Authorization": f"Bearer {token}"})
    assert verified.status_code == 200, verified.text

    # What `linli serve` runs in-process (linli.worker.run_forever): passes that carry one scheduler.
    scheduler = Scheduler.for_context(ctx)
    await run_until_idle(ctx, scheduler=scheduler)
    before = await _xiaoli_available(ctx, brand_id, leader_id)
    clock.set(datetime(2026, 11, 20, 16, 9, tzinfo=UTC))  # 00:09 on 21 Nov local: the window has passed, not 00:10
    await run_until_idle(ctx, scheduler=scheduler)
    assert await _xiaoli_available(ctx, brand_id, leader_id) == before
    clock.set(datetime(2026, 11, 20, 16, 10, tzinfo=UTC))
    await run_until_idle(ctx, scheduler=scheduler)
    assert await _xiaoli_available(ctx, brand_id, leader_id) > before
