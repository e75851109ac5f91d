"""我承诺 and 我已安装 in the demo groups: once per member and group, counted in reach."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.store.reach import Measure, Unique, totals, unique_count
from tests.conftest import Transcript

GROUP = "sim-village"


def today() -> list[date]:
    return [datetime.now(ZoneInfo("Asia/Shanghai")).date()]


async def test_one_pledge_per_member(sim: Transcript, redis: Redis) -> None:
    first = await sim.say("我承诺", group=GROUP, user="张三")
    assert first is not None and "感谢你的承诺" in first and "本群已有 1 人" in first
    again = await sim.say("我承诺！", group=GROUP, user="张三")
    assert again is not None and "已经承诺过" in again and "本群已有 1 人" in again
    other = await sim.say("我承诺：防范电信诈骗从我做起", group=GROUP, user="李四")
    assert other is not None and "本群已有 2 人" in other
    elsewhere = await sim.say("我承诺", group="sim-parents", user="张三")
    assert elsewhere is not None and "本群已有 1 人" in elsewhere

    counted = await totals(redis, today(), "group", GROUP)
    assert counted[Measure.PLEDGES] == 2
    assert await unique_count(redis, today(), Unique.PLEDGERS, "region", "城关镇") == 2
    assert (await totals(redis, today(), "region", "城关镇"))[Measure.PLEDGES] == 3


async def test_pledge_words_inside_a_sentence_are_not_a_pledge(sim: Transcript) -> None:
    await sim.say("我承诺过不借钱给别人，可他一直催", group=GROUP, user="张三")
    assert sim.last is None or sim.last.intent != "pledge"


async def test_app_claims_count_once_and_never_pressure(sim: Transcript, redis: Redis) -> None:
    thanks = await sim.say("我已安装", group=GROUP, user="张三")
    assert thanks is not None and "谢谢" in thanks and "自愿" in thanks
    assert "必须" not in thanks and "强制" not in thanks
    again = await sim.say("已安装反诈APP", group=GROUP, user="张三")
    assert again is not None and "之前已经说过" in again
    await sim.say("我已安装反诈app", group=GROUP, user="李四")
    assert (await totals(redis, today(), "group", GROUP))[Measure.APP_CLAIMS] == 2


async def test_the_app_topic_still_explains_the_app(sim: Transcript) -> None:
    answer = await sim.say("@反诈助手 怎么装反诈APP", group=GROUP, user="王五")
    assert answer is not None and "自愿" in answer
