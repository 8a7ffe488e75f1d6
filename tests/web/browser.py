"""Browser tests: linli served for real on a free loopback port, Debian's Chromium driven by Playwright.

The server runs on the test's own event loop (uvicorn's `Server.serve` as a task), so it shares the test's
`ctx`, database and clock on both backends, exactly as the HTTP tests do. Chromium is /usr/bin/chromium (never
a downloaded browser): when it is missing the tests fail, they never skip. Every request the browser makes is
recorded, and each test saves screenshots to test-artifacts/screenshots/<test>-<backend>-<step>.png.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from linli.app import create_app
from linli.context import AppContext

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1280, "height": 900}  # brand staff work on a desktop browser


@pytest.fixture
async def live_server(ctx: AppContext) -> AsyncIterator[str]:
    app = create_app(ctx, dispose_on_shutdown=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # lifespan off: no in-process worker; the tests drive the services themselves, as the HTTP tests do.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped the server
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving
    sock.close()


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is required for the browser tests ({CHROMIUM}); install the Debian package chromium")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        await chromium.close()


@asynccontextmanager
async def browser_with_camera(video: Path) -> AsyncIterator[Browser]:
    """A Chromium of its own whose camera plays `video` (a .y4m or .mjpeg file, looped), with camera access
    granted without a prompt. Its own launch, because the camera is a launch argument: other tests keep theirs."""
    require_chromium()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={video}"],
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class Phone:
    """One browser context (phone width, or desktop for `desk`), with the requests it made and a screenshot helper."""

    page: Page
    base_url: str
    shot_prefix: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)  # script errors, refused loads, CSP violations

    async def open(self, path: str) -> None:
        await self.page.goto(self.base_url + path)

    async def shoot(self, step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.shot_prefix}-{step}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    def foreign_requests(self) -> list[str]:
        own = urlsplit(self.base_url).netloc
        return [url for url in self.requests if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != own]


async def open_phone(browser: Browser, base_url: str, shot_prefix: str) -> Phone:
    return await _open(
        browser, base_url, shot_prefix, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )


async def open_desk(browser: Browser, base_url: str, shot_prefix: str) -> Phone:
    """A browser context at desktop width (staff at a computer), recorded and shot as a phone's is."""
    return await _open(browser, base_url, shot_prefix, viewport=DESK, device_scale_factor=1)


async def _open(browser: Browser, base_url: str, shot_prefix: str, **device: object) -> Phone:
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **device)  # type: ignore[arg-type]
    page = await context.new_page()
    phone = Phone(page=page, base_url=base_url, shot_prefix=shot_prefix)
    context.on("request", lambda request: phone.requests.append(request.url))
    page.on("console", lambda message: phone.console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: phone.console_errors.append(str(error)))
    return phone


@pytest.fixture
async def phone(browser: Browser, live_server: str, request: pytest.FixtureRequest, backend: str) -> Phone:
    return await open_phone(browser, live_server, f"{request.node.originalname}-{backend}")


@pytest.fixture
async def desk(browser: Browser, live_server: str, request: pytest.FixtureRequest, backend: str) -> Phone:
    """The console's browser: a desktop window (1280 × 900), otherwise the same as `phone`."""
    return await open_desk(browser, live_server, f"{request.node.originalname}-{backend}-desk")
