"""Metrics: each answered question counts per day x group x kind x region; ids are hashed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.store import keys
from tests.conftest import Transcript


def today() -> datetime:
    return datetime.now(ZoneInfo("Asia/Shanghai"))


async def test_a_question_counts_in_every_dimension(sim: Transcript) -> None:
    await sim.say("@反诈助手 刷单是什么", group="sim-village", user="王大爷")
    await sim.say("@反诈助手 有人让我点赞赚钱", group="sim-village", user="李婶")
    await sim.say("@反诈助手 刷单", group="sim-parents", user="王大爷")
    redis = sim.service.redis
    day = today().date()
    assert await redis.hget(keys.queries(day, "group", "sim-village"), "shuadan") == "2"
    assert await redis.hget(keys.queries(day, "kind", "village"), "shuadan") == "2"
    assert await redis.hget(keys.queries(day, "kind", "parents"), "shuadan") == "1"
    assert await redis.hget(keys.queries(day, "region", "城关镇"), "shuadan") == "3"
    assert await redis.hget(keys.queries(day, "region", "城关镇/幸福村"), "shuadan") == "2"
    assert await redis.hget(keys.queries(day, "all", "all"), "shuadan") == "3"
    assert await redis.pfcount(keys.askers(day, "region", "城关镇")) == 2
    assert await redis.ttl(keys.queries(day, "all", "all")) > 300 * 24 * 3600


async def test_member_ids_never_reach_redis(sim: Transcript) -> None:
    await sim.say("今天食堂中午吃什么菜", user="13812345678")
    redis = sim.service.redis
    (entry,) = await redis.xrange(keys.UNMATCHED_LOG)
    fields = entry[1]
    assert fields["member"] != "13812345678" and len(fields["member"]) == 20
    dump = [k for k in await redis.keys("*")]
    for key in dump:
        assert "13812345678" not in key
    assert fields["text"] == "今天食堂中午吃什么菜" and fields["kind"] == "private"


async def test_quiet_messages_record_nothing(sim: Transcript) -> None:
    await sim.say("明天几点开会", group="sim-enterprise")
    redis = sim.service.redis
    assert await redis.keys("fz:{m:*") == []
