"""回执 per class of the letter to parents: dashboard, report, xlsx and a teacher's own page."""

from __future__ import annotations

import io
import re
from typing import Any

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from redis.asyncio import Redis

from bot.articles import links
from bot.articles.store import ArticleStore
from bot.console.sessions import COOKIE, open_session
from bot.console.users import UserStore
from bot.dashboard.letters import class_order
from bot.library import Library
from bot.models import Group
from tests.support.articles import LETTER, PARENTS, PARENTS_B, VILLAGE, register, today, token_in

Client = TestClient[Any, Any]
# (group, class typed by the parent): li owns both parents' groups, zhao none of them.
RECEIPTS = ((PARENTS, "三年级2班"), (PARENTS, "三年级２班"), (PARENTS, "三年级10班"),
            (PARENTS_B, "四年级1班"))  # fmt: skip


async def _receipt(client: Client, redis: Redis, group: Group, school_class: str) -> None:
    """Send one parent's receipt through the real page, as a new reader."""
    client.session.cookie_jar.clear()
    code = await links.code_for(redis, group.id, forwarder="li")
    page = await client.get(f"/a/{LETTER.id}?g={code}")
    token = token_in(await page.text())
    done = await client.post(
        f"/a/{LETTER.id}/receipt?g={code}", data={"token": token, "school_class": school_class}
    )
    assert done.status == 200


async def _login(client: Client, redis: Redis, name: str, role: str) -> dict[str, str]:
    await UserStore(redis).add(name, role, f"测试{role}", "a-long-password")
    return {"Cookie": f"{COOKIE}={(await open_session(redis, name)).token}"}


def _rows(html: str) -> list[tuple[str, str]]:
    section = html.split("家长信回执（按班级）")[1]
    return re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td></tr>", section)


async def _seed(client: Client, redis: Redis, library: Library) -> None:
    await ArticleStore(library, redis).publish(LETTER)
    await register(redis, PARENTS, PARENTS_B, VILLAGE)
    for group, school_class in RECEIPTS:
        await _receipt(client, redis, group, school_class)


async def test_receipts_by_class_on_dashboard_report_and_xlsx(
    client: Client, redis: Redis, library: Library
) -> None:
    await _seed(client, redis, library)
    officer = await _login(client, redis, "officer-wang", "officer")
    month = today().strftime("%Y-%m")
    expected = [("三年级2班", "2"), ("三年级10班", "1"), ("四年级1班", "1")]
    for url in ("/console/dashboard", f"/console/report?month={month}&region=城关镇"):
        html = await (await client.get(url, headers=officer)).text()
        assert "致家长的一封信：共 4 份回执" in html, url
        assert _rows(html)[:3] == expected, url
    response = await client.get(f"/console/report.xlsx?month={month}", headers=officer)
    book = load_workbook(io.BytesIO(await response.read()))
    rows = list(book["家长信回执"].iter_rows(values_only=True))
    assert rows[0] == ("家长信", "班级", "回执")
    assert rows[1:] == [("致家长的一封信", name, int(count)) for name, count in expected]


async def test_a_teacher_sees_the_classes_of_their_own_group_only(
    client: Client, redis: Redis, library: Library
) -> None:
    await _seed(client, redis, library)
    teacher = await _login(client, redis, "li", "forwarder")
    page = await client.get(f"/console/groups/view?id={PARENTS.id}", headers=teacher)
    html = await page.text()
    assert "致家长的一封信：共 3 份回执" in html
    assert _rows(html) == [("三年级2班", "2"), ("三年级10班", "1")]
    other = await _login(client, redis, "zhao", "forwarder")
    refused = await client.get(f"/console/groups/view?id={PARENTS.id}", headers=other)
    assert refused.status == 404


def test_classes_sort_by_their_numbers() -> None:
    names = ["三年级10班", "三年级2班", "初一(3)班", "三年级1班"]
    assert sorted(names, key=class_order) == ["三年级1班", "三年级2班", "三年级10班", "初一(3)班"]
