"""Each message id is handled once per channel; retries get the stored answer."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.store.dedupe import DONE_TTL, Deduper, dedupe_key, event_id


class Producer:
    """Count calls; optionally hold each call until released."""

    def __init__(self, answer: str = "答复", gate: asyncio.Event | None = None) -> None:
        self.answer, self.gate, self.calls = answer, gate, 0
        self.started = asyncio.Event()

    async def __call__(self) -> str:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        return self.answer


async def test_first_delivery_produces_and_retry_gets_the_same_answer(redis: Redis) -> None:
    produce = Producer("刷单就是诈骗。")
    deduper = Deduper(redis)
    first = await deduper.once("wechat_oa", "1001", produce)
    again = await deduper.once("wechat_oa", "1001", produce)
    assert first == again == "刷单就是诈骗。"
    assert produce.calls == 1
    assert 0 < await redis.ttl(dedupe_key("wechat_oa", "1001")) <= DONE_TTL


async def test_channels_do_not_share_ids(redis: Redis) -> None:
    produce = Producer()
    deduper = Deduper(redis)
    await deduper.once("wechat_oa", "7", produce)
    await deduper.once("wecom_app", "7", produce)
    assert produce.calls == 2


async def test_retry_during_handling_waits_for_the_first_answer(redis: Redis) -> None:
    gate = asyncio.Event()
    produce = Producer("稍等后的答复", gate)
    deduper = Deduper(redis, wait=5.0, poll=0.01)
    first = asyncio.create_task(deduper.once("wecom_app", "42", produce))
    await produce.started.wait()
    retry = asyncio.create_task(deduper.once("wecom_app", "42", produce))
    gate.set()
    assert await first == await retry == "稍等后的答复"
    assert produce.calls == 1


async def test_retry_gives_up_when_the_first_is_too_slow(redis: Redis) -> None:
    gate = asyncio.Event()
    produce = Producer("迟到的答复", gate)
    deduper = Deduper(redis, wait=0.05, poll=0.01)
    first = asyncio.create_task(deduper.once("wechat_oa", "9", produce))
    await produce.started.wait()
    assert await deduper.once("wechat_oa", "9", produce) is None
    gate.set()
    assert await first == "迟到的答复"
    assert produce.calls == 1


async def test_failed_handling_releases_the_id_for_the_next_retry(redis: Redis) -> None:
    deduper = Deduper(redis)

    async def broken() -> str:
        raise RuntimeError("handler crashed")

    with pytest.raises(RuntimeError):
        await deduper.once("wechat_oa", "13", broken)
    assert await redis.exists(dedupe_key("wechat_oa", "13")) == 0
    assert await deduper.once("wechat_oa", "13", Producer("第二次成功")) == "第二次成功"


async def test_empty_answer_is_remembered_too(redis: Redis) -> None:
    produce = Producer("")
    deduper = Deduper(redis)
    assert await deduper.once("wechat_oa", "5", produce) == ""
    assert await deduper.once("wechat_oa", "5", produce) == ""
    assert produce.calls == 1


def test_event_ids_are_stable_and_hide_the_member() -> None:
    openid = "oFollower123"
    assert event_id(openid, "1700000000") == event_id(openid, "1700000000")
    assert event_id(openid, "1700000000") != event_id(openid, "1700000001")
    assert openid not in event_id(openid, "1700000000")
    assert openid not in dedupe_key("wechat_oa", event_id(openid, "1700000000"))
