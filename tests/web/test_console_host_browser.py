"""In Chromium, on the demo's live strawberry evening: the host (the brand's owner, at desk width) moves the show on
to its last phase, opens the oranges for 云顶华府 and announces them, while a neighbour of 小李 (a second browser
context, at phone width) watches `/live/{id}`: the phase, the new offer card with its buy form and the banner
appear there without a reload. Then the neighbour buys and comments, and the host's panel follows: the ticker,
the quota left, the comment, and the funnel (polled).

`LINLI_UPDATE_README_SHOTS=1` also copies the desk screenshot of the panel to docs/img/host-panel.png."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

from playwright.async_api import expect

from linli.demo.cast import DEMO_PASSWORD, OWNER_LOGIN
from linli.live import comments
from linli.orders import service as orders
from linli.web.visitor import SESSION_COOKIE
from tests.web.browser import Phone, open_phone
from tests.web.host_scene import host_scene, member_token
from tests.web.workbench_scene import NEIGHBOUR_PHONE

README_SHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "host-panel.png"


def keep_for_the_readme(shot: Path) -> None:
    """The docs' picture of the panel is refreshed only on request, never by an ordinary test run."""
    if os.environ.get("LINLI_UPDATE_README_SHOTS") == "1":
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, README_SHOT)


async def test_the_host_moves_the_show_on_while_a_neighbour_watches(desk: Phone, browser, live_server, ctx, backend):
    scene = await host_scene(ctx, draft_community="云顶华府")
    member = await open_phone(browser, live_server, f"test_the_host_moves_the_show_on_while_a_neighbour_watches-{backend}-member")
    await member.page.context.add_cookies(
        [{"name": SESSION_COOKIE, "value": await member_token(ctx, NEIGHBOUR_PHONE), "url": live_server}]
    )
    try:
        await member.open(f"/live/{scene.session_id}")
        watching = member.page
        await expect(watching.get_by_test_id("current-phase")).to_have_text("当前：社区专享团购")
        await expect(watching.get_by_test_id(f"offer-{scene.open_offer_id}")).to_be_visible()
        await expect(watching.get_by_test_id(f"offer-{scene.draft_offer_id}")).to_have_count(0)  # a draft is not public
        member_doc = await watching.evaluate("window.__page = Math.random()")

        # The host signs in with the login name and lands on the console, then opens the panel.
        host = desk.page
        await desk.open("/signin/staff")
        await host.get_by_label("登录名").fill(OWNER_LOGIN)
        await host.get_by_label("密码").fill(DEMO_PASSWORD)
        await host.get_by_role("button", name="登录", exact=True).click()
        await expect(host.get_by_test_id("console-head")).to_be_visible()
        await desk.open(scene.panel)
        await expect(host.get_by_test_id("current-phase")).to_contain_text("当前：社区专享团购")
        host_doc = await host.evaluate("window.__page = Math.random()")
        orders_at_start = int(await host.get_by_test_id("funnel-orders").text_content() or "")
        await desk.shoot("panel")

        await host.get_by_role("button", name="下一环节").click()
        await expect(host.get_by_test_id("current-phase")).to_contain_text("当前：添加你的社区主理人")
        await expect(host.get_by_text("已是最后一个环节")).to_be_visible()
        await expect(watching.get_by_test_id("current-phase")).to_have_text("当前：添加你的社区主理人")

        row = host.get_by_test_id(f"host-offer-{scene.draft_offer_id}")
        await row.get_by_role("button", name="开放").click()
        await expect(row.get_by_test_id("offer-status")).to_have_text("进行中")
        card = watching.get_by_test_id(f"offer-{scene.draft_offer_id}")
        await expect(card).to_contain_text("爱媛果冻橙")
        await expect(card.get_by_role("button", name="立即购买")).to_be_visible()  # 小李's neighbour may buy it

        row = host.get_by_test_id(f"host-offer-{scene.draft_offer_id}")
        await row.get_by_label("播报补充（可选）").fill("明天到自提点")
        await row.get_by_role("button", name="播报").click()
        await expect(row.get_by_role("status")).to_have_text("已播报到小区")
        await expect(watching.get_by_test_id("announce-banner")).to_have_text(
            "接下来为云顶华府的邻居们带来专享价：爱媛果冻橙 ¥39.90，前 20 份，明天到自提点 @小李"
        )
        await row.get_by_role("button", name="播报").click()  # again at once: refused beside the button
        await expect(row.get_by_role("alert")).to_contain_text("这条专享价刚播报过，请 30 秒后再播报")
        await member.shoot("announced")

        # The neighbour buys 2 and comments: the host's panel follows from the stream; the funnel from its poll.
        user_id = await user_of(ctx, NEIGHBOUR_PHONE)
        async with ctx.db.transaction() as s:
            await orders.place_order(
                session=s, user_id=user_id, listing_id=None, offer_id=scene.draft_offer_id, quantity=2,
                idempotency_key="host-browser-buys", pickup_community_id=None, payment_ttl=timedelta(minutes=10),
                now=ctx.clock.now(),
            )
        async with ctx.db.transaction() as s:
            await comments.post_comment(session=s, session_id=scene.session_id, user_id=user_id, body="橙子甜吗？", now=ctx.clock.now())
        await expect(host.get_by_test_id("ticker")).to_contain_text("（云顶华府） 购买了 爱媛果冻橙 ×2")
        await expect(host.locator(f"[data-offer-remaining='{scene.draft_offer_id}']")).to_have_text("18")
        await expect(host.locator(f"[data-listing-remaining='{scene.orange_listing_id}']")).to_have_text("89")
        await expect(host.get_by_test_id("comments")).to_contain_text("橙子甜吗？")
        await expect(host.get_by_test_id("funnel-orders")).to_have_text(str(orders_at_start + 1), timeout=15_000)
        await expect(watching.get_by_test_id(f"offer-{scene.draft_offer_id}").get_by_test_id("offer-remaining")).to_have_text("18")

        assert await host.evaluate("window.__page") == host_doc  # htmx swapped the controls: no reload
        assert await watching.evaluate("window.__page") == member_doc
        assert await host.evaluate("document.documentElement.scrollWidth") <= 1280
        keep_for_the_readme(await desk.shoot("live"))
        assert desk.foreign_requests() == [] and member.foreign_requests() == []
        # The refused announcement is an answer of 429 that the browser logs; nothing else may be an error.
        assert [e for e in desk.console_errors if "429" not in e] == []
        assert [e for e in member.console_errors if "404" not in e] == []
    finally:  # ends both event streams before the server stops (also when the test fails)
        await desk.page.context.close()
        await member.page.context.close()


async def user_of(ctx, phone: str) -> int:
    from linli.accounts import service as accounts

    async with ctx.db.read() as s:
        user = await accounts.find_user_by_phone(session=s, phone=phone)
        assert user is not None
        return user.id
