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
    assert summary.splitlines()[0].startswith(f"open {ctx.settings.public_base_url}/ in a browser")
    assert "youlin-owner / youlin-demo-2026" in summary and "13800000001" in summary and "13900000001" in summary
    counts = await _row_counts(ctx)
    again = await load_demo(ctx)
    assert await _row_counts(ctx) == counts
    # A second `make run` prints the same logins and codes again, after saying nothing changed.
    assert again == "demo data already loaded; nothing changed\n" + summary

    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Binding)) == 22
        assert await s.scalar(select(func.count()).where(AttributionEvent.kind == "refused")) == 1
        live = await s.scalar(select(LiveSession).where(LiveSession.status == "live"))
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


async def test_xiaoli_has_settled_commission_to_withdraw(ctx, client):
    """Last week's grapes were picked up and settled T+1, so a newcomer can try a withdrawal as 小李."""
    from linli.accounts import service as accounts
    from linli.brands import service as brands
    from linli.ledger.audit import run_audit
    from linli.leaders import service as leaders
    from linli.orders.models import Order
    from linli.payouts import service as payouts

    summary = await load_demo(ctx)
    async with ctx.db.read() as s:
        brand = await brands.find_brand_by_slug(session=s, slug="youlin")
        user = await accounts.find_user_by_phone(session=s, phone=XIAOLI_PHONE)
        leader = await leaders.find_open_leader_for_user(session=s, brand_id=brand.id, user_id=user.id)
        figures = await payouts.leader_figures(session=s, brand_id=brand.id, leader_id=leader.id, now=ctx.clock.now())
        grapes = (await s.scalars(select(Order).where(Order.listing_id.is_not(None)))).all()
        assert (await run_audit(session=s, now=ctx.clock.now())).ok
    assert figures.available_fen >= figures.policy.min_amount_fen
    assert figures.withdrawable_now_fen == figures.available_fen
    assert f"小李 can withdraw ¥{figures.available_fen // 100}.{figures.available_fen % 100:02d} now" in summary
    # Nothing in the demo is dated after the moment it was loaded.
    assert all(o.placed_at <= ctx.clock.now() for o in grapes)

    async with ctx.db.transaction() as s:
        token = (await accounts.issue_token(session=s, settings=ctx.settings, user=user, method="sms",
                                            now=ctx.clock.now())).token
    asked = await client.post(
        f"/api/v1/brands/{brand.id}/leader/withdrawals", json={"amount_fen": figures.available_fen},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "demo-withdrawal-1"},
    )
    assert asked.status_code == 201, asked.text


async def test_the_demo_wave_arrives_after_its_expected_time_and_reads_in_local_time(ctx, client):
    import re

    from linli.accounts import service as accounts
    from linli.fulfillment.models import DeliveryWave, Parcel
    from linli.notifications.models import Notification
    from linli.orders.models import Order

    await load_demo(ctx)
    now = ctx.clock.now()
    async with ctx.db.read() as s:
        waves = (await s.scalars(select(DeliveryWave).order_by(DeliveryWave.id))).all()
        parcels = (await s.scalars(select(Parcel))).all()
        orders = {o.id: o for o in (await s.scalars(select(Order).where(Order.id.in_([p.order_id for p in parcels])))).all()}
        notes = (await s.scalars(select(Notification).where(Notification.kind == "parcel_arrived"))).all()
    # Last week's wave and tonight's: each paid, cut, sent and arrived in that order, no earlier than expected
    # and not in the future.
    assert len(waves) == 2
    for wave in waves:
        assert wave.arrived_at >= wave.arrive_after > wave.cutoff_at
        assert wave.cutoff_at <= wave.packed_at <= wave.shipped_at <= wave.arrived_at <= now
    by_id = {w.id: w for w in waves}
    for parcel in parcels:
        wave = by_id[parcel.wave_id]
        assert orders[parcel.order_id].placed_at <= orders[parcel.order_id].paid_at <= wave.cutoff_at
        assert parcel.arrived_at == wave.arrived_at
    assert len(notes) == len(parcels)
    assert all(n.created_at >= by_id[p.wave_id].arrived_at for n, p in zip(sorted(notes, key=lambda n: n.id), sorted(parcels, key=lambda p: p.id)))

    # What a neighbour reads about tonight's delivered order carries no ISO timestamp.
    tonight = [p for p in parcels if p.wave_id == waves[-1].id]
    order = orders[tonight[0].order_id]
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
