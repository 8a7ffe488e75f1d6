"""「确认到货」 on the workbench's parcels page over HTTP: the pickup point's leader confirms a wave on its way
(`waves.advance_wave(to="arrived")`, as the API), a double submit changes nothing the second time, another
point's leader gets the 404 page; and the page carries the 扫码核销 button and its script."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from linli.fulfillment.models import DeliveryWave, Parcel
from tests.web.conftest import csrf_of
from tests.web.test_workbench_pages import text_of
from tests.web.workbench_scene import WANGJIE_PHONE, XIAOLI_PHONE, load, sign_in_as


async def wave_on_its_way(ctx, community_id: int) -> int:
    """The demo's oranges, put back on the road: their wave in transit again, its parcels with it."""
    async with ctx.db.transaction() as s:
        wave_id = await s.scalar(
            select(Parcel.wave_id).where(Parcel.community_id == community_id, Parcel.status == "arrived").limit(1)
        )
        await s.execute(update(DeliveryWave).where(DeliveryWave.id == wave_id).values(status="in_transit", arrived_at=None))
        await s.execute(update(Parcel).where(Parcel.wave_id == wave_id, Parcel.status == "arrived")
                        .values(status="in_transit", arrived_at=None, next_action_at=None))
    return wave_id


async def wave_state(ctx, wave_id: int):
    async with ctx.db.read() as s:
        wave = await s.get(DeliveryWave, wave_id)
        parcels = sorted((await s.scalars(select(Parcel.status).where(Parcel.wave_id == wave_id))).all())
    return wave.status, wave.arrived_at, parcels


async def test_xiaoli_confirms_a_wave_once(client, ctx):
    demo = await load(ctx)
    wave_id = await wave_on_its_way(ctx, demo.xiaoli_community_id)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/parcels")
    row = re.search(rf'data-testid="wave-{wave_id}">(.*?)</li>', page.text, re.S).group(1)
    assert "配送中" in text_of(row) and "确认到货" in text_of(row)
    action = f"/brands/{demo.brand_id}/leader/delivery-waves/{wave_id}/arrive"
    assert f'action="{action}"' in row
    token = csrf_of(page.text)
    first = await client.post(action, data={"csrf_token": token})
    assert first.status_code == 303 and first.headers["location"] == f"/brands/{demo.brand_id}/leader/parcels?arrived={wave_id}"
    status, arrived_at, parcels = await wave_state(ctx, wave_id)
    assert status == "arrived" and arrived_at is not None and parcels and set(parcels) == {"arrived"}

    ctx.clock.advance(timedelta(minutes=1))
    second = await client.post(action, data={"csrf_token": token})  # the double click
    assert second.status_code == 409
    assert "已到自提点" in re.search(r'data-error-for="wave-\d+">([^<]*)<', second.text).group(1)
    assert await wave_state(ctx, wave_id) == (status, arrived_at, parcels)  # nothing changed the second time

    shown = await client.get(first.headers["location"])
    assert f"批次 {wave_id} 已确认到货" in text_of(shown.text)
    row = re.search(rf'data-testid="wave-{wave_id}">(.*?)</li>', shown.text, re.S).group(1)
    assert "已到自提点" in text_of(row) and "确认到货" not in text_of(row)


async def test_another_points_leader_gets_the_404_page_and_nothing_changes(client, ctx):
    demo = await load(ctx)
    wave_id = await wave_on_its_way(ctx, demo.xiaoli_community_id)
    before = await wave_state(ctx, wave_id)
    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/parcels")
    assert f'data-testid="wave-{wave_id}"' not in page.text  # only 王姐's own point
    refused = await client.post(f"/brands/{demo.brand_id}/leader/delivery-waves/{wave_id}/arrive",
                                data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("text/html")
    assert "配送批次不存在" in text_of(refused.text)
    assert await wave_state(ctx, wave_id) == before


async def test_the_parcels_page_offers_the_scan(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/parcels")
    assert "扫码核销" in page.text and "data-scan-start hidden" in page.text  # shown by scan.js only
    assert re.search(r'<script src="/static/web/scan.js" data-jsqr="/static/vendor/jsqr/jsQR.js" defer>', page.text)
    assert (await client.get("/static/web/scan.js")).status_code == 200
    vendored = await client.get("/static/vendor/jsqr/jsQR.js")
    assert vendored.status_code == 200 and "jsQR" in vendored.text
