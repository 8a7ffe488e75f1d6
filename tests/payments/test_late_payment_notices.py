"""What the member is told about a payment their order could not keep: the order timeline and the inbox.

A late payment whose units are gone is refunded automatically; the member hears "已原路退款" only once the
provider confirmed the refund (payment.refunded), never for a refund that failed.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import update

from linli import simulation
from linli.notifications.models import Notification
from linli.outbox.models import OutboxEvent
from linli.payments import simulator
from linli.payments.models import Refund
from linli.payments.providers import PAYMENT_SUCCEEDED
from linli.worker import run_until_idle
from tests.payments.conftest import PRICE_FEN, build_shop, member, order_of, pay, place, rows, start, topics
from tests.payments.test_refunds import CountingProvider

REFUNDED = "支付超时，名额已售罄，已原路退款 ¥136.00"
REFUNDING = "支付超时，名额已售罄，正在原路退款 ¥136.00"
REFUND_FAILED = "支付超时，名额已售罄，退款 ¥136.00 未成功，请联系客服"


async def timeline(client, actor, order_id: int) -> list[dict]:
    response = await client.get(f"/api/v1/orders/{order_id}/timeline", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()["entries"]


async def inbox(ctx, actor) -> list[Notification]:
    return await rows(ctx, Notification, Notification.user_id == actor.user_id)


async def _paid_late_and_sold_out(ctx, world, client):
    """Two boxes (¥136.00) ordered, the time runs out, a neighbour takes the quota, then the money arrives."""
    shop = await build_shop(ctx, world, quota=2)
    late, quick = await member(ctx, world, shop, name="晚到"), await member(ctx, world, shop, name="手快")
    order = await place(ctx, shop, late, offer=True, quantity=2)
    trade_no = (await start(client, late, order.id)).json()["out_trade_no"]
    ctx.clock.advance(timedelta(minutes=ctx.settings.order_payment_minutes, seconds=1))
    await run_until_idle(ctx)
    other = await place(ctx, shop, quick, offer=True, quantity=2)
    assert (await pay(client, quick, other.id))["outcomes"] == ["paid"]
    await run_until_idle(ctx)
    ctx.clock.advance(timedelta(minutes=1))
    done = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json={})
    assert done.json()["outcomes"] == ["refunding_late_payment"]
    return late, order


async def test_a_refunded_late_payment_is_told_on_the_timeline_and_in_the_inbox_once(ctx, world, client):
    late, order = await _paid_late_and_sold_out(ctx, world, client)
    paid_at = ctx.clock.now()
    entries = await timeline(client, late, order.id)
    assert [e["title"] for e in entries] == ["已下单", "超时未支付，已关闭", REFUNDING]
    assert entries[-1]["kind"] == "late_payment_refunding"
    assert await inbox(ctx, late) == []  # not refunded yet: nothing said about a refund

    ctx.clock.advance(timedelta(seconds=30))
    await run_until_idle(ctx)
    [refund] = await rows(ctx, Refund)
    assert refund.status == "succeeded"
    entries = await timeline(client, late, order.id)
    assert [e["title"] for e in entries] == ["已下单", "超时未支付，已关闭", REFUNDED]
    assert entries[-1]["kind"] == "late_payment_refunded"
    assert entries[-1]["at"].startswith(ctx.clock.now().isoformat()[:19]) and paid_at < ctx.clock.now()
    [message] = await inbox(ctx, late)
    assert message.kind == "payment_refunded" and message.order_id == order.id and message.brand_id == order.brand_id
    assert message.title == "支付超时，已原路退款"
    assert message.body.startswith(REFUNDED) and "黄金奶油草莓" in message.body
    assert (await order_of(ctx, order.id)).status == "expired"  # the order itself stays closed

    # The outbox delivers the event again: the member still has one message.
    async with ctx.db.transaction() as s:
        await s.execute(update(OutboxEvent).where(OutboxEvent.topic == "payment.refunded").values(processed_at=None))
    await run_until_idle(ctx)
    assert len(await inbox(ctx, late)) == 1


async def test_a_failed_refund_never_tells_the_member_it_was_refunded(ctx, world, client):
    late, order = await _paid_late_and_sold_out(ctx, world, client)
    refusing = CountingProvider(ctx.payments["simulator"], ["failed"])
    await run_until_idle(dataclasses.replace(ctx, payments={"simulator": refusing}))
    [refund] = await rows(ctx, Refund)
    assert refund.status == "failed" and len(await topics(ctx, "payment.refund_failed")) == 1

    entries = await timeline(client, late, order.id)
    titles = [e["title"] for e in entries]
    assert titles == ["已下单", "超时未支付，已关闭", REFUND_FAILED]
    assert not any("已原路退款" in t for t in titles)
    [message] = await inbox(ctx, late)
    assert message.kind == "payment_refund_failed" and "已原路退款" not in message.title + message.body
    assert message.body.startswith(REFUND_FAILED)


async def test_a_late_payment_that_got_its_units_back_says_so(ctx, world, shop, client):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer, offer=True)
    trade_no = (await start(client, buyer, order.id)).json()["out_trade_no"]
    ctx.clock.advance(timedelta(minutes=ctx.settings.order_payment_minutes, seconds=1))
    await run_until_idle(ctx)
    done = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json={})
    assert done.json()["outcomes"] == ["paid_late"]
    await run_until_idle(ctx)
    entries = await timeline(client, buyer, order.id)
    assert [e["title"] for e in entries] == ["已下单", "超时未支付，已关闭", "已支付"]
    assert entries[-1]["description"] == "付款晚于订单时限，名额仍在，订单已为您恢复"
    assert entries[0]["description"] is None
    assert await inbox(ctx, buyer) == [] and await rows(ctx, Refund) == []


async def test_a_refunded_double_payment_shows_on_the_timeline(ctx, world, shop, client, sim):
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer)
    first = (await start(client, buyer, order.id)).json()
    late_copy = sim.signed(
        sim.notification_body(event_type=PAYMENT_SUCCEEDED, out_trade_no=first["out_trade_no"], amount_fen=PRICE_FEN,
                              transaction_id="SIMT-first", now=ctx.clock.now()),
        now=ctx.clock.now(),
    )
    await client.post(f"/api/v1/payments/simulator/{first['out_trade_no']}/complete", json={"outcome": "fail"})
    assert (await pay(client, buyer, order.id))["outcomes"] == ["paid"]
    result = await client.post("/api/v1/payments/simulator/notify", content=late_copy.body, headers=late_copy.headers)
    assert result.json() == {"outcome": "refunding_double_payment"}
    await run_until_idle(ctx)
    titles = [e["title"] for e in await timeline(client, buyer, order.id)]
    assert titles[:2] == ["已下单", "已支付"] and "重复支付，已原路退款 ¥68.00" in titles
    assert [m.title for m in await inbox(ctx, buyer) if m.kind == "payment_refunded"] == ["重复支付，已原路退款"]


# --- the simulator's pay page ---------------------------------------------------------------------------


async def _started(ctx, world, client, shop, **place_kw):  # noqa: ANN202
    buyer = await member(ctx, world, shop)
    order = await place(ctx, shop, buyer, **place_kw)
    return buyer, (await start(client, buyer, order.id)).json()["out_trade_no"]


async def _complete(client, trade_no: str, **body) -> dict:  # noqa: ANN001
    response = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_pay_page_shows_what_the_server_answered(ctx, world, client):
    shop = await build_shop(ctx, world)
    _, trade_no = await _started(ctx, world, client, shop)
    page = await client.get(f"/pay/sim/{trade_no}")
    assert "支付成功" not in page.text  # the page no longer decides the outcome itself ...
    assert "data.message" in page.text  # ... it shows the server's
    paid = await _complete(client, trade_no)
    assert (paid["outcomes"], paid["message"]) == (["paid"], "支付成功")

    _, trade_no = await _started(ctx, world, client, shop)
    ctx.clock.advance(timedelta(minutes=ctx.settings.order_payment_minutes, seconds=1))
    await run_until_idle(ctx)
    late = await _complete(client, trade_no)
    assert (late["outcomes"], late["message"]) == (["paid_late"], "支付成功：付款晚于订单时限，名额仍在，订单已为您恢复")

    one_left = await build_shop(ctx, world, quota=1)
    _, trade_no = await _started(ctx, world, client, one_left, offer=True)
    ctx.clock.advance(timedelta(minutes=ctx.settings.order_payment_minutes, seconds=1))
    await run_until_idle(ctx)
    quick = await member(ctx, world, one_left)
    assert (await pay(client, quick, (await place(ctx, one_left, quick, offer=True)).id))["outcomes"] == ["paid"]
    refunded = await _complete(client, trade_no)
    assert refunded["outcomes"] == ["refunding_late_payment"]
    assert refunded["message"] == "支付超时，名额已售罄，款项将原路退回"

    again = await client.post(f"/api/v1/payments/simulator/{trade_no}/complete", json={})
    assert again.status_code == 409 and again.json()["error"]["message"] == "该支付单已完成，不能再次支付"

    _, trade_no = await _started(ctx, world, client, shop)
    failed = await _complete(client, trade_no, outcome="fail")
    assert (failed["outcomes"], failed["message"]) == (["failed"], "支付失败")

    _, trade_no = await _started(ctx, world, client, shop)
    scheduled = await _complete(client, trade_no, delay_ms=50)
    assert (scheduled["outcomes"], scheduled["message"]) == ([], "已提交，支付结果稍后送达")


def test_a_refused_notification_is_shown_as_refused_not_as_paid():
    refused = simulation.Completion("success", False, ["error:payment_not_found"], [])
    assert simulator.outcome_message(refused) == "支付未被受理（payment_not_found）"
    assert simulator.outcome_message(simulation.Completion("success", False, ["something_new"], [])) == "支付结果未知，请查看订单"
