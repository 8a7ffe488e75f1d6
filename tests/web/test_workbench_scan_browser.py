"""扫码核销 in Chromium at phone width: 小李 opens the parcels page, taps 「扫码核销」 and the camera — a fake one
playing a Y4M video of the neighbour's pickup QR (made here, as `linli.qrcodes` draws it) — reads the code,
fills the field and submits the 核销 form. And scan.js's decoder on its own: a QR image in, its text out."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image
from playwright.async_api import expect

from linli import qrcodes
from linli.accounts import service as accounts
from linli.fulfillment.models import Parcel
from linli.web.visitor import SESSION_COOKIE
from tests.web.browser import Phone, browser_with_camera, open_phone
from tests.web.workbench_scene import XIAOLI_PHONE, arrived_parcels, load

WIDTH, HEIGHT, FRAMES = 640, 480, 5


def qr_y4m(text: str, path: Path) -> Path:
    """A short Y4M video (4:2:0, the only layout Chromium's fake camera reads) of the QR on a white frame."""
    symbol = Image.open(io.BytesIO(qrcodes.qr_png(text, scale=10))).convert("L")
    side = min(HEIGHT - 40, symbol.width)
    frame = Image.new("RGB", (WIDTH, HEIGHT), "white")
    frame.paste(symbol.resize((side, side), Image.NEAREST).convert("RGB"), ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    chroma = [plane.resize((WIDTH // 2, HEIGHT // 2), Image.BOX).tobytes() for plane in (cb, cr)]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(b"FRAME\n" + y.tobytes() + chroma[0] + chroma[1])
    return path


async def xiaolis_cookie(ctx) -> dict:
    async with ctx.db.transaction() as s:
        user = await accounts.find_user_by_phone(session=s, phone=XIAOLI_PHONE)
        issued = await accounts.issue_token(session=s, settings=ctx.settings, user=user, method="sms", now=ctx.clock.now())
    return {"name": SESSION_COOKIE, "value": issued.token}


async def test_xiaoli_verifies_a_pickup_by_scanning_its_qr(ctx, live_server, backend, tmp_path):
    demo = await load(ctx)
    [parcel, *_] = await arrived_parcels(ctx, demo.xiaoli_community_id)
    video = qr_y4m(parcel.pickup_code, tmp_path / "pickup-qr.y4m")  # what the neighbour's order page shows
    async with browser_with_camera(video) as chromium:
        phone = await open_phone(chromium, live_server, f"test_xiaoli_verifies_a_pickup_by_scanning_its_qr-{backend}")
        page = phone.page
        await page.context.add_cookies([{**await xiaolis_cookie(ctx), "url": live_server}])
        await phone.open(f"/brands/{demo.brand_id}/leader/parcels")
        row = page.get_by_test_id(f"parcel-{parcel.id}")
        await expect(row.get_by_test_id("parcel-status")).to_have_text("待提货")
        scan = page.get_by_role("button", name="扫码核销")
        await expect(scan).to_be_visible()
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        await phone.shoot("parcels")
        await scan.click()
        await expect(page.get_by_test_id("pickup-result")).to_contain_text("已提货", timeout=20_000)
        await expect(row.get_by_test_id("parcel-status")).to_have_text("已提货")
        await phone.shoot("scanned-and-verified")
        # The camera's stream was asked for the rear camera, and the code went through the ordinary form.
        assert any(url.endswith("/static/vendor/jsqr/jsQR.js") for url in phone.requests)  # no BarcodeDetector here
        assert phone.foreign_requests() == [] and phone.console_errors == []
    async with ctx.db.read() as s:
        done = await s.get(Parcel, parcel.id)
    assert done.status == "picked_up" and done.picked_up_at is not None


async def test_scan_js_decodes_a_qr_image_and_takes_only_a_pickup_code(phone: Phone, ctx):
    demo = await load(ctx)
    await phone.page.context.add_cookies([{**await xiaolis_cookie(ctx), "url": phone.base_url}])
    await phone.open(f"/brands/{demo.brand_id}/leader/parcels")
    decode = """async (src) => {
        const image = new Image();
        image.src = src;
        await image.decode();
        const text = await window.linliScan.decodeImage(image);
        return [text, window.linliScan.codeFrom(text)];
    }"""
    for text, code in (("482913", "482913"), ("https://linli.example/i/QF6HKW28", None)):
        png = "data:image/png;base64," + base64.b64encode(qrcodes.qr_png(text)).decode()
        assert await phone.page.evaluate(decode, png) == [text, code]
    blank = "data:image/png;base64," + base64.b64encode(_white_png()).decode()
    assert await phone.page.evaluate(decode, blank) == [None, None]
    assert phone.console_errors == []


def _white_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(buffer, format="PNG")
    return buffer.getvalue()
