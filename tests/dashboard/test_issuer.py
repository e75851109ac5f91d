"""填报单位, 填报人 and 填报日期: set on the report page, carried by the page, print and xlsx."""

from __future__ import annotations

import io
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from redis.asyncio import Redis

from bot.dashboard import issuer
from bot.models import Group, GroupKind
from bot.store.groups import GroupRegistry
from tests.support.console import log_in, make_user

Client = TestClient[Any, Any]
REPORT = "/console/report?month=2026-11&region=城关镇"
FORM = {"unit": "城关派出所", "compiler": "张警官", "day": "2026-12-03"}


async def _officer(client: Client, redis: Redis, role: str = "officer") -> str:
    await GroupRegistry(redis).put(
        Group("g-1", "幸福村村民群", GroupKind.VILLAGE, "城关镇/幸福村", 10)
    )
    await make_user(redis, f"u-{role}", role)
    return await log_in(client, f"u-{role}")


async def _post(client: Client, token: str, **fields: str) -> Any:
    return await client.post(
        "/console/report/issuer?month=2026-11&region=城关镇",
        data={"csrf_token": token, **fields},
        allow_redirects=False,
    )


async def test_issuer_is_set_once_and_carried_everywhere(client: Client, redis: Redis) -> None:
    token = await _officer(client, redis)
    saved = await _post(client, token, **FORM)
    assert saved.status == 303 and saved.headers["Location"].startswith("/console/report?")

    line = "填报单位：城关派出所　填报人：张警官　填报日期：2026年12月3日"
    for url in (REPORT, f"{REPORT}&print=1"):
        assert line in await (await client.get(url)).text(), url
    workbook = await (await client.get("/console/report.xlsx?month=2026-11")).read()
    rows = {
        r[0]: r[1] for r in load_workbook(io.BytesIO(workbook))["汇总"].iter_rows(values_only=True)
    }
    assert rows["填报单位"] == "城关派出所" and rows["填报人"] == "张警官"
    assert rows["填报日期"].date().isoformat() == "2026-12-03"  # a real date cell


async def test_unset_issuer_says_so_and_dates_today(client: Client, redis: Redis) -> None:
    await _officer(client, redis)
    page = await (await client.get(REPORT)).text()
    assert "填报单位：（未填写）" in page and "设置填报单位" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({**FORM, "unit": "很" * 61}, "填报单位最多"),
        ({**FORM, "compiler": "张\n警官"}, "控制字符"),
        ({**FORM, "day": "12月3日"}, "填报日期写得不对"),
    ],
)
async def test_bad_issuer_is_refused_and_changes_nothing(
    client: Client, redis: Redis, fields: dict[str, str], message: str
) -> None:
    token = await _officer(client, redis)
    assert (await _post(client, token, **FORM)).status == 303
    refused = await _post(client, token, **fields)
    assert refused.status == 400 and message in await refused.text()
    assert await issuer.load(redis) == issuer.parse(**FORM)


async def test_reviewers_read_but_cannot_set_the_issuer(client: Client, redis: Redis) -> None:
    token = await _officer(client, redis, "reviewer")
    assert "设置填报单位" not in await (await client.get(REPORT)).text()
    assert (await _post(client, token, **FORM)).status == 403
    assert await issuer.load(redis) == issuer.Issuer()
