"""The WeCom group robot client against the loopback fake and the real Redis."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.channels.splitting import utf8_len
from bot.channels.wecom_robot import (
    Article,
    BrokenTarget,
    InvalidMessage,
    RetryLater,
    RobotClient,
    RobotConfig,
    SendFailed,
)
from bot.models import Reply, ReplyPart
from bot.settings import SettingsError
from bot.store.embedded import EmbeddedRedis
from bot.store.ratelimit import RateLimiter
from tests.support.wecom_robot import FakeWeComRobot

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
NOTICE = "【反诈提醒】凡是让您把钱转到“安全账户”的，都是诈骗！拿不准就打96110问一问。"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeComRobot]:
    """The robot API on loopback, with the real allowance scaled to 20 messages a second."""
    robot = FakeWeComRobot(limit=20, period=1.0)
    await robot.start()
    yield robot
    await robot.close()


def config_for(fake: FakeWeComRobot) -> RobotConfig:
    """Return a client config for the fake: its URL, its allowance, quick retries."""
    return RobotConfig(
        api_base=fake.base,
        backoff=0.01,
        rate_limit=fake.limit,
        rate_period=fake.period,
        max_wait=10.0,
    )


@pytest.fixture
async def robot(fake: FakeWeComRobot, redis: Redis) -> AsyncIterator[RobotClient]:
    """A client on its own HTTP session and the test Redis."""
    async with aiohttp.ClientSession() as session:
        yield RobotClient(session, RateLimiter(redis), config_for(fake))


async def test_text_with_mentions(robot: RobotClient, fake: FakeWeComRobot) -> None:
    result = await robot.send_text(KEY, NOTICE, mentions=["@all"], mobiles=["13800001111"])
    assert (result.messages, result.attempts) == (1, 1)
    assert fake.received[KEY] == [{"msgtype": "text", "text": {
        "content": NOTICE, "mentioned_list": ["@all"], "mentioned_mobile_list": ["13800001111"]
    }}]  # fmt: skip


async def test_markdown(robot: RobotClient, fake: FakeWeComRobot) -> None:
    await robot.send_markdown(KEY, "### 今日提醒\n**刷单就是诈骗**，[查看详情](https://a.cn/x)")
    assert fake.received[KEY][0]["msgtype"] == "markdown"
    assert fake.texts(KEY) == ["### 今日提醒\n**刷单就是诈骗**，[查看详情](https://a.cn/x)"]


async def test_news_card_cuts_titles_cleanly(robot: RobotClient, fake: FakeWeComRobot) -> None:
    articles = [
        Article("致全县村民的一封信：" + "谨防电信网络诈骗" * 10, "https://a.cn/a/1?g=v1",
                "请转给家里的老人看一看。" * 30, "https://a.cn/cover.png"),
        Article("冒充客服退款，怎么识别？", "https://a.cn/a/2?g=v1"),
    ]  # fmt: skip
    await robot.send_news(KEY, articles)
    cards = fake.received[KEY][0]["news"]["articles"]
    assert [card["url"] for card in cards] == ["https://a.cn/a/1?g=v1", "https://a.cn/a/2?g=v1"]
    assert utf8_len(cards[0]["title"]) <= 128 and cards[0]["title"].endswith("…")
    assert utf8_len(cards[0]["description"]) <= 512
    assert cards[0]["picurl"] == "https://a.cn/cover.png"


async def test_news_card_limits_are_checked_before_sending(
    robot: RobotClient, fake: FakeWeComRobot
) -> None:
    with pytest.raises(InvalidMessage):
        await robot.send_news(KEY, [Article("第几条", "https://a.cn")] * 9)
    with pytest.raises(InvalidMessage):
        await robot.send_news(KEY, [])
    assert fake.requests == 0


async def test_image(robot: RobotClient, fake: FakeWeComRobot) -> None:
    await robot.send_image(KEY, PNG)
    assert fake.received[KEY] == [
        {"msgtype": "image", "image": {"md5": hashlib.md5(PNG).hexdigest(), "size": len(PNG)}}
    ]
    with pytest.raises(InvalidMessage):
        await robot.send_image(KEY, PNG + bytes(2 * 1024 * 1024))
    with pytest.raises(InvalidMessage):
        await robot.send_image(KEY, b"GIF89a" + bytes(100))


async def test_file_is_uploaded_then_sent(robot: RobotClient, fake: FakeWeComRobot) -> None:
    letter = "致家长的一封信\n请和孩子一起读一读。".encode()
    await robot.send_file(KEY, letter, "致家长的一封信.txt")
    media_id = fake.received[KEY][0]["file"]["media_id"]
    assert fake.media[media_id] == KEY
    with pytest.raises(InvalidMessage):
        await robot.send_file(KEY, b"1234", "too-small.txt")


async def test_a_chinese_file_name_goes_as_plain_utf8(
    robot: RobotClient, fake: FakeWeComRobot
) -> None:
    await robot.send_file(KEY, b"name,class\n", "报名表.xlsx")  # the doc's part: filename="..."
    assert fake.filenames == ["报名表.xlsx"]  # not %E6%8A%A5%E5%90%8D%E8%A1%A8.xlsx
    for bad in ("报名\r\n表.xlsx", "   "):
        with pytest.raises(InvalidMessage):
            await robot.send_file(KEY, b"name,class\n", bad)
    assert fake.requests == 2  # the refused names reached nothing


async def test_robot_markdown_keeps_only_its_three_colours(
    robot: RobotClient, fake: FakeWeComRobot
) -> None:
    body = '<font color="warning">高风险</font> <font color="red">可疑</font>'
    await robot.send_markdown(KEY, body)
    assert fake.texts(KEY) == ['<font color="warning">高风险</font> 可疑']


async def test_a_ten_kilobyte_text_goes_out_in_order(
    robot: RobotClient, fake: FakeWeComRobot
) -> None:
    text = "".join(f"第{n}条：{NOTICE}😀\n" for n in range(90))
    assert utf8_len(text) > 10_000
    result = await robot.send_text(KEY, text, mentions=["zhangsan"])
    pieces = fake.texts(KEY)
    assert result.messages == len(pieces) == 6
    assert all(utf8_len(piece) <= 2048 for piece in pieces)
    assert "\n".join(pieces) + "\n" == text
    mentioned = ["mentioned_list" in m["text"] for m in fake.received[KEY]]
    assert mentioned == [True] + [False] * 5


async def test_long_markdown_splits_to_its_own_limit(
    robot: RobotClient, fake: FakeWeComRobot
) -> None:
    text = f"- {NOTICE} [详情](https://a.cn/a/1?g=v1)\n" * 80
    await robot.send_markdown(KEY, text)
    pieces = fake.texts(KEY)
    assert len(pieces) == 3 and "\n".join(pieces) + "\n" == text
    assert all(utf8_len(piece) <= 4096 and piece.count("[详情](https://a.cn/a/1?g=v1)") ==
               piece.count("[详情]") for piece in pieces)  # fmt: skip


async def test_a_reply_goes_out_part_by_part(robot: RobotClient, fake: FakeWeComRobot) -> None:
    reply = Reply((ReplyPart("markdown", "**刷单返利**是诈骗"), ReplyPart("text", "要点：先核实")))
    await robot.send_reply(KEY, reply)
    assert [m["msgtype"] for m in fake.received[KEY]] == ["markdown", "text"]


async def test_a_removed_robot_is_a_broken_target(
    robot: RobotClient, fake: FakeWeComRobot
) -> None:
    fake.remove(KEY)
    with pytest.raises(BrokenTarget) as broken:
        await robot.send_text(KEY, NOTICE)
    assert broken.value.errcode == 93000
    with pytest.raises(BrokenTarget):
        await robot.send_text("", NOTICE)
    assert fake.answers == {93000: 1}


async def test_an_unknown_key_is_a_broken_target(robot: RobotClient, fake: FakeWeComRobot) -> None:
    fake.keys = {KEY}
    with pytest.raises(BrokenTarget):
        await robot.send_markdown("not-a-robot", NOTICE)


async def test_two_5xx_then_success_delivers_once(
    robot: RobotClient, fake: FakeWeComRobot
) -> None:
    fake.fail_next(2, status=502)
    result = await robot.send_text(KEY, NOTICE)
    assert (result.messages, result.attempts) == (1, 3)
    assert fake.texts(KEY) == [NOTICE]


async def test_a_dropped_connection_is_retried(robot: RobotClient, fake: FakeWeComRobot) -> None:
    fake.drop_next(1)
    await robot.send_text(KEY, NOTICE)
    assert fake.texts(KEY) == [NOTICE]


async def test_lasting_5xx_ends_in_retry_later(robot: RobotClient, fake: FakeWeComRobot) -> None:
    fake.fail_next(robot.config.attempts, status=503)
    with pytest.raises(RetryLater) as later:
        await robot.send_text(KEY, NOTICE)
    assert later.value.delivered == 0 and later.value.after > 0
    assert fake.requests == robot.config.attempts and not fake.received[KEY]


async def test_a_resend_skips_pieces_already_delivered(
    robot: RobotClient, fake: FakeWeComRobot
) -> None:
    robot.config = dataclasses.replace(robot.config, attempts=1)
    text = NOTICE * 50  # three pieces
    fake.fail_next(1, status=500, after=1)
    with pytest.raises(RetryLater) as later:
        await robot.send_text(KEY, text)
    assert later.value.delivered == 1
    await robot.send_text(KEY, text, skip=later.value.delivered)
    assert "".join(fake.texts(KEY)) == text and len(fake.texts(KEY)) == 3


async def test_45009_from_wecom_means_retry_later(
    robot: RobotClient, fake: FakeWeComRobot
) -> None:
    fake.limit = 2
    robot.config = dataclasses.replace(robot.config, rate_limit=100)
    await robot.send_text(KEY, "一")
    await robot.send_text(KEY, "二")
    with pytest.raises(RetryLater):
        await robot.send_text(KEY, "三")
    assert fake.answers[45009] == 1


async def test_other_errcodes_are_send_failed(robot: RobotClient, fake: FakeWeComRobot) -> None:
    fake.refuse_next(40008, "invalid message type")
    with pytest.raises(SendFailed) as failed:
        await robot.send_text(KEY, NOTICE)
    assert failed.value.errcode == 40008 and fake.requests == 1


async def test_an_allowance_booked_far_ahead_is_retry_later_without_a_request(
    robot: RobotClient, fake: FakeWeComRobot
) -> None:
    robot.config = dataclasses.replace(robot.config, rate_limit=1, rate_period=60.0, max_wait=1)
    await robot.send_text(KEY, "一")
    with pytest.raises(RetryLater) as later:
        await robot.send_text(KEY, "二")
    assert later.value.after > 50 and fake.requests == 1


async def test_a_backlog_of_60_finishes_without_45009(
    robot: RobotClient, fake: FakeWeComRobot
) -> None:
    await asyncio.gather(*(robot.send_text(KEY, f"第{n}条提醒") for n in range(60)))
    assert fake.answers == {0: 60}
    assert fake.texts(KEY) == [f"第{n}条提醒" for n in range(60)]  # in the order sent


async def test_two_instances_share_one_allowance(
    fake: FakeWeComRobot, redis: Redis, redis_server: EmbeddedRedis
) -> None:
    other_redis = Redis.from_url(redis_server.url, decode_responses=True)
    config = config_for(fake)
    async with aiohttp.ClientSession() as one, aiohttp.ClientSession() as two:
        first = RobotClient(one, RateLimiter(redis), config)
        second = RobotClient(two, RateLimiter(other_redis), config)
        sends = [client.send_text(KEY, f"{n}号") for n in range(30) for client in (first, second)]
        await asyncio.gather(*sends)
    await other_redis.aclose()
    assert fake.answers == {0: 60}


async def test_the_key_never_reaches_logs_or_redis(
    robot: RobotClient, fake: FakeWeComRobot, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next(1)
    await robot.send_text(KEY, NOTICE)
    fake.remove(KEY)
    with pytest.raises(BrokenTarget):
        await robot.send_text(KEY, NOTICE)
    assert caplog.records and KEY not in caplog.text and KEY[:8] not in caplog.text
    assert all(KEY not in name for name in await redis.keys("*"))


def test_config_from_env() -> None:
    assert RobotConfig.from_env({}) == RobotConfig()
    config = RobotConfig.from_env(
        {"WECOM_API_BASE": "http://127.0.0.1:9/", "WECOM_ROBOT_ATTEMPTS": "2"}
    )
    assert (config.api_base, config.attempts) == ("http://127.0.0.1:9", 2)
    with pytest.raises(SettingsError):
        RobotConfig.from_env({"WECOM_API_BASE": "qyapi.weixin.qq.com"})
    with pytest.raises(SettingsError):
        RobotConfig.from_env({"WECOM_ROBOT_TIMEOUT": "soon"})


def test_image_payload_matches_the_doc() -> None:
    from bot.channels.wecom_robot import image_payload

    payload = image_payload(PNG)
    assert base64.b64decode(payload["image"]["base64"]) == PNG
    assert payload["image"]["md5"] == hashlib.md5(PNG).hexdigest()
