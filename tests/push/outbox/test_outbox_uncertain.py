"""A send in flight when its sender died: resent or held, as OUTBOX_UNCERTAIN says."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.articles.store import ArticleStore
from bot.channels.wecom_robot import RobotClient, RobotConfig
from bot.library import Library
from bot.models import Delivery
from bot.push.outbox import Outbox
from bot.push.outbox.worker import Worker
from bot.push.senders import Senders
from bot.settings import Settings
from bot.store import reach
from bot.store.groups import GroupRegistry
from bot.store.ratelimit import RateLimiter
from bot.store.reach import Measure
from tests.support.outbox import FAST, died_mid_post, robot_group, running, settle
from tests.support.wecom_robot import FakeWeComRobot

KEY = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
PUSH = Delivery("c:cut", "robot-test", body="断电前的那条提醒")


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeComRobot]:
    """The robot API on loopback."""
    robot = FakeWeComRobot()
    await robot.start()
    yield robot
    await robot.close()


@pytest.fixture
async def senders(
    redis: Redis, library: Library, settings: Settings, fake: FakeWeComRobot
) -> AsyncIterator[Senders]:
    """Senders pushing to the fake robot."""
    async with aiohttp.ClientSession() as session:
        robot = RobotClient(session, RateLimiter(redis), RobotConfig(api_base=fake.base))
        registry = GroupRegistry(redis)
        await registry.put(robot_group())
        await registry.set_robot_key("robot-test", KEY)
        yield Senders(redis, registry, ArticleStore(library, redis), robot,
                      settings.base_url, settings.timezone)  # fmt: skip


async def _sent_today(senders: Senders) -> int:
    counted = await reach.totals(senders.redis, [senders.today()], "group", PUSH.group_id)
    return counted[Measure.PUSHES_SENT]


async def test_resend_posts_it_again_and_counts_it_once(
    redis: Redis, senders: Senders, fake: FakeWeComRobot
) -> None:
    await died_mid_post(redis, PUSH)
    outbox = Outbox(redis)
    async with running(Worker(redis, senders, dataclasses.replace(FAST, uncertain="resend"))):
        await settle(lambda: outbox.delivered(PUSH.group_id, PUSH.key))
    assert fake.texts(KEY) == [PUSH.body]
    assert await _sent_today(senders) == 1
    assert await outbox.held() == []


async def test_hold_lists_it_with_its_reason_until_an_officer_requeues_it(
    redis: Redis, senders: Senders, fake: FakeWeComRobot
) -> None:
    await died_mid_post(redis, PUSH)
    outbox = Outbox(redis)
    holding = dataclasses.replace(FAST, uncertain="hold")
    async with running(Worker(redis, senders, holding)):
        await settle(lambda: _is(outbox, "held"))
    assert fake.requests == 0 and await _sent_today(senders) == 0
    [letter] = await outbox.held()
    assert letter.delivery == PUSH and letter.parts == 0
    assert "无法确定企业微信是否已把第 1 条消息发到群里" in letter.reason
    depth = await outbox.depth()
    assert (depth["held"], depth["pending"], depth["dead"]) == (1, 0, 0)

    assert await outbox.requeue_letter(letter)  # checked: not in the group
    assert await outbox.held() == [] and (await outbox.depth())["held"] == 0
    assert not await outbox.requeue_letter(letter)  # queued now, not held
    async with running(Worker(redis, senders, holding)):
        await settle(lambda: outbox.delivered(PUSH.group_id, PUSH.key))
    assert fake.texts(KEY) == [PUSH.body]
    assert await _sent_today(senders) == 1


async def _is(outbox: Outbox, state: str) -> bool:
    return await outbox.state(PUSH.group_id, PUSH.key) == state
