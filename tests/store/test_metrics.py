"""Metrics: each answered question counts per day x group x kind x region; ids are hashed."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.store import keys, metrics
from tests.conftest import Transcript


def today() -> datetime:
    return datetime.now(ZoneInfo("Asia/Shanghai"))


async def test_a_question_counts_in_every_dimension(sim: Transcript) -> None:
    await sim.say("@反诈助手 刷单是什么", group="sim-village", user="王大爷")
    await sim.say("@反诈助手 有人让我点赞赚钱", group="sim-village", user="李婶")
    await sim.say("@反诈助手 刷单", group="sim-parents", user="王大爷")
    redis = sim.service.redis
    day = today().date()
    expected = {
        ("group", "sim-village"): 2,
        ("kind", "village"): 2,
        ("kind", "parents"): 1,
        ("region", "城关镇"): 3,
        ("region", "城关镇/幸福村"): 2,
        ("all", "all"): 3,
    }
    for (dimension, value), count in expected.items():
        assert (await metrics.questions(redis, [day], dimension, value))["shuadan"] == count
    assert await metrics.askers(redis, day, "region", "城关镇") == 2
    village = keys.queries_in(metrics.shard(day, "g:sim-village"), "group", "sim-village")
    assert await redis.hget(village, "shuadan") == "2"
    assert await redis.ttl(village) > 300 * 24 * 3600


async def test_readers_merge_every_shard_and_the_keys_before_the_shards(redis: Redis) -> None:
    day = date(2026, 3, 1)
    await redis.hset(keys.queries(day, "all", "all"), "shuadan", 4)
    for bucket in (0, 7, metrics.BUCKETS - 1):
        await redis.hset(keys.queries_in(keys.metric_shard(day, bucket), "all", "all"),
                         mapping={"shuadan": bucket + 1, "daikuan": 1})  # fmt: skip
    counts = await metrics.questions(redis, [day, date(2026, 3, 2)])
    assert counts == {"shuadan": 4 + 1 + 8 + metrics.BUCKETS, "daikuan": 3}


async def test_member_ids_never_reach_redis(sim: Transcript) -> None:
    # Off-topic chatter is no content gap and is not logged; a question is counted.
    await sim.say("今天食堂中午吃什么菜", user="13812345678")
    await sim.say("刷单是什么", user="13812345678")
    redis = sim.service.redis
    assert await redis.xrange(keys.UNMATCHED_LOG) == []
    for key in await redis.keys("*"):
        assert "13812345678" not in key


async def test_quiet_messages_record_nothing(sim: Transcript) -> None:
    await sim.say("明天几点开会", group="sim-enterprise")
    redis = sim.service.redis
    assert await redis.keys("fz:{m:*") == []
