"""The console's outbox page: held deliveries with their reason, requeued by an officer."""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.articles.store import ArticleStore
from bot.channels.wecom_robot import RobotClient, RobotConfig
from bot.console import audit
from bot.library import Library
from bot.models import Delivery
from bot.push.outbox import Outbox
from bot.push.outbox.worker import Worker
from bot.push.senders import Senders
from bot.settings import Settings
from bot.store.groups import GroupRegistry
from bot.store.ratelimit import RateLimiter
from tests.support.console import log_in, make_user
from tests.support.outbox import FAST, died_mid_post, robot_group, running, settle

PUSH = Delivery("alert:cut", "robot-test", body="紧急预警：冒充公检法")


async def _held(redis: Redis, library: Library, settings: Settings) -> None:
    """Hold PUSH as a hold-policy sender does after its sender died mid-post (nothing posted)."""
    await GroupRegistry(redis).put(robot_group())
    await died_mid_post(redis, PUSH)
    outbox = Outbox(redis)
    async with aiohttp.ClientSession() as session:
        robot = RobotClient(session, RateLimiter(redis), RobotConfig(api_base="http://127.0.0.1:9"))
        senders = Senders(redis, GroupRegistry(redis), ArticleStore(library, redis), robot,
                          settings.base_url, settings.timezone)  # fmt: skip
        async with running(Worker(redis, senders, dataclasses.replace(FAST, uncertain="hold"))):
            await settle(lambda: _state_is(outbox, "held"))


async def test_an_officer_sees_why_a_push_is_held_and_sends_it_again(
    client: TestClient[Any, Any], redis: Redis, library: Library, settings: Settings
) -> None:
    await _held(redis, library, settings)
    await make_user(redis, "reviewer-li", "reviewer")
    await make_user(redis, "officer-wang", "officer")
    await log_in(client, "reviewer-li")
    page = await (await client.get("/console/outbox")).text()
    assert "待核实的推送（1）" in page and PUSH.key in page
    assert "无法确定企业微信是否已把第 1 条消息发到群里" in page
    assert "核实未收到，重新发送" not in page  # a reviewer only reads

    token = await log_in(client, "officer-wang")
    missing = await client.post("/console/outbox/requeue",
                                data={"csrf_token": token, "key": "no-such-key"})  # fmt: skip
    assert missing.status == 400 and "没有找到待核实或已停发的推送" in await missing.text()
    form = {"csrf_token": token, "key": PUSH.key}
    sent = await client.post("/console/outbox/requeue", data=form,
                             allow_redirects=False)  # fmt: skip
    assert sent.status == 302
    assert await Outbox(redis).held() == []
    assert await Outbox(redis).state(PUSH.group_id, PUSH.key) != "held"
    [entry] = [e for e in await audit.recent(redis, 10) if e.action == "outbox-requeue"]
    assert (entry.user, entry.subject) == ("officer-wang", PUSH.key)


async def _state_is(outbox: Outbox, state: str) -> bool:
    return await outbox.state(PUSH.group_id, PUSH.key) == state
