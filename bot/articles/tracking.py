"""Count article views and receipts for a group, its kind and region, and the forwarder."""

from __future__ import annotations

from datetime import date

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.models import Group
from bot.store import keys, reach
from bot.store.reach import Measure, Unique


def count_view(
    pipe: Pipeline, day: date, group: Group | None, forwarder: str, reader: str
) -> None:
    """Queue one view by `reader` (a hashed cookie): total and unique, plus the forwarder's."""
    reach.record(pipe, day, group, Measure.VIEWS)
    reach.record_unique(pipe, day, group, Unique.READERS, reader)
    _count_forwarder(pipe, day, group, forwarder, Measure.VIEWS)


def count_receipt(pipe: Pipeline, day: date, group: Group | None, forwarder: str) -> None:
    """Queue one receipt in every dimension of `group`, plus the forwarder's."""
    reach.record(pipe, day, group, Measure.RECEIPTS)
    _count_forwarder(pipe, day, group, forwarder, Measure.RECEIPTS)


def _count_forwarder(
    pipe: Pipeline, day: date, group: Group | None, forwarder: str, measure: Measure
) -> None:
    if forwarder and group is not None:
        name = keys.forwarder_counts(day, forwarder)
        reach.count_day(pipe, [name], f"{group.id}:{measure.value}")


async def forwarder_totals(
    redis: Redis, days: list[date], forwarder: str
) -> dict[str, dict[Measure, int]]:
    """Return group id -> {VIEWS, RECEIPTS} through `forwarder`'s links over `days`."""
    async with redis.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.hgetall(keys.forwarder_counts(day, forwarder))
        per_day = await pipe.execute()
    result: dict[str, dict[Measure, int]] = {}
    for stored in per_day:
        for field, count in stored.items():
            group_id, _, measure = str(field).rpartition(":")
            if measure in (Measure.VIEWS.value, Measure.RECEIPTS.value):
                per_group = result.setdefault(
                    group_id, dict.fromkeys((Measure.VIEWS, Measure.RECEIPTS), 0)
                )
                per_group[Measure(measure)] += int(count)
    return result
