"""The member's live room /live/{id} and an order /orders/{id} as pages: who may open and buy, what they read,
the idempotent double click, refusals beside the field, and paying through the simulator."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from linli.live import sessions as live_sessions
from linli.orders import service as orders
from linli.orders.models import Order
from tests.factories import make_bound_member, make_listing, make_offer, make_product
from tests.web.conftest import WebScene, csrf_of, sign_in_by_sms


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def key_of(html: str, target: str) -> str:
    form = re.search(rf'data-testid="buy-{target}".*?name="idempotency_key" value="([0-9a-f]+)"', html, re.S)
    assert form is not None, f"no buy form for {target}"
    return form.group(1)


@dataclass
class RoomScene:
    web: WebScene
    listing_id: int
    offer_id: int


@pytest.fixture
async def room(world, ctx, web_scene: WebScene) -> RoomScene:
    """The strawberry evening, live: a listing at ¥78 and 小李's offer for 云顶华府 at ¥68, 3 left, 2 each."""
    _, [sku_id] = await make_product(world, web_scene.brand_id)
    async with ctx.db.transaction() as s:
        await live_sessions.start_session(session=s, brand_id=web_scene.brand_id, session_id=web_scene.session_id, now=ctx.clock.now())
    listing_id = await make_listing(world, web_scene.brand_id, web_scene.session_id, sku_id, per_member_limit=5)
    offer_id = await make_offer(
        world, web_scene.brand_id, web_scene.session_id, listing_id, web_scene.li.community_id, quota=3, open_now=True,
    )
    return RoomScene(web_scene, listing_id, offer_id)


async def order_count(ctx) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(Order)) or 0)


async def test_anyone_sees_the_room_and_why_they_cannot_take_the_offer(client, room: RoomScene):
    response = await client.get(f"/live/{room.web.session_id}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = text_of(response.text)
    assert "黄金奶油草莓源头直播" in page and "直播中" in page
    assert "品牌故事：源头直击，建立信任" in page and "当前：品牌故事：源头直击，建立信任" in page
    assert "¥68.00" in page and "¥78.00" in page and "剩余名额 3 / 3 份" in page
    assert "云顶华府的邻居登录后可购买" in page
    assert 'name="idempotency_key"' not in response.text  # nothing to buy before signing in
    assert "/static/web/live_room.js" in response.text and "<script>" not in response.text


async def test_an_anonymous_post_goes_to_sign_in_and_places_nothing(client, ctx, room: RoomScene):
    page = await client.get(f"/live/{room.web.session_id}")
    response = await client.post(
        f"/live/{room.web.session_id}/buy",
        data={"csrf_token": csrf_of(page.text), "offer_id": room.offer_id, "quantity": "1", "idempotency_key": "k" * 16},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?next=/live/{room.web.session_id}"
    assert await order_count(ctx) == 0


async def test_a_neighbour_of_another_leader_is_told_the_offer_is_not_theirs(client, ctx, world, room: RoomScene):
    wang_member = await make_bound_member(world, room.web.wang)
    await sign_in_by_sms(client, ctx, wang_member.phone)
    page = await client.get(f"/live/{room.web.session_id}")
    assert "仅限云顶华府社区邻居" in text_of(page.text)
    assert 'data-testid="buy-offer-' not in page.text
    # Posting the offer anyway: the service's refusal beside the field, in Chinese, and no order.
    response = await client.post(
        f"/live/{room.web.session_id}/buy",
        data={"csrf_token": csrf_of(page.text), "offer_id": room.offer_id, "quantity": "1", "idempotency_key": "w" * 16},
    )
    assert response.status_code == 403
    assert "该专享价仅限本小区团长邀请的邻居购买" in text_of(response.text)
    assert "offer_not_eligible" not in response.text
    assert await order_count(ctx) == 0


async def test_without_the_csrf_token_nothing_is_bought(client, ctx, world, room: RoomScene):
    member = await make_bound_member(world, room.web.li)
    await sign_in_by_sms(client, ctx, member.phone)
    page = await client.get(f"/live/{room.web.session_id}")
    key = key_of(page.text, f"offer-{room.offer_id}")
    for token in ("", "forged"):
        response = await client.post(
            f"/live/{room.web.session_id}/buy",
            data={"csrf_token": token, "offer_id": room.offer_id, "quantity": "1", "idempotency_key": key},
        )
        assert response.status_code == 403 and "页面已过期或来源不明" in text_of(response.text)
    assert await order_count(ctx) == 0


async def test_a_double_click_places_one_order_and_opens_it(client, ctx, world, room: RoomScene):
    member = await make_bound_member(world, room.web.li)
    await sign_in_by_sms(client, ctx, member.phone)
    page = await client.get(f"/live/{room.web.session_id}")
    assert "自提点：云顶华府自提点" in text_of(page.text)
    form = {
        "csrf_token": csrf_of(page.text), "offer_id": room.offer_id, "quantity": "2",
        "idempotency_key": key_of(page.text, f"offer-{room.offer_id}"),
    }
    first = await client.post(f"/live/{room.web.session_id}/buy", data=form)
    second = await client.post(f"/live/{room.web.session_id}/buy", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await order_count(ctx) == 1
    order = await client.get(first.headers["location"])
    assert order.status_code == 200
    shown = text_of(order.text)
    assert "待支付" in shown and "实付 ¥136.00" in shown and "去支付" in shown
    # The room now says one left.
    again = await client.get(f"/live/{room.web.session_id}")
    assert "剩余名额 1 / 3 份" in text_of(again.text)


async def test_refusals_are_shown_beside_the_quantity_and_keep_it(client, ctx, world, room: RoomScene):
    member = await make_bound_member(world, room.web.li)
    await sign_in_by_sms(client, ctx, member.phone)
    page = await client.get(f"/live/{room.web.session_id}")
    token, key = csrf_of(page.text), key_of(page.text, f"offer-{room.offer_id}")
    over_limit = await client.post(
        f"/live/{room.web.session_id}/buy",
        data={"csrf_token": token, "offer_id": room.offer_id, "quantity": "3", "idempotency_key": key},
    )
    assert over_limit.status_code == 409
    assert re.search(r'data-error-for="quantity">每人限购 2 件', over_limit.text)
    assert 'value="3"' in over_limit.text
    nonsense = await client.post(
        f"/live/{room.web.session_id}/buy",
        data={"csrf_token": token, "offer_id": room.offer_id, "quantity": "很多", "idempotency_key": key},
    )
    assert nonsense.status_code == 422 and "购买数量须在 1 到 99 之间" in text_of(nonsense.text)
    assert await order_count(ctx) == 0


async def test_sold_out_is_said_beside_the_field(client, ctx, world, room: RoomScene):
    for taken in (2, 1):  # two neighbours take the quota of 3
        other = await make_bound_member(world, room.web.li)
        async with ctx.db.transaction() as s:
            await orders.place_order(
                session=s, user_id=other.user_id, listing_id=None, offer_id=room.offer_id, quantity=taken,
                idempotency_key=f"seed-{other.user_id:08d}", pickup_community_id=None, payment_ttl=timedelta(minutes=10),
                now=ctx.clock.now(),
            )
    member = await make_bound_member(world, room.web.li)
    await sign_in_by_sms(client, ctx, member.phone)
    page = await client.get(f"/live/{room.web.session_id}")
    response = await client.post(
        f"/live/{room.web.session_id}/buy",
        data={"csrf_token": csrf_of(page.text), "offer_id": room.offer_id, "quantity": "1",
              "idempotency_key": key_of(page.text, f"offer-{room.offer_id}")},
    )
    assert response.status_code == 409 and "专享名额已抢完" in text_of(response.text)
    assert await order_count(ctx) == 2


async def test_an_order_is_its_owners_only_and_pays_through_the_simulator(client, ctx, world, room: RoomScene):
    member = await make_bound_member(world, room.web.li)
    await sign_in_by_sms(client, ctx, member.phone)
    page = await client.get(f"/live/{room.web.session_id}")
    placed = await client.post(
        f"/live/{room.web.session_id}/buy",
        data={"csrf_token": csrf_of(page.text), "listing_id": room.listing_id, "quantity": "1",
              "idempotency_key": key_of(page.text, f"listing-{room.listing_id}")},
    )
    order_path = placed.headers["location"]
    order_page = await client.get(order_path)
    paying = await client.post(f"{order_path}/pay", data={"csrf_token": csrf_of(order_page.text)})
    assert paying.status_code == 303 and paying.headers["location"].startswith("/pay/sim/LL")
    trade_no = paying.headers["location"].rsplit("/", 1)[1]
    done = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json={"outcome": "success"})
    assert done.status_code == 200, done.text
    paid = await client.get(order_path)
    assert "已支付" in text_of(paid.text) and "去支付" not in text_of(paid.text)

    # Someone else's order is the 404 page, signed in or not.
    stranger = await make_bound_member(world, room.web.li)
    client.cookies.clear()
    assert (await client.get(order_path)).status_code == 303  # to sign-in first
    await sign_in_by_sms(client, ctx, stranger.phone)
    other = await client.get(order_path)
    assert other.status_code == 404 and other.headers["content-type"].startswith("text/html")
    page = await client.get("/me")
    assert (await client.post(f"{order_path}/pay", data={"csrf_token": csrf_of(page.text)})).status_code == 404


async def _pay_after_expiry(client, ctx, world, room: RoomScene, *, quota_taken_meanwhile: bool) -> str:
    """A neighbour orders 2, opens the pay page, lets the order expire; the money arrives late."""
    member = await make_bound_member(world, room.web.li)
    await sign_in_by_sms(client, ctx, member.phone)
    page = await client.get(f"/live/{room.web.session_id}")
    placed = await client.post(
        f"/live/{room.web.session_id}/buy",
        data={"csrf_token": csrf_of(page.text), "offer_id": room.offer_id, "quantity": "2",
              "idempotency_key": key_of(page.text, f"offer-{room.offer_id}")},
    )
    order_path = placed.headers["location"]
    paying = await client.post(f"{order_path}/pay", data={"csrf_token": csrf_of((await client.get(order_path)).text)})
    trade_no = paying.headers["location"].rsplit("/", 1)[1]
    ctx.clock.advance(timedelta(minutes=ctx.settings.order_payment_minutes + 1))
    async with ctx.db.transaction() as s:
        assert await orders.expire_due_orders(session=s, now=ctx.clock.now()) == 1
    if quota_taken_meanwhile:
        for taken in (2, 1):
            other = await make_bound_member(world, room.web.li)
            async with ctx.db.transaction() as s:
                await orders.place_order(
                    session=s, user_id=other.user_id, listing_id=None, offer_id=room.offer_id, quantity=taken,
                    idempotency_key=f"late-{other.user_id:08d}", pickup_community_id=None,
                    payment_ttl=timedelta(minutes=10), now=ctx.clock.now(),
                )
    done = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json={"outcome": "success"})
    assert done.status_code == 200, done.text
    return text_of((await client.get(order_path)).text)


async def test_a_late_payment_that_found_its_units_reads_paid_and_restored(client, ctx, world, room: RoomScene):
    shown = await _pay_after_expiry(client, ctx, world, room, quota_taken_meanwhile=False)
    assert "已支付 付款晚于订单时限，名额仍在，订单已为您恢复" in shown


async def test_a_late_payment_after_the_quota_went_reads_refunded_never_paid(client, ctx, world, room: RoomScene):
    shown = await _pay_after_expiry(client, ctx, world, room, quota_taken_meanwhile=True)
    assert "未能保留订单 支付超时，名额已售罄，正在原路退款 ¥136.00" in shown
    assert "支付成功" not in shown and "去支付" not in shown
