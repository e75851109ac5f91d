"""Sender workers against the real Redis, the simulator feed and the loopback fake robot."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.articles import packs, receipts
from bot.articles.store import ArticleStore
from bot.channels.wecom_robot import RobotClient, RobotConfig, markdown_payloads
from bot.dashboard import data
from bot.library import Library
from bot.models import Delivery, Group, GroupKind, PushTarget
from bot.push.outbox import Outbox, group_health
from bot.push.outbox.worker import Worker
from bot.push.senders import Senders
from bot.settings import Settings
from bot.store import keys, reach
from bot.store.groups import GroupRegistry
from bot.store.ratelimit import RateLimiter
from bot.store.reach import Measure
from tests.support.outbox import FAST, feed, robot_group, running, settle, sim_group
from tests.support.wecom_robot import FakeWeComRobot

KEY = "5d6f0a1c-2b3e-4c5d-8e9f-a0b1c2d3e4f5"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeComRobot]:
    """The robot API on loopback: 20 messages per half second instead of per minute."""
    robot = FakeWeComRobot(limit=20, period=0.5)
    await robot.start()
    yield robot
    await robot.close()


@pytest.fixture
async def senders(
    redis: Redis, library: Library, settings: Settings, fake: FakeWeComRobot
) -> AsyncIterator[Senders]:
    """Senders whose robot client has the fake's allowance and quick in-call retries."""
    config = RobotConfig(api_base=fake.base, attempts=2, backoff=0.01,
                         rate_limit=fake.limit, rate_period=fake.period, max_wait=0.2)  # fmt: skip
    async with aiohttp.ClientSession() as session:
        robot = RobotClient(session, RateLimiter(redis), config)
        yield Senders(redis, GroupRegistry(redis), ArticleStore(library, redis), robot,
                      settings.base_url, settings.timezone)  # fmt: skip


async def _register(senders: Senders, *groups: Group) -> None:
    for group in groups:
        await senders.registry.put(group)
        if group.target is PushTarget.ROBOT:
            await senders.registry.set_robot_key(group.id, KEY)


async def _sent_today(senders: Senders, group_id: str) -> dict[Measure, int]:
    return await reach.totals(senders.redis, [senders.today()], "group", group_id)


async def test_a_sim_push_lands_in_the_feed_once_and_counts_reach(
    redis: Redis, senders: Senders
) -> None:
    await _register(senders, sim_group())
    outbox = Outbox(redis)
    push = Delivery("c:sim-test:1", "sim-test", body="**防骗提醒**：陌生链接不要点。")
    assert await outbox.enqueue([push]) == 1
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: outbox.delivered(push.group_id, push.key))
    assert await outbox.enqueue([push]) == 0
    pushes = await feed(redis, "sim-test")
    assert [(p["id"], p["format"], p["text"]) for p in pushes] == [
        (1, "markdown", "**防骗提醒**：陌生链接不要点。")
    ]
    counted = await _sent_today(senders, "sim-test")
    assert (counted[Measure.PUSHES_SENT], counted[Measure.PUSHES_FAILED]) == (1, 0)
    region = await reach.totals(redis, [senders.today()], "region", "城关镇")
    assert region[Measure.PUSHES_SENT] == 1
    assert (await outbox.depth())["pending"] == 0


async def test_pushes_are_counted_per_campaign_in_each_region(
    redis: Redis, senders: Senders
) -> None:
    unset = dataclasses.replace(sim_group("no-target", "城关镇/和平村"), target=PushTarget.NONE)
    await _register(senders, sim_group(), sim_group("sim-other", "河口镇/河口村"), unset)
    outbox = Outbox(redis)
    pushes = [
        Delivery("m:1", "sim-test", body="一封信", campaign="monthly-letter"),
        Delivery("m:2", "sim-other", body="一封信", campaign="monthly-letter"),
        Delivery("m:3", "no-target", body="一封信", campaign="monthly-letter"),
        Delivery("a:1", "sim-test", body="紧急预警", campaign="alert"),
        Delivery("q:1", "sim-test", body="答题结果"),
    ]
    await outbox.enqueue(pushes)
    async with running(Worker(redis, senders, FAST)):
        for push in pushes:
            await settle(lambda push=push: _finished(outbox, push))
    days = [senders.today()]
    # Totals that the campaign rows already make up: no "其他推送" row.
    none = {Measure.PUSHES_SENT: 0, Measure.PUSHES_FAILED: 0}
    town = await data.by_campaign(redis, days, "城关镇", {"monthly-letter": "每月一封信"}, none)
    assert [(row.title, row.sent, row.failed) for row in town] == [
        ("每月一封信", 1, 1), ("紧急预警", 1, 0),
    ]  # fmt: skip
    everywhere = await data.by_campaign(redis, days, "", {}, none)
    assert [(row.title, row.sent, row.failed) for row in everywhere] == [
        ("monthly-letter", 2, 1), ("紧急预警", 1, 0),
    ]  # fmt: skip
    assert (await reach.totals(redis, days))[Measure.PUSHES_SENT] == 4  # the quiz post too


async def test_an_article_push_carries_the_groups_link_and_notes_the_receipt_window(
    redis: Redis, senders: Senders
) -> None:
    await _register(senders, sim_group())
    outbox = Outbox(redis)
    item = "alerts/kefu-tuikuan"
    await outbox.enqueue([Delivery("c:art:1", "sim-test", item_id=item, style="news")])
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: outbox.delivered("sim-test", "c:art:1"))
    [push] = await feed(redis, "sim-test")
    assert push["format"] == "news"
    assert f"/a/{item}?g=" in push["url"] and push["title"]
    assert await receipts.latest_pushed(redis, "sim-test") == item


async def test_urgent_deliveries_are_sent_before_the_waiting_ones(
    redis: Redis, senders: Senders
) -> None:
    await _register(senders, sim_group())
    outbox = Outbox(redis)
    await outbox.enqueue(Delivery(f"c:n{n}", "sim-test", body=f"日常提醒{n}") for n in range(5))
    await outbox.enqueue([Delivery("alert:1", "sim-test", body="紧急预警", urgent=True)])
    one_at_a_time = dataclasses.replace(FAST, concurrency=1)
    async with running(Worker(redis, senders, one_at_a_time)):
        await settle(lambda: outbox.delivered("sim-test", "c:n4"))
    texts = [p["text"] for p in await feed(redis, "sim-test")]
    assert texts == ["紧急预警", *(f"日常提醒{n}" for n in range(5))]


async def test_an_urgent_push_overtakes_a_robots_backlog_but_not_its_limit(
    redis: Redis, senders: Senders, fake: FakeWeComRobot
) -> None:
    await _register(senders, robot_group())
    outbox = Outbox(redis)
    await outbox.enqueue(Delivery(f"n:{n}", "robot-test", body=f"日常{n}") for n in range(80))
    holding = dataclasses.replace(FAST, visibility=20.0)  # the whole backlog waits in the lane
    async with running(Worker(redis, senders, holding)):
        await settle(lambda: _received(fake, 5))
        await outbox.enqueue([Delivery("u:1", "robot-test", body="紧急预警", urgent=True)])
        await settle(lambda: outbox.delivered("robot-test", "n:79"))
    texts = fake.texts(KEY)
    assert len(texts) == 81 and texts.index("紧急预警") < 40
    assert fake.answers[45009] == 0


async def _received(fake: FakeWeComRobot, count: int) -> bool:
    return len(fake.texts(KEY)) >= count


async def test_transient_failures_back_off_then_park_with_the_reason(
    redis: Redis, senders: Senders, fake: FakeWeComRobot
) -> None:
    await _register(senders, robot_group())
    fake.fail_next(100, 502)
    outbox = Outbox(redis)
    await outbox.enqueue([Delivery("c:r:1", "robot-test", body="陌生来电要核实")])
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: _state_is(outbox, "robot-test", "c:r:1", "parked"))
    # three outbox attempts of two client attempts each, and nothing more
    assert fake.requests == 6
    [letter] = await outbox.dead_letters()
    delivery, reason, attempts = letter.delivery, letter.reason, letter.attempts
    assert (delivery.key, attempts) == ("c:r:1", 3)
    assert "连续 3 次发送失败" in reason and "HTTP 502" in reason
    counted = await _sent_today(senders, "robot-test")
    assert (counted[Measure.PUSHES_SENT], counted[Measure.PUSHES_FAILED]) == (0, 1)
    assert await group_health(redis) == {}


async def test_a_transient_failure_is_retried_and_then_sent(
    redis: Redis, senders: Senders, fake: FakeWeComRobot
) -> None:
    await _register(senders, robot_group())
    fake.fail_next(2, 503)
    outbox = Outbox(redis)
    await outbox.enqueue([Delivery("c:r:2", "robot-test", body="退款先核实")])
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: outbox.delivered("robot-test", "c:r:2"))
    assert fake.texts(KEY) == ["退款先核实"]
    assert await outbox.dead_letters() == []


async def _push_until_delivered(redis: Redis, senders: Senders, key: str, body: str) -> list[str]:
    """Push `body` to the test robot through a running worker until delivered; return the
    markdown parts it should have gone out as."""
    outbox = Outbox(redis)
    await outbox.enqueue([Delivery(key, "robot-test", body=body)])
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: outbox.delivered("robot-test", key))
    return [message["markdown"]["content"] for message in markdown_payloads(body)]


async def test_a_long_push_resumes_after_the_parts_already_sent(
    redis: Redis, senders: Senders, fake: FakeWeComRobot
) -> None:
    await _register(senders, robot_group())
    paragraphs = [f"第{n}段：" + "陌生来电说你涉嫌洗钱，要求转账到安全账户，一律是诈骗。" * 12
                  for n in range(6)]  # fmt: skip
    body = "\n\n".join(paragraphs)  # about 6 KB: more than one markdown message
    fake.fail_next(2, 502, after=1)  # the first part goes out, the second fails both tries
    expected = await _push_until_delivered(redis, senders, "c:long", body)
    assert len(expected) >= 2
    assert fake.texts(KEY) == expected  # each part once, in order, none repeated


async def test_a_long_push_that_runs_out_of_allowance_midway_resumes_after_the_sent_parts(
    redis: Redis, senders: Senders, fake: FakeWeComRobot
) -> None:
    await _register(senders, robot_group())
    for n in range(fake.limit - 1):  # leave room for one part in this window
        await senders.robot.send_text(KEY, f"早前的消息{n}")
    body = "\n\n".join(f"第{n}段：" + "冒充客服说要注销百万保障，挂断后打官方电话核实。" * 12
                         for n in range(6))  # fmt: skip
    expected = await _push_until_delivered(redis, senders, "c:busy", body)
    assert len(expected) >= 2
    assert fake.texts(KEY)[fake.limit - 1 :] == expected  # each part once, in order
    assert fake.answers[45009] == 0


async def test_a_broken_robot_key_parks_at_once_and_flags_the_group(
    redis: Redis, senders: Senders, fake: FakeWeComRobot
) -> None:
    await _register(senders, robot_group())
    fake.remove(KEY)
    outbox = Outbox(redis)
    await outbox.enqueue([Delivery("c:r:3", "robot-test", body="提醒")])
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: _state_is(outbox, "robot-test", "c:r:3", "parked"))
    assert fake.requests == 1
    health = await group_health(redis)
    assert list(health) == ["robot-test"]
    assert health["robot-test"].state == "broken" and "机器人" in health["robot-test"].reason
    [letter] = await outbox.dead_letters()
    reason, attempts = letter.reason, letter.attempts
    assert attempts == 0 and reason == health["robot-test"].reason
    # the officer fixes the robot and sends the parked push again: it goes out, the flag clears
    fake.removed.clear()
    parked = Delivery("c:r:3", "robot-test", body="提醒")
    assert await outbox.requeue(parked)
    assert not await outbox.requeue(parked)  # queued now, not parked
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: outbox.delivered("robot-test", "c:r:3"))
    assert fake.texts(KEY) == ["提醒"]
    assert await group_health(redis) == {}
    assert not await outbox.requeue(parked)  # a sent delivery is never queued again


async def test_groups_that_cannot_be_pushed_to_are_parked_with_a_reason(
    redis: Redis, senders: Senders
) -> None:
    silent = Group("quiet", "只提问的群", GroupKind.COMMUNITY, "城关镇", 10)
    smart = Group("wecom-bot:abc", "智能机器人群", GroupKind.SCHOOL, "城关镇", 10,
                  target=PushTarget.WECOM_BOT)  # fmt: skip
    await _register(senders, silent, smart, sim_group())
    outbox = Outbox(redis)
    await outbox.enqueue([
        Delivery("p:1", "quiet", body="x"),
        Delivery("p:2", "wecom-bot:abc", body="x"),
        Delivery("p:3", "sim-test", item_id="alerts/no-such-alert"),
        Delivery("p:4", "gone", body="x"),
    ])  # fmt: skip
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: _state_is(outbox, "gone", "p:4", "parked"))
        for group, key in (("quiet", "p:1"), ("wecom-bot:abc", "p:2"), ("sim-test", "p:3")):
            await settle(lambda g=group, k=key: _state_is(outbox, g, k, "parked"))
    reasons = {letter.delivery.key: letter.reason for letter in await outbox.dead_letters()}
    assert "没有设置推送方式" in reasons["p:1"]
    assert "智能机器人" in reasons["p:2"]
    assert "alerts/no-such-alert" in reasons["p:3"]
    assert "删除" in reasons["p:4"]
    assert await feed(redis, "sim-test") == []


async def test_a_forward_group_gets_the_item_in_its_owners_pack(
    redis: Redis, senders: Senders
) -> None:
    group = Group("fwd-1", "三年级2班家长群", GroupKind.PARENTS, "城关镇/实验小学", 45,
                  "teacher-zhao", PushTarget.FORWARD)  # fmt: skip
    await _register(senders, group)
    outbox = Outbox(redis)
    await outbox.enqueue([Delivery("f:1", "fwd-1", item_id="alerts/laoshi-jiazhangqun")])
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: outbox.delivered("fwd-1", "f:1"))
    lines = await packs.lines(redis, "teacher-zhao", senders.today())
    assert [line.item_id for line in lines] == ["alerts/laoshi-jiazhangqun"]
    assert (await _sent_today(senders, "fwd-1"))[Measure.PUSHES_SENT] == 0


async def test_xautoclaim_recovers_what_a_crashed_consumer_held(
    redis: Redis, senders: Senders
) -> None:
    await _register(senders, sim_group())
    outbox = Outbox(redis)
    await outbox.enqueue([Delivery("c:crash", "sim-test", body="被接管的提醒")])
    stream = keys.outbox_normal(keys.outbox_shard("sim-test"))
    await redis.xgroup_create(stream, keys.OUTBOX_GROUP, id="0", mkstream=True)
    await redis.xreadgroup(keys.OUTBOX_GROUP, "crashed", {stream: ">"})
    held = await redis.xpending(stream, keys.OUTBOX_GROUP)
    assert held["consumers"] == [{"name": "crashed", "pending": 1}]  # and never came back
    async with running(Worker(redis, senders, FAST)):
        await settle(lambda: outbox.delivered("sim-test", "c:crash"))
    assert [p["text"] for p in await feed(redis, "sim-test")] == ["被接管的提醒"]
    assert (await redis.xpending(stream, keys.OUTBOX_GROUP))["pending"] == 0


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_200_message_backlog_to_one_robot_gets_no_45009(
    redis: Redis, senders: Senders, fake: FakeWeComRobot, workers: int
) -> None:
    await _register(senders, robot_group())
    outbox = Outbox(redis)
    await outbox.enqueue(Delivery(f"b:{n}", "robot-test", body=f"第{n}条提醒") for n in range(200))
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(workers):  # two workers share the robot only through Redis
            await stack.enter_async_context(running(Worker(redis, senders, FAST)))
        await settle(lambda: _all_sent(outbox, 200), timeout=60)
    assert fake.answers[45009] == 0
    assert sorted(fake.texts(KEY)) == sorted(f"第{n}条提醒" for n in range(200))
    assert (await _sent_today(senders, "robot-test"))[Measure.PUSHES_SENT] == 200


async def _finished(outbox: Outbox, push: Delivery) -> bool:
    return await outbox.state(push.group_id, push.key) in ("sent", "parked")


async def _state_is(outbox: Outbox, group_id: str, key: str, state: str) -> bool:
    return await outbox.state(group_id, key) == state


async def _all_sent(outbox: Outbox, count: int) -> bool:
    for n in range(count):
        if not await outbox.delivered("robot-test", f"b:{n}"):
            return False
    return True
