"""The outbox queue: idempotent enqueue, depth, delivered."""

from __future__ import annotations

from datetime import date

from redis.asyncio import Redis

from bot.models import Delivery
from bot.push.outbox import Outbox
from bot.store import reach
from bot.store.lua import Pipelined
from bot.store.reach import COUNT_PUSH, Measure
from tests.support.outbox import queued, sim_group


def _deliveries(count: int, *, prefix: str = "c1:g", urgent: bool = False) -> list[Delivery]:
    return [
        Delivery(key=f"{prefix}{n}:f1", group_id=f"g{n}", body=f"第{n}条", urgent=urgent)
        for n in range(count)
    ]


async def test_enqueue_skips_keys_already_queued(redis: Redis) -> None:
    outbox = Outbox(redis)
    assert await outbox.enqueue(_deliveries(3)) == 3
    assert await outbox.enqueue(_deliveries(5)) == 2
    assert len(await queued(redis)) == 5
    assert (await outbox.depth())["pending"] == 5
    assert await outbox.state("g0", "c1:g0:f1") == "queued"
    assert not await outbox.delivered("g0", "c1:g0:f1")


async def test_enqueue_skips_duplicates_within_one_call_and_large_batches(redis: Redis) -> None:
    outbox = Outbox(redis)
    doubled = _deliveries(700) + _deliveries(700)
    assert await outbox.enqueue(doubled) == 700
    assert len(await queued(redis)) == 700


async def test_urgent_deliveries_go_to_their_own_stream(redis: Redis) -> None:
    outbox = Outbox(redis)
    await outbox.enqueue(_deliveries(2, prefix="a:g", urgent=True) + _deliveries(3))
    depth = await outbox.depth()
    assert (depth["urgent"], depth["pending"], depth["dead"]) == (2, 5, 0)


async def test_a_push_counted_twice_counts_once_per_measure(redis: Redis) -> None:
    group, day = sim_group(), date(2026, 12, 3)
    counting = Pipelined(redis, [COUNT_PUSH])
    for measure in (Measure.PUSHES_SENT, Measure.PUSHES_SENT, Measure.PUSHES_FAILED):
        await counting.run(
            lambda pipe, m=measure: reach.count_push(pipe, day, group, m, "c:1", "monthly")
        )
    for dimension, value in (("all", "all"), ("group", group.id), ("region", "城关镇")):
        counted = await reach.totals(redis, [day], dimension, value)
        assert (counted[Measure.PUSHES_SENT], counted[Measure.PUSHES_FAILED]) == (1, 1)
    per_campaign = await reach.campaign_totals(redis, [day])
    assert per_campaign["monthly"][Measure.PUSHES_SENT] == 1
