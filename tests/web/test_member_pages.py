"""The member's own pages over HTTP on the demo: 我的 and its links, 我的订单 (newest first, paginated), 提货
(the code and the QR the API gives, only for the order's owner), 我的消息 (mark read with CSRF), 我的团长.
Who may open each: anonymous → sign-in, anyone else's order → the 404 page, leader and staff as members."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from linli.accounts import service as accounts
from linli.fulfillment.models import Parcel
from linli.notifications import service as notifications
from linli.notifications.models import Notification
from linli.orders import service as orders
from linli.orders.models import Order
from linli.web import member_orders
from linli.web.visitor import SESSION_COOKIE
from tests.qr import scan
from tests.web.conftest import csrf_of
from tests.web.workbench_scene import NEIGHBOUR_PHONE, XIAOLI_PHONE, load, sign_in_as

TWO_ORDERS_PHONE = "13900000004"  # two orange orders, arrived at 云顶华府
PICKED_UP_PHONE = "13900000009"  # last week's grapes, picked up
UNBOUND_PHONE = "13900000030"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def user_id_of(ctx, phone: str) -> int:
    async with ctx.db.read() as s:
        user = await accounts.find_user_by_phone(session=s, phone=phone)
    assert user is not None
    return user.id


async def orders_of(ctx, phone: str) -> list[Order]:
    user_id = await user_id_of(ctx, phone)
    async with ctx.db.read() as s:
        return list(await s.scalars(select(Order).where(Order.user_id == user_id).order_by(Order.id.desc())))


async def parcel_of(ctx, order_id: int) -> Parcel:
    async with ctx.db.read() as s:
        parcel = await s.scalar(select(Parcel).where(Parcel.order_id == order_id))
    assert parcel is not None
    return parcel


@pytest.mark.parametrize("path", ["/me/orders", "/me/inbox", "/me/leader", "/orders/1/pickup", "/orders/1/pickup/qr.png"])
async def test_anonymous_is_sent_to_sign_in(client, ctx, path):
    await load(ctx)
    response = await client.get(path)
    assert response.status_code == 303 and response.headers["location"] == f"/signin?next={path}"


async def test_me_links_to_the_member_pages_and_counts_unread(client, ctx):
    await load(ctx)
    await sign_in_as(client, ctx, phone=TWO_ORDERS_PHONE)
    unread = len([m for m in await inbox_of(ctx, TWO_ORDERS_PHONE) if m.read_at is None])
    page = await client.get("/me")
    assert page.status_code == 200
    for href in ("/me/orders", "/me/inbox", "/me/leader"):
        assert f'href="{href}"' in page.text
    assert unread > 0 and f"{unread} 条未读" in text_of(page.text)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)  # a leader keeps the workbench link beside them
    leader_me = await client.get("/me")
    assert 'href="/leader"' in leader_me.text and 'href="/me/orders"' in leader_me.text


async def test_my_orders_newest_first_with_status_amount_and_time(client, ctx):
    demo = await load(ctx)
    mine = await orders_of(ctx, TWO_ORDERS_PHONE)
    assert len(mine) == 2
    await sign_in_as(client, ctx, phone=TWO_ORDERS_PHONE)
    page = await client.get("/me/orders")
    assert page.status_code == 200
    ids = [int(i) for i in re.findall(r'data-testid="order-(\d+)"', page.text)]
    assert ids == [o.id for o in mine]  # newest first
    text = text_of(page.text)
    assert "已支付" in text and "待提货" in text and "爱媛果冻橙" in text
    for order in mine:
        assert f'href="/orders/{order.id}"' in page.text
        assert f"实付 ¥{order.total_fen // 100}.{order.total_fen % 100:02d}" in text
    # The brand's time zone (Asia/Shanghai): placed_at is UTC in the database.
    local = mine[0].placed_at + timedelta(hours=8)
    assert f"{local.year}年{local.month}月{local.day}日 {local:%H:%M} 下单" in text
    # Nobody else's orders are listed.
    others = {o.id for o in await orders_of(ctx, PICKED_UP_PHONE)}
    assert not others & set(ids)
    explicit = await client.get(f"/me/orders?brand_id={demo.brand_id}")
    assert [int(i) for i in re.findall(r'data-testid="order-(\d+)"', explicit.text)] == ids
    assert (await client.get("/me/orders?brand_id=999999")).status_code == 404


async def test_my_orders_are_paginated(client, ctx, monkeypatch):
    demo = await load(ctx)
    monkeypatch.setattr(member_orders, "PAGE_SIZE", 1)
    newest, oldest = await orders_of(ctx, TWO_ORDERS_PHONE)
    await sign_in_as(client, ctx, phone=TWO_ORDERS_PHONE)
    first = await client.get("/me/orders")
    assert re.findall(r'data-testid="order-(\d+)"', first.text) == [str(newest.id)]
    assert "第 1 / 2 页" in text_of(first.text) and f"/me/orders?brand_id={demo.brand_id}&amp;page=2" in first.text
    second = await client.get(f"/me/orders?brand_id={demo.brand_id}&page=2")
    assert re.findall(r'data-testid="order-(\d+)"', second.text) == [str(oldest.id)]
    assert (await client.get("/me/orders?page=0")).status_code == 422


@pytest.mark.parametrize("who", [UNBOUND_PHONE, XIAOLI_PHONE, "staff"])
async def test_a_member_without_orders_leader_and_staff_see_only_their_own(client, ctx, who):
    await load(ctx)
    if who == "staff":
        await sign_in_as(client, ctx, login="youlin-owner")
    else:
        await sign_in_as(client, ctx, phone=who)
    page = await client.get("/me/orders")
    assert page.status_code == 200 and "还没有订单" in text_of(page.text)
    [order, _] = await orders_of(ctx, TWO_ORDERS_PHONE)
    for path in (f"/orders/{order.id}/pickup", f"/orders/{order.id}/pickup/qr.png", f"/orders/{order.id}"):
        refused = await client.get(path)
        assert refused.status_code == 404, path
        assert refused.headers["content-type"].startswith("text/html")
        assert 'data-testid="error-page"' in refused.text


async def test_the_pickup_page_shows_the_apis_code_and_a_qr_that_scans_to_it(client, ctx):
    await load(ctx)
    [order, _] = await orders_of(ctx, TWO_ORDERS_PHONE)
    await sign_in_as(client, ctx, phone=TWO_ORDERS_PHONE)
    token = client.cookies[SESSION_COOKIE]
    api = await client.get(f"/api/v1/orders/{order.id}/pickup-code", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.json()["code"]
    code = api.json()["code"]
    detail = await client.get(f"/orders/{order.id}")
    assert f'href="/orders/{order.id}/pickup"' in detail.text
    page = await client.get(f"/orders/{order.id}/pickup")
    assert page.status_code == 200
    assert re.search(r'data-testid="pickup-code">([^<]*)<', page.text).group(1) == code
    assert re.search(r'data-testid="pickup-state">([^<]*)<', page.text).group(1) == "可提货"
    text = text_of(page.text)
    point = api.json()["pickup_point"]
    assert point["name"] == "云顶华府自提点"
    for value in (point["name"], point["address"], point["opening_hours"]):
        assert value in text
    assert f'src="/orders/{order.id}/pickup/qr.png"' in page.text
    png = await client.get(f"/orders/{order.id}/pickup/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.headers["cache-control"] == "private, no-store"
    assert scan(png.content) == code
    api_png = await client.get(f"/api/v1/orders/{order.id}/pickup-code/qr.png", headers={"Authorization": f"Bearer {token}"})
    assert scan(api_png.content) == scan(png.content)


async def test_a_picked_up_order_shows_when_and_no_code(client, ctx):
    await load(ctx)
    [order, *_] = await orders_of(ctx, PICKED_UP_PHONE)
    parcel = await parcel_of(ctx, order.id)
    assert parcel.status == "picked_up"
    await sign_in_as(client, ctx, phone=PICKED_UP_PHONE)
    page = await client.get(f"/orders/{order.id}/pickup")
    assert page.status_code == 200
    assert re.search(r'data-testid="pickup-state">([^<]*)<', page.text).group(1) == "已提货"
    assert 'data-testid="pickup-code"' not in page.text and "qr.png" not in page.text
    assert parcel.pickup_code not in page.text
    assert "提货。" in text_of(page.text)
    closed = await client.get(f"/orders/{order.id}/pickup/qr.png")
    assert closed.status_code == 409 and "提货码已失效" in text_of(closed.text)


async def test_an_unpaid_order_has_no_pickup_page(client, ctx):
    demo = await load(ctx)
    user_id = await user_id_of(ctx, NEIGHBOUR_PHONE)
    async with ctx.db.read() as s:
        from linli.live import service as live
        from linli.live.models import LiveSession

        session_id = await s.scalar(select(LiveSession.id).where(LiveSession.brand_id == demo.brand_id, LiveSession.status == "live"))
        state = await live.room_state(session=s, session_id=session_id, now=ctx.clock.now(), user_id=user_id)
    async with ctx.db.transaction() as s:
        placed = await orders.place_order(
            session=s, user_id=user_id, listing_id=state.listings[0].listing.id, offer_id=None, quantity=1,
            idempotency_key="unpaid-pickup-page", pickup_community_id=None, payment_ttl=timedelta(minutes=10),
            now=ctx.clock.now(),
        )
    await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    detail = await client.get(f"/orders/{placed.order.id}")
    assert detail.status_code == 200 and "/pickup" not in detail.text
    page = await client.get(f"/orders/{placed.order.id}/pickup")
    assert page.status_code == 404 and "订单支付后才有提货码" in text_of(page.text)


async def inbox_of(ctx, phone: str) -> list[Notification]:
    user_id = await user_id_of(ctx, phone)
    async with ctx.db.read() as s:
        return await notifications.messages_for(session=s, user_id=user_id)


async def read_at(ctx, notification_id: int):  # noqa: ANN201
    async with ctx.db.read() as s:
        return (await s.get(Notification, notification_id)).read_at


async def test_the_inbox_newest_first_unread_marked_and_marked_read(client, ctx):
    await load(ctx)
    messages = await inbox_of(ctx, TWO_ORDERS_PHONE)
    assert len(messages) >= 2 and all(m.read_at is None for m in messages)
    await sign_in_as(client, ctx, phone=TWO_ORDERS_PHONE)
    page = await client.get("/me/inbox")
    assert page.status_code == 200
    ids = [int(i) for i in re.findall(r'data-testid="message-(\d+)"', page.text)]
    assert ids == sorted((m.id for m in messages), reverse=True)
    assert page.text.count('data-testid="unread"') == len(messages)
    assert f"{len(messages)} 条未读" in text_of(page.text)
    target = messages[0]
    # CSRF first: without the token, or with another's, nothing is marked.
    for data in ({}, {"csrf_token": "forged"}):
        refused = await client.post(f"/me/inbox/{target.id}/read", data=data)
        assert refused.status_code == 403 and "页面已过期" in text_of(refused.text)
    assert await read_at(ctx, target.id) is None
    done = await client.post(f"/me/inbox/{target.id}/read", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/me/inbox"
    assert await read_at(ctx, target.id) is not None
    after = await client.get("/me/inbox")
    assert after.text.count('data-testid="unread"') == len(messages) - 1
    unread_only = await client.get("/me/inbox?unread=true")
    assert f'data-testid="message-{target.id}"' not in unread_only.text
    everything = await client.post("/me/inbox/read-all", data={"csrf_token": csrf_of(after.text)})
    assert everything.status_code == 303
    assert all(m.read_at is not None for m in await inbox_of(ctx, TWO_ORDERS_PHONE))
    assert "0 条未读" in text_of((await client.get("/me/inbox")).text)


async def test_another_persons_message_is_not_found_and_stays_unread(client, ctx):
    await load(ctx)
    [theirs, *_] = await inbox_of(ctx, TWO_ORDERS_PHONE)
    await sign_in_as(client, ctx, phone=PICKED_UP_PHONE)
    page = await client.get("/me/inbox")
    assert f'data-testid="message-{theirs.id}"' not in page.text
    refused = await client.post(f"/me/inbox/{theirs.id}/read", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 404 and "消息不存在" in text_of(refused.text)
    assert await read_at(ctx, theirs.id) is None


async def test_my_leader_card_and_what_a_member_bound_to_nobody_reads(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE)
    page = await client.get("/me/leader")
    assert page.status_code == 200
    card = text_of(re.search(rf'data-testid="leader-card-{demo.brand_id}">(.*?)</section>', page.text, re.S).group(1))
    assert "云顶华府·优邻优选社区主理人" in card and "小李 · 云顶华府" in card
    assert "云顶华府自提点" in card and "云顶华府 3 号楼底商·小李便利店" in card and "09:00-21:00" in card
    from linli.leaders import invite_codes

    async with ctx.db.read() as s:
        code = (await invite_codes.current_code(session=s, leader_id=demo.xiaoli_leader_id)).code
    assert code not in page.text  # the leader's invite code is theirs to share, not shown to a member

    await sign_in_as(client, ctx, phone=UNBOUND_PHONE)
    unbound = await client.get("/me/leader")
    assert unbound.status_code == 200
    text = text_of(unbound.text)
    assert "还没有团长" in text and "邀请链接" in text and "主理人" not in text
    await sign_in_as(client, ctx, login="youlin-owner")  # staff: a person with no membership at all
    staff = await client.get("/me/leader")
    assert staff.status_code == 200 and 'data-testid="no-brand"' in staff.text
