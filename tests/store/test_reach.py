"""Reach counters on the real Redis: every dimension of a group, totals and unique people."""

from __future__ import annotations

from datetime import date

from redis.asyncio import Redis

from bot.models import Group, GroupKind
from bot.store import reach
from bot.store.reach import Measure, Unique

DAY = date(2026, 11, 3)
NEXT = date(2026, 11, 4)
VILLAGE = Group("g1", "幸福村村民群", GroupKind.VILLAGE, "城关镇/幸福村", 300)
OTHER_VILLAGE = Group("g2", "东山村村民群", GroupKind.VILLAGE, "城关镇/东山村", 200)


async def test_an_event_counts_under_every_dimension_of_its_group(redis: Redis) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        reach.record(pipe, DAY, VILLAGE, Measure.VIEWS)
        reach.record(pipe, DAY, OTHER_VILLAGE, Measure.VIEWS, 2)
        reach.record(pipe, DAY, VILLAGE, Measure.RECEIPTS)
        await pipe.execute()

    town = await reach.totals(redis, [DAY], "region", "城关镇")
    assert town[Measure.VIEWS] == 3 and town[Measure.RECEIPTS] == 1
    assert (await reach.totals(redis, [DAY], "region", "城关镇/幸福村"))[Measure.VIEWS] == 1
    assert (await reach.totals(redis, [DAY], "group", "g2"))[Measure.VIEWS] == 2
    assert (await reach.totals(redis, [DAY], "kind", "village"))[Measure.VIEWS] == 3
    assert (await reach.totals(redis, [DAY]))[Measure.VIEWS] == 3
    # A region prefix matches whole segments only.
    assert (await reach.totals(redis, [DAY], "region", "城关"))[Measure.VIEWS] == 0


async def test_totals_sum_days_and_fill_missing_measures(redis: Redis) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        reach.record(pipe, DAY, VILLAGE, Measure.PLEDGES)
        reach.record(pipe, NEXT, VILLAGE, Measure.PLEDGES, 4)
        await pipe.execute()

    result = await reach.totals(redis, [DAY, NEXT], "group", "g1")
    assert result[Measure.PLEDGES] == 5
    assert result[Measure.APP_CLAIMS] == 0
    assert set(result) == set(Measure)


async def test_unique_people_are_counted_once_across_days(redis: Redis) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for member in ("m1", "m2", "m1"):
            reach.record_unique(pipe, DAY, VILLAGE, Unique.READERS, member)
        reach.record_unique(pipe, NEXT, VILLAGE, Unique.READERS, "m2")
        reach.record_unique(pipe, NEXT, None, Unique.READERS, "m3")
        await pipe.execute()

    assert await reach.unique_count(redis, [DAY], Unique.READERS, "group", "g1") == 2
    assert await reach.unique_count(redis, [DAY, NEXT], Unique.READERS, "region", "城关镇") == 2
    assert await reach.unique_count(redis, [DAY, NEXT], Unique.READERS) == 3
    assert await reach.unique_count(redis, [NEXT], Unique.READERS, "kind", "private") == 1
    assert await reach.unique_count(redis, [], Unique.READERS) == 0
