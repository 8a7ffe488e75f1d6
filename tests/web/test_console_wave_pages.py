"""The console's delivery waves over HTTP, on the demo with tonight's fresh paid orders (tests/web/wave_scene.py):
who may open each page and post each form, CSRF, what a cut and each step write (a double submit does it once),
refusals beside their field, and the pick list's quantities against the orders."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from linli.accounts.models import User
from linli.demo.cast import OWNER_LOGIN, neighbour
from linli.fulfillment.models import DeliveryWave
from linli.outbox.models import OutboxEvent
from linli.security import mask_name
from linli.timefmt import format_local
from linli.web.visitor import SESSION_COOKIE
from tests.web.conftest import csrf_of
from tests.web.test_workbench_pages import other_brand_leader, text_of
from tests.web.wave_scene import (
    ORANGE,
    STRAWBERRY,
    buy_tonight,
    community_named,
    cut_by_service,
    parcels_of,
    waves_of,
)
from tests.web.workbench_scene import NEIGHBOUR_PHONE, XIAOLI_PHONE, load, sign_in_as

PAGES = ["", "/{w}", "/{w}/pick-list", "/{w}/pick-list.csv"]
TYPED_CUTOFF = "2026-11-20T10:05"  # the test clock is 10:00 in Asia/Shanghai, 5 minutes later after buying
TYPED_ARRIVAL = "2026-11-21T09:30"


def waves_path(brand_id: int, page: str = "", wave_id: int = 0) -> str:
    return f"/brands/{brand_id}/console/waves" + page.format(w=wave_id)


def field_error(html: str, name: str) -> str:
    found = re.search(rf'data-error-for="{name}">([^<]*)<', html)
    return found.group(1) if found else ""


async def cut(client, brand_id: int, community_id: int | str, cutoff: str = TYPED_CUTOFF, arrival: str = TYPED_ARRIVAL,
              token: str | None = None):
    if token is None:
        token = csrf_of((await client.get(waves_path(brand_id))).text)
    return await client.post(
        waves_path(brand_id),
        data={"csrf_token": token, "community_id": str(community_id), "cutoff_at": cutoff, "arrive_after": arrival},
    )


async def staff_with_tonights_wave(client, ctx):
    """The demo, tonight's orders, staff signed in and 云顶华府's wave cut through the page."""
    demo = await load(ctx)
    order_ids = await buy_tonight(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login="youlin-owner")
    made = await cut(client, demo.brand_id, demo.xiaoli_community_id)
    assert made.status_code == 303, made.text
    wave = (await waves_of(ctx, demo.brand_id))[-1]
    assert made.headers["location"] == waves_path(demo.brand_id, "/{w}?done=cut", wave.id)
    return demo, order_ids, wave


async def test_staff_see_the_demo_waves_in_the_brands_time(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    page = await client.get(waves_path(demo.brand_id))
    assert page.status_code == 200
    text = text_of(page.text)
    grapes, oranges = await waves_of(ctx, demo.brand_id)
    for wave, parcels in ((grapes, "4 件 已提货 4"), (oranges, "6 件 待提货 6")):
        row = text_of(page.text.split(f'data-testid="wave-{wave.id}"')[1].split("</tr>")[0])
        assert "云顶华府" in row and "已到自提点" in row and parcels in row, row
        for moment in (wave.cutoff_at, wave.arrive_after):
            assert format_local(moment, "Asia/Shanghai") in row
    assert "截单生成波次" in text and 'aria-current="page">配送波次' in page.text
    # The cut-off offered is this very minute, in the brand's time (10:00 in Shanghai is 02:00 UTC).
    assert 'name="cutoff_at" type="datetime-local" value="2026-11-20T10:00"' in page.text
    filtered = await client.get(waves_path(demo.brand_id) + "?status=open")
    assert filtered.status_code == 200 and "还没有配送波次" in filtered.text
    wave = await client.get(waves_path(demo.brand_id, "/{w}", oranges.id))
    assert wave.status_code == 200 and "已到自提点，等待邻居提货" in text_of(wave.text)
    assert 'data-testid="advance-form"' not in wave.text  # nothing left to advance


@pytest.mark.parametrize("who", ["anonymous", "member", "leader", "other-brand-staff"])
async def test_who_may_not_open_or_post(client, ctx, world, who):
    demo = await load(ctx)
    order_ids = await buy_tonight(ctx, demo.brand_id)
    async with ctx.db.read() as s:
        owner = await s.scalar(select(User).where(User.login_name == OWNER_LOGIN))
    tonight = await cut_by_service(ctx, demo.brand_id, demo.xiaoli_community_id, owner.id)
    if who == "member":
        await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    elif who == "leader":
        await sign_in_as(client, ctx, phone=XIAOLI_PHONE)  # even the leader of the wave's own pickup point
    elif who == "other-brand-staff":
        other, _ = await other_brand_leader(world)
        client.cookies.set(SESSION_COOKIE, (await world.staff(other)).token)
    for page in PAGES:
        path = waves_path(demo.brand_id, page, tonight.id)
        response = await client.get(path)
        if who == "anonymous":
            assert response.status_code == 303 and response.headers["location"] == f"/signin?next={path}"
        else:
            assert response.status_code == 403 and response.headers["content-type"].startswith("text/html"), page
            assert "仅限本品牌员工操作" in text_of(response.text)
    token = csrf_of((await client.get("/signin" if who == "anonymous" else "/me")).text)
    made = await cut(client, demo.brand_id, await community_named(ctx, demo.brand_id, "翠湖花园"), token=token)
    status_path = waves_path(demo.brand_id, "/{w}/status", tonight.id)
    moved = await client.post(status_path, data={"csrf_token": token, "status": "packed"})
    for response in (made, moved):
        if who == "anonymous":
            assert response.status_code == 303 and response.headers["location"].startswith("/signin?next=")
        else:
            assert response.status_code == 403 and "仅限本品牌员工操作" in text_of(response.text)
    assert len(await waves_of(ctx, demo.brand_id)) == 3 and (await waves_of(ctx, demo.brand_id))[-1].status == "open"
    assert [p.status for p in await parcels_of(ctx, order_ids)] == ["waiting"] * 4
    assert (await parcels_of(ctx, order_ids))[-1].wave_id is None  # 翠湖花园's parcel was not cut


async def test_unknown_or_another_brands_wave_is_the_404_page(client, ctx, world):
    demo = await load(ctx)
    other, _ = await other_brand_leader(world)
    outsider = await world.staff(other)
    [_, oranges] = await waves_of(ctx, demo.brand_id)
    client.cookies.set(SESSION_COOKIE, outsider.token)
    for page in PAGES[1:]:  # the other brand's staff ask for the demo's wave under their own brand
        response = await client.get(waves_path(other, page, oranges.id))
        assert response.status_code == 404 and "配送批次不存在" in text_of(response.text), page
    client.cookies.clear()
    await sign_in_as(client, ctx, login="youlin-owner")
    for page in PAGES[1:]:
        response = await client.get(waves_path(demo.brand_id, page, 999999))
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert (await client.get(waves_path(999999))).status_code == 404


async def test_posts_need_the_csrf_token(client, ctx):
    demo, order_ids, wave = await staff_with_tonights_wave(client, ctx)  # 翠湖花园's parcel still waits for a cut
    cuihu = await community_named(ctx, demo.brand_id, "翠湖花园")
    for token in (None, "forged"):
        extra = {"csrf_token": token} if token else {}
        typed = {"community_id": str(cuihu), "cutoff_at": TYPED_CUTOFF, "arrive_after": TYPED_ARRIVAL}
        made = await client.post(waves_path(demo.brand_id), data={**extra, **typed})
        moved = await client.post(waves_path(demo.brand_id, "/{w}/status", wave.id), data={**extra, "status": "packed"})
        for response in (made, moved):
            assert response.status_code == 403 and "页面已过期或来源不明" in text_of(response.text)
    assert len(await waves_of(ctx, demo.brand_id)) == 3 and (await waves_of(ctx, demo.brand_id))[-1].status == "open"
    assert [p.status for p in await parcels_of(ctx, order_ids)] == ["waiting"] * 4
    assert (await parcels_of(ctx, order_ids))[-1].wave_id is None


async def test_a_cut_takes_the_points_paid_parcels_once(client, ctx):
    demo, order_ids, wave = await staff_with_tonights_wave(client, ctx)
    # 10:05 and 09:30 the next day in Shanghai are 02:05 and 01:30 UTC.
    assert (wave.community_id, wave.status) == (demo.xiaoli_community_id, "open")
    assert wave.cutoff_at.astimezone(UTC) == datetime(2026, 11, 20, 2, 5, tzinfo=UTC)
    assert wave.arrive_after.astimezone(UTC) == datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
    parcels = await parcels_of(ctx, order_ids)
    assert [p.wave_id for p in parcels] == [wave.id, wave.id, wave.id, None]  # 王姐's neighbour waits for 翠湖花园's
    shown = await client.get(waves_path(demo.brand_id, "/{w}?done=cut", wave.id))
    assert "已截单" in text_of(shown.text) and "标记已打包" in shown.text
    # The same form posted again (a double click): nothing is left to take, refused beside the community.
    again = await cut(client, demo.brand_id, demo.xiaoli_community_id)
    assert again.status_code == 409
    assert field_error(again.text, "community_id") == "该自提点在截单时间前没有待配送的订单"
    assert f'value="{TYPED_CUTOFF}"' in again.text and f'value="{TYPED_ARRIVAL}"' in again.text
    assert len(await waves_of(ctx, demo.brand_id)) == 3
    wangs = await cut(client, demo.brand_id, await community_named(ctx, demo.brand_id, "翠湖花园"))
    assert wangs.status_code == 303
    assert (await parcels_of(ctx, order_ids))[-1].wave_id == (await waves_of(ctx, demo.brand_id))[-1].id


@pytest.mark.parametrize(
    ("community", "cutoff", "arrival", "field", "message", "status"),
    [
        ("", TYPED_CUTOFF, TYPED_ARRIVAL, "community_id", "请选择自提点所在小区", 422),
        ("foreign", TYPED_CUTOFF, TYPED_ARRIVAL, "community_id", "小区不存在", 404),
        ("own", "2026-11-20T10:30", TYPED_ARRIVAL, "cutoff_at", "截单时间未到，不能提前截单", 422),
        ("own", "2026-10-01T10:00", TYPED_ARRIVAL, "cutoff_at", "截单时间不能早于 30 天前", 422),
        ("own", "明天晚上", TYPED_ARRIVAL, "cutoff_at", "请填写截单时间（年-月-日 时:分）", 422),
        ("own", TYPED_CUTOFF, "2026-11-20T09:00", "arrive_after", "预计到达时间须晚于截单时间，且在截单后 30 天内", 422),
        ("own", TYPED_CUTOFF, "", "arrive_after", "请填写预计到达时间（年-月-日 时:分）", 422),
    ],
)
async def test_a_refused_cut_is_told_beside_its_field_and_writes_nothing(
    client, ctx, world, community, cutoff, arrival, field, message, status
):
    demo = await load(ctx)
    order_ids = await buy_tonight(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login="youlin-owner")
    chosen = {"": "", "own": demo.xiaoli_community_id}.get(community)
    if community == "foreign":
        other, _ = await other_brand_leader(world)
        chosen = await world.community(other, "别家小区")
    refused = await cut(client, demo.brand_id, chosen, cutoff=cutoff, arrival=arrival)
    assert refused.status_code == status
    assert field_error(refused.text, field) == message
    assert f'value="{cutoff}"' in refused.text  # what was typed stays
    assert len(await waves_of(ctx, demo.brand_id)) == 2
    assert all(p.wave_id is None for p in await parcels_of(ctx, order_ids))


async def test_each_step_moves_the_wave_and_its_parcels_once(client, ctx):
    demo, order_ids, wave = await staff_with_tonights_wave(client, ctx)
    path = waves_path(demo.brand_id, "/{w}/status", wave.id)
    page = await client.get(waves_path(demo.brand_id, "/{w}", wave.id))
    token = csrf_of(page.text)
    out_of_order = await client.post(path, data={"csrf_token": token, "status": "arrived"})
    assert out_of_order.status_code == 409
    assert field_error(out_of_order.text, "status") == "批次当前为「待打包」，不能变为「已到自提点」"
    nonsense = await client.post(path, data={"csrf_token": token, "status": "lost"})
    assert nonsense.status_code == 422 and "批次状态只能变为" in field_error(nonsense.text, "status")
    for step, button, parcel_status, stamp in (
        ("packed", "标记已打包", "packed", "packed_at"),
        ("in_transit", "标记已发出", "in_transit", "shipped_at"),
        ("arrived", "标记已到自提点", "arrived", "arrived_at"),
    ):
        page = await client.get(waves_path(demo.brand_id, "/{w}", wave.id))
        assert button in page.text and f'name="status" value="{step}"' in page.text
        first = await client.post(path, data={"csrf_token": token, "status": step})
        assert first.status_code == 303 and first.headers["location"].endswith(f"?done={step}")
        moved_at = ctx.clock.now()
        ctx.clock.advance(timedelta(seconds=1))
        second = await client.post(path, data={"csrf_token": token, "status": step})  # the double click
        assert second.status_code == 409 and "不能变为" in field_error(second.text, "status")
        async with ctx.db.read() as s:
            now_wave = await s.get(DeliveryWave, wave.id)
        assert now_wave.status == step and getattr(now_wave, stamp) == moved_at
        parcels = await parcels_of(ctx, order_ids)
        assert [p.status for p in parcels[:3]] == [parcel_status] * 3 and parcels[3].status == "waiting"
    async with ctx.db.read() as s:
        arrived = await s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == "parcel.arrived",
                                                                OutboxEvent.payload["wave_id"].as_integer() == wave.id)
        )
    assert arrived == 3  # one message per parcel, not one more for the double click
    done = await client.get(waves_path(demo.brand_id, "/{w}?done=arrived", wave.id))
    assert "已标记为「已到自提点」" in text_of(done.text) and 'data-testid="advance-form"' not in done.text


async def test_the_wave_shows_its_parcels_masked(client, ctx):
    demo, order_ids, wave = await staff_with_tonights_wave(client, ctx)
    page = await client.get(waves_path(demo.brand_id, "/{w}", wave.id))
    text = text_of(page.text)
    assert "包裹（3）" in text and "待配送 3" in text
    assert "13900000001" not in page.text and "139****0001" in text and "139****0002" in text
    assert "139****0015" not in text  # 王姐's neighbour is in no wave of 云顶华府
    for parcel in (await parcels_of(ctx, order_ids))[:3]:
        assert f'data-testid="parcel-{parcel.id}"' in page.text


async def test_the_pick_list_counts_what_was_ordered(client, ctx):
    demo, order_ids, wave = await staff_with_tonights_wave(client, ctx)
    page = await client.get(waves_path(demo.brand_id, "/{w}/pick-list", wave.id))
    assert page.status_code == 200
    products = text_of(page.text.split('data-testid="pick-products"')[1].split("</table>")[0])
    # By hand from TONIGHTS_ORDERS at 云顶华府: oranges 2 (one order); strawberries 3 + 1 (two orders).
    assert f"{ORANGE} 5 斤装 2 1" in products and f"{STRAWBERRY} 500g/盒 4 2" in products
    bag_one = text_of(page.text.split('data-testid="bag-1"')[1].split("</tbody>")[0])
    bag_two = text_of(page.text.split('data-testid="bag-2"')[1].split("</tbody>")[0])
    orange_1, strawberry_2, strawberry_1, _ = order_ids
    assert "第 1 袋" in bag_one and "139****0001" in bag_one
    assert f"{orange_1} {ORANGE} 5 斤装 2" in bag_one and f"{strawberry_1} {STRAWBERRY} 500g/盒 1" in bag_one
    assert "139****0002" in bag_two and f"{strawberry_2} {STRAWBERRY} 500g/盒 3" in bag_two
    assert 'data-testid="bag-3"' not in page.text and "按用户分袋（2 袋）" in text_of(page.text)
    # 「打印」 is a button the static script handles (no inline script), and the CSV downloads are offered.
    assert "<button type=\"button\" class=\"primary\" data-print>打印</button>" in page.text
    assert '/static/web/print.js' in page.text and "onclick" not in page.text and "<script>" not in page.text
    assert "pick-list.csv?kind=bags" in page.text and "pick-list.csv?kind=products" in page.text


async def test_the_pick_list_csv_is_the_apis_with_a_bom(client, ctx):
    demo, order_ids, wave = await staff_with_tonights_wave(client, ctx)
    token = client.cookies[SESSION_COOKIE]  # the page's cookie is an app token too
    orange_1, strawberry_2, strawberry_1, _ = order_ids
    first, second = mask_name(neighbour(1)[1]), mask_name(neighbour(2)[1])
    expected = {
        "bags": [["袋号", "用户", "手机", "订单号", "商品", "规格", "件数"],
                 ["1", first, "139****0001", str(orange_1), ORANGE, "5 斤装", "2"],
                 ["1", first, "139****0001", str(strawberry_1), STRAWBERRY, "500g/盒", "1"],
                 ["2", second, "139****0002", str(strawberry_2), STRAWBERRY, "500g/盒", "3"]],
        "products": [["商品", "规格", "件数", "订单数"], [ORANGE, "5 斤装", "2", "1"], [STRAWBERRY, "500g/盒", "4", "2"]],
    }
    for kind, rows in expected.items():
        download = await client.get(waves_path(demo.brand_id, "/{w}/pick-list.csv", wave.id) + f"?kind={kind}")
        assert download.status_code == 200 and download.headers["content-type"] == "text/csv; charset=utf-8"
        assert download.headers["content-disposition"] == f'attachment; filename="wave-{wave.id}-{kind}.csv"'
        assert download.content.startswith("\ufeff".encode())
        got = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
        assert got == rows
        api = await client.get(
            f"/api/v1/brands/{demo.brand_id}/delivery-waves/{wave.id}/pick-list.csv?kind={kind}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert api.status_code == 200 and api.content == download.content
