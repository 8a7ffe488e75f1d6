"""In Chromium at phone width: a neighbour opens 小李's invite link, signs in by SMS and is bound; a second
visit says already bound; 王姐's member is told where they belong; nothing is loaded from another host."""

from __future__ import annotations

from playwright.async_api import expect

from linli.web.visitor import SESSION_COOKIE
from tests.factories import make_bound_member
from tests.web.browser import Phone
from tests.web.conftest import WebScene, latest_sms_code


async def join_through_the_link(phone: Phone, ctx, code: str, number: str) -> None:
    page = phone.page
    await phone.open(f"/i/{code}")
    await expect(page.get_by_test_id("badge")).to_have_text("云顶华府·优邻优选社区主理人")
    await expect(page.get_by_role("link", name="进入直播间")).to_be_visible()
    # The viewport meta makes a phone lay the page out at its own width (375 px), not a 980 px desktop.
    assert await page.evaluate("window.innerWidth") == 375
    await phone.shoot("landing")
    await page.get_by_role("link", name="登录并加入").click()
    await page.get_by_label("手机号").fill(number)
    await page.get_by_role("button", name="获取验证码").click()
    await expect(page.get_by_role("status")).to_contain_text("验证码已发送")
    await expect(page.get_by_label("手机号")).to_have_value(number)  # the form kept what was typed
    await page.get_by_label("验证码").fill(await latest_sms_code(ctx, number))
    await phone.shoot("code-entered")
    await page.get_by_role("button", name="登录并加入").click()


async def test_a_neighbour_joins_through_the_invite_link(phone: Phone, ctx, web_scene: WebScene):
    page = phone.page
    await join_through_the_link(phone, ctx, web_scene.li.code, "13800002001")
    outcome = page.get_by_test_id("outcome")
    await expect(outcome).to_contain_text("绑定成功")
    await expect(outcome).to_contain_text("小李")
    await expect(page.get_by_test_id("signed-in-as")).to_have_text("邻居2001")
    await phone.shoot("bound")
    # Nothing on the page is wider than the phone.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375

    await phone.open(f"/i/{web_scene.li.code}")
    await expect(outcome).to_contain_text("您已是小李的邻居")
    await expect(page.get_by_role("button", name="加入云顶华府")).to_have_count(0)
    await phone.shoot("second-visit")


async def test_a_member_of_wang_sees_they_are_bound_elsewhere(phone: Phone, ctx, world, web_scene: WebScene):
    member = await make_bound_member(world, web_scene.wang)
    await join_through_the_link(phone, ctx, web_scene.li.code, member.phone)
    outcome = phone.page.get_by_test_id("outcome")
    await expect(outcome).to_contain_text("已绑定其他团长")
    await expect(outcome).to_contain_text("王姐（翠湖花园）")
    await phone.shoot("bound-elsewhere")


async def test_no_page_or_asset_comes_from_another_host(phone: Phone, ctx, web_scene: WebScene):
    await join_through_the_link(phone, ctx, web_scene.li.code, "13800002002")
    await expect(phone.page.get_by_test_id("outcome")).to_contain_text("绑定成功")
    await phone.open(f"/live/{web_scene.session_id}")  # the member's live room (with its own script and event stream)
    await expect(phone.page.get_by_test_id("session")).to_contain_text("黄金奶油草莓源头直播")
    for path, testid in (("/me/orders", "orders"), ("/me/coupons", "coupons"), ("/me/inbox", "inbox"),
                         ("/me/leader", f"leader-card-{web_scene.brand_id}"), ("/me/groups", "no-groups"),
                         ("/me/settings", f"brand-{web_scene.brand_id}")):
        await phone.open(path)  # the member's own pages
        await expect(phone.page.get_by_test_id(testid)).to_be_visible()
    await phone.open("/orders/999999")  # an order that is not theirs: the 404 page
    await expect(phone.page.get_by_test_id("error-page")).to_be_visible()
    await phone.open("/signin/staff")
    await phone.open("/i/ZZZZZZZZ")
    await expect(phone.page.get_by_test_id("error-page")).to_contain_text("邀请码不存在")
    await phone.shoot("unknown-code")
    # The leader's workbench, as 小李 (his app token is the page's cookie too).
    await phone.page.context.add_cookies([{"name": SESSION_COOKIE, "value": web_scene.li.actor.token, "url": phone.base_url}])
    for path in ("/leader", f"/brands/{web_scene.brand_id}/leader/parcels", f"/brands/{web_scene.brand_id}/leader/withdrawals",
                 f"/brands/{web_scene.brand_id}/leader/members", f"/brands/{web_scene.brand_id}/leader/statements",
                 f"/brands/{web_scene.brand_id}/leader/dashboard", f"/brands/{web_scene.brand_id}/leader/academy",
                 f"/brands/{web_scene.brand_id}/leader/academy/mentees",
                 f"/brands/{web_scene.brand_id}/leader/group"):
        await phone.open(path)
        await expect(phone.page.get_by_role("navigation", name="团长工作台")).to_be_visible()
    assert any(url.endswith(f"/brands/{web_scene.brand_id}/leader/qr.png") for url in phone.requests)
    # The console's 团长 pages, as the brand's owner.
    await phone.page.context.add_cookies([{"name": SESSION_COOKIE, "value": web_scene.owner.token, "url": phone.base_url}])
    for rest in ("/leaders", f"/leaders/{web_scene.li.leader_id}", "/leaders/levels", "/transfers", "/disputes", "/binding-policy"):
        await phone.open(f"/brands/{web_scene.brand_id}/console{rest}")
        await expect(phone.page.get_by_role("navigation", name="团长管理")).to_be_visible()
    # The console's delivery waves.
    await phone.open(f"/brands/{web_scene.brand_id}/console/waves")
    await expect(phone.page.get_by_test_id("cut-form")).to_be_visible()
    # The console's products, sessions and coupons.
    for path in ("products", "sessions", f"sessions/{web_scene.session_id}", "coupons"):
        await phone.open(f"/brands/{web_scene.brand_id}/console/{path}")
        await expect(phone.page.get_by_role("navigation", name="品牌后台")).to_be_visible()
    # The host's control panel, as the brand's owner (its own script, the room's stream, the funnel's poll).
    await phone.page.context.add_cookies([{"name": SESSION_COOKIE, "value": web_scene.owner.token, "url": phone.base_url}])
    await phone.open(f"/brands/{web_scene.brand_id}/console/sessions/{web_scene.session_id}/host")
    await expect(phone.page.get_by_test_id("host-panel")).to_be_visible()
    assert any(url.endswith("/static/web/host_panel.js") for url in phone.requests)
    await phone.open("/me")  # leaves the panel and its event stream
    # The console's 成长中心.
    for rest in ("/academy", "/academy/mentors"):
        await phone.open(f"/brands/{web_scene.brand_id}/console{rest}")
        await expect(phone.page.get_by_role("navigation", name="成长中心管理")).to_be_visible()
    # The console's money pages.
    for rest in ("/commission", "/withdrawals", "/reports/commission", "/groups", "/pushes"):
        await phone.open(f"/brands/{web_scene.brand_id}/console{rest}")
        await expect(phone.page.get_by_role("navigation", name="品牌后台")).to_be_visible()
    # The brand's dashboard, its charts drawn by the vendored ECharts.
    await phone.open(f"/brands/{web_scene.brand_id}/console/dashboard")
    await expect(phone.page.get_by_test_id("chart-days")).to_have_attribute("data-drawn", "true")
    assert any(url.endswith("/static/vendor/echarts/echarts.min.js") for url in phone.requests)
    # The pages did load their own assets (so the check below saw real traffic) ...
    assert any(url.endswith("/static/vendor/htmx/htmx.min.js") for url in phone.requests)
    assert any(url.endswith("/static/web/linli.css") for url in phone.requests)
    assert any(url.endswith("/static/web/live_room.js") for url in phone.requests)
    assert any(url.endswith("/static/web/scan.js") for url in phone.requests)
    # ... and htmx is running, with linli.js beside it.
    assert await phone.page.evaluate("typeof window.htmx === 'object' && typeof window.linli.stream === 'function'")
    assert phone.foreign_requests() == []
    # The content security policy refused nothing the pages need (a 404 page's own status is not an error).
    assert [e for e in phone.console_errors if "404" not in e] == []
