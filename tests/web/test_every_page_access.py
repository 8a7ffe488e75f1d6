"""A net under the per-page tests: every page route the application serves, walked as an anonymous visitor and
as a neighbour bound to nobody (on the demo's real ids). Nothing answers 5xx or JSON; every protected page sends
the anonymous visitor to sign-in; every POST refuses a missing CSRF token; no console or workbench page opens
for the neighbour, nor anyone else's order, claim or message. A new page is walked without being listed here."""

from __future__ import annotations

import re

from sqlalchemy import select

from linli.academy.models import Lesson
from linli.community.models import CommunityGroup
from linli.coupons.models import CouponRule, CouponTemplate
from linli.demo.cast import STRAWBERRY_TITLE
from linli.fulfillment.models import DeliveryWave
from linli.live.models import CommunityOffer, LiveSession
from linli.marketing.models import CampaignKit, CopyTemplate, InterestGroup
from linli.notifications.models import Notification
from linli.orders.models import Order
from linli.web import routes
from tests.web.workbench_scene import load, sign_in_as

# Pages anyone may open (the rest need a signed-in visitor): the front door, sign-in, the invite link, the room.
PUBLIC = {"/", "/signin", "/signin/staff", "/i/{code}", "/i/{code}/join", "/live/{session_id}"}
UNBOUND_NEIGHBOUR = "13900000030"


def page_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for area in routes.AREAS for pages in area for route in pages.router.routes for method in route.methods
    )


async def demo_ids(ctx) -> dict[str, str]:  # noqa: ANN001
    """Real ids of the demo for every path parameter; another member's order, claim and message."""
    demo = await load(ctx)
    async with ctx.db.read() as s:
        live = await s.scalar(select(LiveSession).where(LiveSession.title == STRAWBERRY_TITLE))
        offer = await s.scalar(select(CommunityOffer).where(CommunityOffer.session_id == live.id))
        order = await s.scalar(select(Order).order_by(Order.id))
        wave = await s.scalar(select(DeliveryWave).order_by(DeliveryWave.id))
        message = await s.scalar(select(Notification).order_by(Notification.id))
        kit = await s.scalar(select(CampaignKit).where(CampaignKit.session_id == live.id).order_by(CampaignKit.id))
        copy_template = await s.scalar(select(CopyTemplate).order_by(CopyTemplate.id))
        interest = await s.scalar(select(InterestGroup).order_by(InterestGroup.id))
        lesson = await s.scalar(select(Lesson).order_by(Lesson.id))
        group = await s.scalar(select(CommunityGroup).where(CommunityGroup.join_url.is_not(None)))
        template_id = await s.scalar(select(CouponTemplate.id).order_by(CouponTemplate.id))
        rule_id = await s.scalar(select(CouponRule.id).order_by(CouponRule.id))
    return {
        "brand_id": str(demo.brand_id), "session_id": str(live.id), "offer_id": str(offer.id),
        "order_id": str(order.id), "wave_id": str(wave.id), "notification_id": str(message.id),
        "leader_id": str(demo.xiaoli_leader_id), "code": "ZZZZZZZZ", "claim_id": "1", "photo_id": "1",
        "dispute_id": "1", "withdrawal_id": "1", "product_id": "1", "table": "days", "kit_id": str(kit.id),
        "copy_template_id": str(copy_template.id), "interest_group_id": str(interest.id), "group_id": str(group.id),
        "course_id": str(lesson.course_id), "lesson_id": str(lesson.id), "push_id": "1", "post_id": "1",
        "template_id": str(template_id), "rule_id": str(rule_id), "campaign_id": "1",
        "occasion_id": "1",
    }


def filled(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)


def assert_html(response, where: str) -> None:  # noqa: ANN001
    assert response.status_code < 500, where
    if response.status_code != 303 and response.headers["content-type"].startswith("text/"):
        assert not response.headers["content-type"].startswith("application/json"), where


async def test_an_anonymous_visitor_is_sent_to_sign_in_and_every_post_needs_the_token(client, ctx):
    ids = await demo_ids(ctx)
    walked = page_routes()
    assert len(walked) > 60  # the walk sees the pages (a broken enumeration would pass vacuously)
    for method, path in walked:
        url = filled(path, ids)
        if method == "GET":
            response = await client.get(url)
            assert_html(response, url)
            if path not in PUBLIC:
                assert response.status_code == 303 and response.headers["location"].startswith("/signin?next=/"), url
        else:
            response = await client.post(url, data={})
            assert response.status_code == 403 and "页面已过期或来源不明" in response.text, url
            assert response.headers["content-type"].startswith("text/html"), url


async def test_a_neighbour_bound_to_nobody_opens_no_console_workbench_or_others_things(client, ctx):
    ids = await demo_ids(ctx)
    await sign_in_as(client, ctx, phone=UNBOUND_NEIGHBOUR)
    for method, path in page_routes():
        if method != "GET":
            continue
        url = filled(path, ids)
        response = await client.get(url)
        assert_html(response, url)
        if path.startswith(("/brands/{brand_id}/console", "/brands/{brand_id}/leader", "/console", "/leader")):
            assert response.status_code in (403, 404) and response.headers["content-type"].startswith("text/html"), url
            assert "仅限" in response.text or "不存在" in response.text or "您还不是" in response.text, url
        elif path.startswith(("/orders/{order_id}", "/claims/{claim_id}", "/me/groups/{group_id}", "/posts/{post_id}")) or "{notification_id}" in path:
            assert response.status_code in (404, 405), url  # someone else's: as if it did not exist
