"""The dashboard and the report in headless Chromium, at desktop and phone width.

Checks what only a browser shows: every chart label lies whole inside its chart, no heading is
repeated by its chart, the page does not scroll sideways on a phone. Screenshots go to
tests/artifacts/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page
from redis.asyncio import Redis

from bot.dashboard.period import today
from bot.models import Group, GroupKind
from bot.quiz.bank import TRUE_FALSE, Question
from bot.quiz.stats import record_answer
from bot.settings import Settings
from bot.store import reach
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure, Unique
from tests.support.browser import ARTIFACTS, chromium
from tests.support.console import PASSWORD, make_user

WIDTHS = {"desktop": 1100, "phone": 390}
GROUPS = (
    Group("g-a", "幸福村村民群", GroupKind.VILLAGE, "城关镇/幸福村", 100),
    Group("g-b", "东街社区群", GroupKind.ELDERLY, "城关镇/东街社区", 50),
    Group("sim-village", "实验小学家长群", GroupKind.PARENTS, "城关镇/实验小学", 80),
)
# Every text of every chart must lie inside the chart's own box.
_CLIPPED = """() => [...document.querySelectorAll('svg.chart')].flatMap(svg => {
  const box = svg.viewBox.baseVal;
  return [...svg.querySelectorAll('text')].filter(t => {
    const b = t.getBBox();
    return b.x < box.x - 0.5 || b.x + b.width > box.x + box.width + 0.5 || b.y < box.y - 0.5;
  }).map(t => t.textContent);
})"""

_CHART_TEXTS = "() => [...document.querySelectorAll('svg.chart text')].map(t => t.textContent)"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless Chromium (no browser download)."""
    async with chromium() as launched:
        yield launched


async def _seed(client: TestClient[Any, Any], redis: Redis, settings: Settings) -> None:
    day = today(settings.timezone)
    for group in GROUPS:
        await GroupRegistry(redis).put(group)
    async with redis.pipeline(transaction=False) as pipe:
        for group, readers in zip(GROUPS, (60, 20, 5), strict=True):
            reach.record(pipe, day, group, Measure.PUSHES_SENT, 3)
            for n in range(readers):
                reach.record(pipe, day, group, Measure.VIEWS)
                reach.record_unique(pipe, day, group, Unique.READERS, f"{group.id}-{n}")
        await pipe.execute()
    question = Question("q", "truefalse", "题目", TRUE_FALSE, 0, "", "zhengxin", ("all",), "easy")
    for n in range(12):
        await record_answer(redis, day, GROUPS[0], f"m{n}", question, n % 3 == 0)
    asked = {
        "group": "sim-village",
        "user": "王五",
        "text": "@反诈助手 说要注销校园贷，不然影响征信",
    }
    assert (await client.post("/api/sim/messages", json=asked)).status == 200


async def _open(browser: Browser, client: TestClient[Any, Any], width: int) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    await page.goto(str(client.make_url("/console/login")))
    await page.fill("input[name=name]", "zhang")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    return page


@pytest.mark.parametrize("width", WIDTHS)
async def test_dashboard_and_report_render_whole(
    browser: Browser, client: TestClient[Any, Any], redis: Redis, settings: Settings, width: str
) -> None:
    await _seed(client, redis, settings)
    await make_user(redis, "zhang", "officer", "张警官")
    page = await _open(browser, client, WIDTHS[width])
    month = today(settings.timezone).strftime("%Y-%m")
    for name, path in (
        ("dashboard", "/console/dashboard"),
        ("report", f"/console/report?month={month}"),
    ):
        await page.goto(str(client.make_url(path)))
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        assert await page.evaluate(_CLIPPED) == [], name
        sideways = await page.evaluate("document.scrollingElement.scrollWidth - innerWidth")
        assert sideways <= 0, f"{name} scrolls {sideways}px sideways"
        headings = await page.locator("h3").all_inner_texts()
        drawn = await page.evaluate(_CHART_TEXTS)
        assert headings.count("群众问得最多的骗局") == 1 and not set(headings) & set(drawn), name
        assert "虚假征信及注销校园贷诈骗" in drawn, name
        assert await page.locator("svg.chart").count() >= 3, name
