"""In Chromium at phone width, on the demo: 小李 opens his campaign kits, downloads tonight's strawberry poster
(whose QR code is his invite link) and copies its text in one tap."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from linli.demo.cast import STRAWBERRY_TITLE
from linli.leaders import invite_codes
from tests.qr import scan
from tests.web.browser import Phone
from tests.web.conftest import latest_sms_code
from tests.web.workbench_scene import XIAOLI_PHONE, load
from tests.web.test_workbench_kits_pages import xiaoli_kit


async def test_xiaoli_downloads_his_strawberry_poster_and_copies_its_text(phone: Phone, ctx):
    demo = await load(ctx)
    kit = await xiaoli_kit(ctx, demo)
    page = phone.page
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=phone.base_url)
    await phone.open("/signin?next=/leader")
    await page.get_by_label("手机号").fill(XIAOLI_PHONE)
    await page.get_by_role("button", name="获取验证码").click()
    await expect(page.get_by_role("status")).to_contain_text("验证码已发送")
    await page.get_by_label("验证码").fill(await latest_sms_code(ctx, XIAOLI_PHONE))
    await page.get_by_role("button", name="登录", exact=True).click()

    await page.get_by_role("link", name="作战包").click()
    card = page.get_by_test_id("kit")
    await expect(card.get_by_test_id("kit-title")).to_have_text(STRAWBERRY_TITLE)
    await expect(card.get_by_role("img", name=f"{STRAWBERRY_TITLE} 直播海报")).to_be_visible()
    await page.wait_for_function("() => { const img = document.querySelector('img.poster'); return img.complete && img.naturalWidth > 0; }")
    assert await page.evaluate("() => document.querySelector('img.poster').naturalWidth") == 750  # the poster itself
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 375
    await phone.shoot("kits")

    async with page.expect_download() as downloading:
        await card.get_by_role("link", name="下载海报").click()
    download = await downloading.value
    assert download.suggested_filename == f"kit-{kit.session_id}-{kit.invite_code}.png"
    poster = Path(await download.path()).read_bytes()
    assert scan(poster) == invite_codes.invite_link(base_url=ctx.settings.public_base_url, code=kit.invite_code)

    await card.get_by_role("button", name="复制文案").click()
    await expect(card.get_by_test_id("kit-copied")).to_have_text("复制成功，去微信粘贴吧")
    copied = await page.evaluate("() => navigator.clipboard.readText()")
    assert copied == kit.copy_text and "云顶华府邻居专享价" in copied and kit.invite_link in copied
    await phone.shoot("copied")
    assert phone.foreign_requests() == []
    assert phone.console_errors == []
