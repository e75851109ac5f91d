"""Teaching the bot from what it missed: propose, review, live on every instance, export."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.answers.content import parse_entry
from bot.app import create_app
from bot.appkeys import SERVICE
from bot.channels.simulator import PRIVATE, Simulator
from bot.library import Library
from bot.models import Reply
from bot.settings import Settings
from bot.store import keys
from tests.support.console import log_in, make_user

Client = TestClient[Any, Any]
MISSED = "有人叫我买星链积分说一个月翻三倍"
DRAFT = {
    "id": "xinglian",
    "name": "虚假星链积分诈骗",
    "short": "星链积分",
    "aliases": "星链积分骗局",
    "triggers": "星链积分\n积分翻倍\n买积分稳赚",
    "summary": "骗子说买“星链积分”稳赚翻倍，其实是个提不了现的假盘子。",
    "how": "先拉人进群晒收益，再让你充值买积分，最后关网跑路。",
    "example": "老李被拉进一个群，充了两万元买积分，一周后平台打不开了。",
    "red_flags": "承诺稳赚翻倍\n只能在陌生APP里充值",
    "prevention": "不信高收益\n不下载陌生理财APP",
    "if_scammed": "立刻停止转账，拨打110报警\n马上打银行客服电话申请止付\n保留聊天和转账记录",
}


async def _seed_missed(redis: Redis, *texts: str) -> None:
    """Log unanswered questions the way the chat service does."""
    for text in texts:
        fields = {"text": text, "channel": "simulator", "group": "", "kind": "private",
                  "region": "", "member": "m", "day": "20261203"}  # fmt: skip
        await redis.xadd(keys.UNMATCHED_LOG, fields)


async def _ask(client: Client, text: str) -> Reply | None:
    message = Simulator().parse({"group": PRIVATE, "user": "王大爷", "text": text})
    reply: Reply | None = await client.app[SERVICE].handle(message)
    return reply


async def _answered_with(client: Client, text: str, topic: str, within: float = 15.0) -> bool:
    """Ask until the bot answers `text` with `topic` (the reload is polled), or give up."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        reply = await _ask(client, f"{text} {time.monotonic()}")
        if reply is not None and reply.topic == topic:
            return True
        await asyncio.sleep(0.3)
    return False


def _open_rows(page: str) -> list[tuple[str, str]]:
    """Return (question, times) for each row of the unanswered list."""
    table = page.split("<h2>提交的修改</h2>")[0]
    row = r'<td data-label="原话">([^<]*)</td>\s*<td data-label="次数">(\d+)</td>'
    return re.findall(row, table)


async def _officers(redis: Redis) -> None:
    await make_user(redis, "zhang", "officer", "张警官")
    await make_user(redis, "wang", "reviewer", "王审核")


async def test_the_list_folds_repeats_and_hides_digits(client: Client, redis: Redis) -> None:
    await _officers(redis)
    await _seed_missed(redis, MISSED, MISSED, "123", "？？", "1")
    await log_in(client, "zhang")
    page = await (await client.get("/console/lessons")).text()
    assert _open_rows(page) == [(MISSED, "2")]


async def test_a_trigger_goes_live_on_every_instance_once_approved(
    client: Client, aiohttp_client: Any, settings: Settings, library: Library, redis: Redis
) -> None:
    other = await aiohttp_client(create_app(settings, library))
    await _officers(redis)
    await _seed_missed(redis, MISSED)
    token = await log_in(client, "zhang")
    form = {"csrf_token": token, "action": "trigger", "text": MISSED, "entry": "touzi",
            "phrase": "星链积分"}  # fmt: skip
    proposed = await client.post("/console/lessons", data=form, allow_redirects=False)
    assert proposed.status == 302
    page = await (await client.get("/console/lessons")).text()
    assert "待审核" in page and _open_rows(page) == []
    refused = await client.post(
        "/console/lessons/decide", data={"csrf_token": token, "id": "1", "decision": "approve"}
    )
    assert refused.status == 403  # an officer cannot approve
    token = await log_in(client, "wang")
    approved = await client.post(
        "/console/lessons/decide",
        data={"csrf_token": token, "id": "1", "decision": "approve"},
        allow_redirects=False,
    )
    assert approved.status == 302
    assert await _answered_with(other, "星链积分", "touzi")
    assert await _answered_with(client, "星链积分", "touzi")


async def test_a_bad_trigger_is_refused_with_a_reason(client: Client, redis: Redis) -> None:
    await _officers(redis)
    token = await log_in(client, "zhang")
    for entry, phrase in (("nosuch", "星链积分"), ("touzi", "1"), ("touzi", "刷单")):
        form = {"csrf_token": token, "action": "trigger", "text": MISSED, "entry": entry,
                "phrase": phrase}  # fmt: skip
        response = await client.post("/console/lessons", data=form)
        assert response.status == 400
    assert await redis.hlen(keys.LESSONS) == 0


async def test_chatter_leaves_the_list_and_comes_back_if_returned(
    client: Client, redis: Redis
) -> None:
    await _officers(redis)
    await _seed_missed(redis, "明天村里几点开会")
    token = await log_in(client, "zhang")
    form = {"csrf_token": token, "action": "chatter", "text": "明天村里几点开会"}
    await client.post("/console/lessons", data=form)
    page = await (await client.get("/console/lessons")).text()
    assert _open_rows(page) == []
    token = await log_in(client, "wang")
    await client.post(
        "/console/lessons/decide", data={"csrf_token": token, "id": "1", "decision": "reject"}
    )
    page = await (await client.get("/console/lessons")).text()
    assert _open_rows(page) == [("明天村里几点开会", "1")]


async def test_a_new_entry_is_checked_like_content_then_answers_and_exports(
    client: Client, redis: Redis, tmp_path: Path
) -> None:
    await _officers(redis)
    token = await log_in(client, "zhang")
    missing_110 = {**DRAFT, "if_scammed": "保留聊天记录"}
    bad = await client.post(
        "/console/lessons/entries", data={"csrf_token": token, **missing_110, "text": MISSED}
    )
    assert bad.status == 400 and "110" in await bad.text()
    good = await client.post(
        "/console/lessons/entries",
        data={"csrf_token": token, **DRAFT, "text": MISSED, "audiences": "elderly"},
        allow_redirects=False,
    )
    assert good.status == 302
    token = await log_in(client, "wang")
    await client.post(
        "/console/lessons/decide", data={"csrf_token": token, "id": "1", "decision": "approve"}
    )
    assert await _answered_with(client, "积分翻倍是不是骗人的", "xinglian")
    exported = await (await client.get("/console/lessons/export")).text()
    (document,) = [d for d in exported.split("---\n") if "xinglian" in d]
    path = tmp_path / "xinglian.yaml"
    path.write_text(document, encoding="utf-8")
    entry, problems = parse_entry(path)
    assert problems == [] and entry is not None and "积分翻倍" in entry.triggers
    assert yaml.safe_load(document)["audiences"] == ["elderly"]
