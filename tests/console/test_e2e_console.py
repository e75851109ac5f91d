"""End to end in headless Chromium: write, approve, deliver, read, acknowledge, count.

The real app runs on a loopback port over the test Redis; accounts are made by the same code
`fanzha user add` uses; the browser is Debian's chromium driven by Playwright (no download).
Screenshots of every step go to tests/artifacts/.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp import web
from playwright.async_api import Page, expect
from redis.asyncio import Redis

from bot.app import create_app, register_demo_groups
from bot.channels.simulator import Simulator
from bot.library import Library
from bot.settings import Settings
from bot.store.groups import GroupRegistry
from tests.support.browser import ARTIFACTS, chromium
from tests.support.console import PASSWORD, make_user

TITLE = "紧急提醒：冒充快递客服“理赔”骗局"
DELIVERY_TIMEOUT_MS = 30_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def base_url(settings: Settings, library: Library, redis: Redis) -> AsyncIterator[str]:
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


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    """A fresh headless Chromium page."""
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1100, "height": 900})
        yield await context.new_page()


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def _log_in(page: Page, base: str, name: str) -> None:
    await page.context.clear_cookies()
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")


async def _card(page: Page, label: str) -> int:
    value = page.locator(".cards .card", has=page.locator(".label", has_text=label)).locator(
        ".value"
    )
    return int(await value.first.inner_text())


async def test_alert_from_draft_to_receipt(base_url: str, page: Page, redis: Redis) -> None:
    await make_user(redis, "zhang", "officer", "张警官")
    await make_user(redis, "wang", "reviewer", "王所长")

    # The officer drafts an alert for every village group and submits it.
    await _log_in(page, base_url, "zhang")
    await expect(page.locator("h1")).to_have_text("内容队列")
    await _shot(page, "01-officer-queue")
    await page.click("text=写新内容")
    await page.fill("input[name=title]", TITLE)
    await page.fill("textarea[name=summary]", "有人冒充快递客服说包裹丢了要理赔，骗你开通借款。")
    await page.fill(
        "textarea[name=body]",
        "# 怎么识别\n\n- 理赔不需要开通任何借款\n- 不要共享屏幕\n\n拿不准就打 96110 问问。",
    )
    await page.check("input[name=kinds][value=village]")
    await page.select_option("select[name=receipt]", "simple")
    await page.check("input[name=urgent]")
    await _shot(page, "02-officer-draft")
    await page.click("text=保存草稿")
    await expect(page.locator(".state")).to_have_text("草稿")
    await page.click("button:has-text('提交审核')")
    await expect(page.locator(".state")).to_have_text("待审核")
    item_url = page.url
    await _shot(page, "03-submitted")

    # The reviewer approves it and sends it now; the dashboard shows the "before" figures.
    await _log_in(page, base_url, "wang")
    await page.goto(f"{base_url}/console/dashboard")
    views_before, receipts_before = await _card(page, "阅读次数"), await _card(page, "回执")
    await _shot(page, "04-dashboard-before")
    await page.goto(item_url)
    await page.fill("input[name=comment]", "核实无误，立即发")
    await page.click("button:has-text('审核通过')")
    await expect(page.locator(".state")).to_have_text("已通过")
    await page.click("button:has-text('立即发送')")
    await expect(page.locator(".confirm")).to_contain_text("将发送给 1 个群")
    await _shot(page, "05-confirm-send")
    await page.click("button:has-text('确认发送')")
    await expect(page.locator(".state")).to_have_text("已发送")
    await _shot(page, "05-sent")
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await page.goto(f"{base_url}/console")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await _shot(page, "05-phone-queue")
    await page.set_viewport_size({"width": 1100, "height": 900})

    # The push arrives in the simulator's village group as an article card.
    await page.goto(f"{base_url}/sim")
    await page.click("button[data-group=sim-village]")
    card = page.locator("a.news-card", has_text=TITLE)
    await expect(card).to_be_visible(timeout=DELIVERY_TIMEOUT_MS)
    await _shot(page, "06-sim-delivered")
    link = await card.get_attribute("href")
    assert link and re.match(rf"{re.escape(base_url)}/a/console/\d+\?g=", link)

    # A resident opens the article and presses the receipt button.
    await page.goto(link)
    await expect(page.locator("h1")).to_contain_text("冒充快递客服")
    await page.click("button:has-text('我已阅读')")
    await expect(page.locator("text=已收到您的回执")).to_be_visible()
    await _shot(page, "07-article-receipt")

    # The dashboard counts the view and the receipt.
    await page.goto(f"{base_url}/console/dashboard")
    await _shot(page, "08-dashboard-after")
    assert await _card(page, "阅读次数") > views_before
    assert await _card(page, "回执") == receipts_before + 1
