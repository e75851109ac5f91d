"""Console dashboard and report pages: roles, pickers, escaping, numbers that follow activity."""

from __future__ import annotations

import io
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from redis.asyncio import Redis

from bot.console.sessions import COOKIE, open_session
from bot.console.users import UserStore
from bot.dashboard.period import today
from bot.models import Group, GroupKind
from bot.settings import Settings
from bot.store import reach
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure, Unique

XSS_REGION = "城关镇/<img src=x onerror=alert(1)>村"
XSS_QUESTION = "<script>alert('x')</script>这是什么骗局"
GROUPS = (
    Group("g-a", "幸福村村民群", GroupKind.VILLAGE, "城关镇/幸福村", 100),
    Group("g-b", "东街社区群", GroupKind.ELDERLY, "城关镇/东街社区", 50),
    Group("g-c", "新河村村民群", GroupKind.VILLAGE, "城关镇/新河村", 80),
    Group("g-d", "石桥村村民群", GroupKind.VILLAGE, "城关镇/石桥村", 0),
    Group("g-x", "怪名字村", GroupKind.VILLAGE, XSS_REGION, 40),
    Group("sim-village", "幸福村模拟群", GroupKind.VILLAGE, "城关镇/幸福村", 20),
)


async def login(client: TestClient[Any, Any], redis: Redis, role: str) -> dict[str, str]:
    """Create an account with `role`, open a real session, and return its cookie header."""
    await UserStore(redis).add(f"u-{role}", role, f"测试{role}", "a-long-password")
    session = await open_session(redis, f"u-{role}")
    return {"Cookie": f"{COOKIE}={session.token}"}


async def seed(redis: Redis, settings: Settings) -> None:
    """Register the groups and record a day of reach through the real recording functions."""
    day = today(settings.timezone)
    for group in GROUPS:
        await GroupRegistry(redis).put(group)
    async with redis.pipeline(transaction=False) as pipe:
        for group, readers in zip(GROUPS, (60, 10, 5, 3, 2, 0), strict=True):
            reach.record(pipe, day, group, Measure.PUSHES_SENT, 2)
            for n in range(readers):
                reach.record(pipe, day, group, Measure.VIEWS)
                reach.record_unique(pipe, day, group, Unique.READERS, f"{group.id}-{n}")
                reach.record(pipe, day, group, Measure.RECEIPTS)
        await pipe.execute()


def card(label: str, value: int) -> str:
    """Return the HTML of a dashboard card showing `value`."""
    return f'<div class="label">{label}</div><div class="value">{value}</div>'


async def page(client: TestClient[Any, Any], url: str, cookie: dict[str, str]) -> tuple[int, str]:
    response = await client.get(url, headers=cookie, allow_redirects=False)
    return response.status, await response.text()


async def test_dashboard_shows_the_numbers_and_ranking(
    client: TestClient[Any, Any], redis: Redis, settings: Settings
) -> None:
    await seed(redis, settings)
    cookie = await login(client, redis, "officer")
    status, html = await page(client, "/console/dashboard?region=城关镇", cookie)

    assert status == 200
    assert "<svg" in html and "每日趋势" in html
    assert card("推送成功", 12) in html  # 6 groups x 2
    assert card("阅读次数", 80) in html  # 60+10+5+3+2
    assert card("回执", 80) in html
    rows = html.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    assert "幸福村" in rows[0] and "倒数三名" not in rows[0]
    assert all("倒数三名" in row for row in rows[-3:])
    assert "石桥村" in rows[-1] and "未填人数" in rows[-1]


async def test_questions_and_region_names_are_escaped(
    client: TestClient[Any, Any], redis: Redis, settings: Settings
) -> None:
    await seed(redis, settings)
    response = await client.post(
        "/api/sim/messages",
        json={"group": "sim-village", "user": "王五", "text": f"@反诈助手 {XSS_QUESTION}"},
    )
    assert response.status == 200
    cookie = await login(client, redis, "reviewer")
    status, html = await page(client, "/console/dashboard?region=城关镇", cookie)

    assert status == 200
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;这是什么骗局" in html
    assert "<script>alert" not in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;村" in html


@pytest.mark.parametrize(
    "query",
    ["period=7d", "period=last-month", "period=custom&start=2026-11-01&end=2026-11-30", ""],
)
async def test_period_picker(
    client: TestClient[Any, Any], redis: Redis, settings: Settings, query: str
) -> None:
    await seed(redis, settings)
    cookie = await login(client, redis, "admin")
    status, html = await page(client, f"/console/dashboard?{query}", cookie)
    assert status == 200 and "数据看板" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=yesterday", "不认识这个时间段"),
        ("period=custom&start=2026-11-30&end=2026-11-01", "结束日期不能早于开始日期"),
        ("period=custom&start=2026-13-01&end=2026-11-01", "日期写得不对"),
        ("period=custom&start=2020-01-01&end=2026-11-01", "最长"),
        ("region=不存在镇", "没有登记过"),
    ],
)
async def test_bad_picks_get_a_chinese_error(
    client: TestClient[Any, Any], redis: Redis, settings: Settings, query: str, message: str
) -> None:
    await seed(redis, settings)
    cookie = await login(client, redis, "officer")
    status, html = await page(client, f"/console/dashboard?{query}", cookie)
    assert status == 400 and message in html


async def test_dashboard_follows_activity(
    client: TestClient[Any, Any], redis: Redis, settings: Settings
) -> None:
    await seed(redis, settings)
    cookie = await login(client, redis, "officer")
    _, before = await page(client, "/console/dashboard?region=城关镇/新河村", cookie)
    async with redis.pipeline(transaction=False) as pipe:
        reach.record(pipe, today(settings.timezone), GROUPS[2], Measure.RECEIPTS, 1000)
        await pipe.execute()
    _, after = await page(client, "/console/dashboard?region=城关镇/新河村", cookie)
    assert card("回执", 5) in before and card("回执", 1005) in after


async def test_roles(client: TestClient[Any, Any], redis: Redis, settings: Settings) -> None:
    await seed(redis, settings)
    anonymous = await client.get("/console/dashboard", allow_redirects=False)
    assert anonymous.status in (302, 303) and "/console/login" in anonymous.headers["Location"]
    forwarder = await login(client, redis, "forwarder")
    for url in ("/console/dashboard", "/console/report?month=2026-11", "/console/report.xlsx"):
        status, _ = await page(client, url, forwarder)
        assert status == 403, url


async def test_report_page_print_and_download(
    client: TestClient[Any, Any], redis: Redis, settings: Settings
) -> None:
    await seed(redis, settings)
    cookie = await login(client, redis, "officer")
    month = today(settings.timezone).strftime("%Y-%m")
    status, html = await page(client, f"/console/report?month={month}&region=城关镇", cookie)
    assert status == 200 and "反诈宣传工作情况" in html and "report.xlsx?" in html
    assert "倒数三名" in html

    status, printable = await page(
        client, f"/console/report?month={month}&region=城关镇&print=1", cookie
    )
    assert status == 200 and "@media print" in printable and "<nav" not in printable

    response = await client.get(
        f"/console/report.xlsx?month={month}&region=城关镇", headers=cookie
    )
    assert response.status == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(await response.read()))
    figures = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True) if row[0]}
    assert figures[Measure.PUSHES_SENT.label] == 12  # six groups, the oddly named one included
    assert figures[Measure.VIEWS.label] == 80


@pytest.mark.parametrize("query", ["month=2026-13", "month=abc", "month=2026-11&region=无此镇"])
async def test_report_bad_input(
    client: TestClient[Any, Any], redis: Redis, settings: Settings, query: str
) -> None:
    await seed(redis, settings)
    cookie = await login(client, redis, "officer")
    for url in (f"/console/report?{query}", f"/console/report.xlsx?{query}"):
        status, text = await page(client, url, cookie)
        assert status == 400 and ("月份" in text or "没有登记过" in text), url
