"""The demo loads the story's cast, and loading it twice changes nothing."""

from sqlalchemy import func, select

from linli.attribution.models import AttributionEvent, Binding
from linli.demo import XIAOLI_PHONE, load_demo
from linli.live.models import CommunityOffer, LiveSession
from linli.models import metadata


async def _row_counts(ctx) -> dict[str, int]:
    async with ctx.db.read() as s:
        return {t.name: await s.scalar(select(func.count()).select_from(t)) for t in metadata.sorted_tables}


async def test_demo_loads_once_and_tells_how_to_use_it(ctx, client):
    summary = await load_demo(ctx)
    assert "小李" in summary and "curl -N" in summary
    counts = await _row_counts(ctx)
    assert await load_demo(ctx) == "demo data already loaded; nothing changed"
    assert await _row_counts(ctx) == counts

    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Binding)) == 22
        assert await s.scalar(select(func.count()).where(AttributionEvent.kind == "refused")) == 1
        live = await s.scalar(select(LiveSession))
        offer = await s.scalar(select(CommunityOffer))
    assert live.status == "live" and offer.status == "open" and (offer.price_fen, offer.quota) == (6800, 100)

    code = summary.split("invite code ")[1].split(":")[0]
    public = await client.get(f"/api/v1/invite-codes/{code}")
    assert public.status_code == 200
    assert "云顶华府·优邻优选社区主理人" in public.text
    assert XIAOLI_PHONE not in public.text


async def test_a_newcomer_verifies_a_demo_pickup_as_xiaoli(ctx, client):
    from linli.accounts import service as accounts
    from linli.fulfillment.models import Parcel
    from linli.ledger.audit import run_audit

    summary = await load_demo(ctx)
    codes_line = next(line for line in summary.splitlines() if "pickup codes to verify as 小李" in line)
    code = codes_line.split(": ", 1)[1].split(" ")[0]
    async with ctx.db.transaction() as s:
        xiaoli = await accounts.find_user_by_phone(session=s, phone=XIAOLI_PHONE)
        token = (await accounts.issue_token(session=s, settings=ctx.settings, user=xiaoli, method="sms", now=ctx.clock.now())).token
        arrived = (await s.scalars(select(Parcel).where(Parcel.status == "arrived"))).all()
    assert len(arrived) == 6
    brand_id = arrived[0].brand_id
    headers = {"Authorization": f"Bearer {token}"}
    done = await client.post(f"/api/v1/brands/{brand_id}/leader/pickups", json={"code": code}, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["verified"][0]["status"] == "picked_up"
    again = await client.post(f"/api/v1/brands/{brand_id}/leader/pickups", json={"code": code}, headers=headers)
    assert again.status_code == 409
    async with ctx.db.read() as s:
        assert (await run_audit(session=s, now=ctx.clock.now())).ok


async def test_the_demo_wave_arrives_after_its_expected_time_and_reads_in_local_time(ctx, client):
    import re

    from linli.accounts import service as accounts
    from linli.fulfillment.models import DeliveryWave, Parcel
    from linli.notifications.models import Notification
    from linli.orders.models import Order

    await load_demo(ctx)
    now = ctx.clock.now()
    async with ctx.db.read() as s:
        [wave] = (await s.scalars(select(DeliveryWave))).all()
        parcels = (await s.scalars(select(Parcel).where(Parcel.wave_id == wave.id))).all()
        orders = {o.id: o for o in (await s.scalars(select(Order).where(Order.id.in_([p.order_id for p in parcels])))).all()}
        notes = (await s.scalars(select(Notification).where(Notification.kind == "parcel_arrived"))).all()
    # Paid, cut, sent and arrived in that order, no earlier than expected and not in the future.
    assert wave.arrived_at >= wave.arrive_after > wave.cutoff_at
    assert wave.cutoff_at <= wave.packed_at <= wave.shipped_at <= wave.arrived_at <= now
    for parcel in parcels:
        assert orders[parcel.order_id].placed_at <= orders[parcel.order_id].paid_at <= wave.cutoff_at
        assert parcel.arrived_at == wave.arrived_at
    assert len(notes) == len(parcels) and all(n.created_at >= wave.arrived_at for n in notes)

    # What a neighbour reads about the delivered order carries no ISO timestamp.
    order = orders[parcels[0].order_id]
    async with ctx.db.transaction() as s:
        token = (await accounts.issue_token(
            session=s, settings=ctx.settings, user=await accounts.get_user(session=s, user_id=order.user_id),
            method="sms", now=now,
        )).token
    headers = {"Authorization": f"Bearer {token}"}
    timeline = (await client.get(f"/api/v1/orders/{order.id}/timeline", headers=headers)).json()
    inbox = (await client.get("/api/v1/me/notifications", headers=headers)).json()
    texts = [t for e in timeline["entries"] for t in (e["title"], e["description"]) if t]
    texts += [t for m in inbox["items"] for t in (m["title"], m["body"])]
    assert [e["kind"] for e in timeline["entries"]] == ["placed", "paid", "packed", "in_transit", "arrived"]
    assert texts and not [t for t in texts if re.search(r"\d{4}-\d{2}-\d{2}T", t)]
