"""The console in headless Chromium: the app on a loopback port, a fresh page, screenshots.

The browser is Debian's chromium driven by Playwright (no download); screenshots go to
tests/artifacts/. tests/console/conftest.py turns the two generators into fixtures.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright
from redis.asyncio import Redis

from bot.app import create_app, register_demo_groups
from bot.channels.simulator import Simulator
from bot.library import Library
from bot.settings import Settings
from bot.store.groups import GroupRegistry
from tests.support.console import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve_app(settings: Settings, library: Library, redis: Redis) -> AsyncIterator[str]:
    """Serve the whole app on a loopback port with the demo groups registered."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(replace(settings, port=port, public_url=url), library)
    await register_demo_groups(GroupRegistry(redis), Simulator())
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield url
    await runner.cleanup()


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Start headless Chromium; fail the test, naming the package, when it is missing."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (see .ci/run)")
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def open_page() -> AsyncIterator[Page]:
    """A fresh headless Chromium page at desktop width."""
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1100, "height": 900})
        yield await context.new_page()


async def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot as tests/artifacts/<name>.png."""
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def log_in_page(page: Page, base: str, name: str) -> None:
    """Log `name` in through the console's login form."""
    await page.context.clear_cookies()
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
