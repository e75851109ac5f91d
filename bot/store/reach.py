"""Reach counters shared by every activity: one hash per day x dimension value.

Every event is counted under each dimension value it belongs to (all, group, kind, every region
prefix), so the dashboard reads a region's day with one HGETALL instead of summing groups.
Unique people (readers, participants, pledgers) go to HyperLogLogs beside the counters.
Questions keep their own per-topic hashes (bot.store.metrics).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from enum import StrEnum

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.models import Group
from bot.store import keys
from bot.store.lua import Lua


class Measure(StrEnum):
    """What is counted. Values are the hash fields in Redis: never rename one."""

    PUSHES_SENT = "pushes_sent"
    PUSHES_FAILED = "pushes_failed"
    VIEWS = "views"
    RECEIPTS = "receipts"
    FORWARD_PACKS = "forward_packs"
    QUIZ_ANSWERS = "quiz_answers"
    QUIZ_CORRECT = "quiz_correct"
    PLEDGES = "pledges"
    APP_CLAIMS = "app_claims"

    @property
    def label(self) -> str:
        """Return the Chinese name officers see on the dashboard and in reports."""
        return _LABELS[self]


_LABELS = {
    Measure.PUSHES_SENT: "推送成功",
    Measure.PUSHES_FAILED: "推送失败",
    Measure.VIEWS: "阅读次数",
    Measure.RECEIPTS: "回执",
    Measure.FORWARD_PACKS: "转发包",
    Measure.QUIZ_ANSWERS: "答题次数",
    Measure.QUIZ_CORRECT: "答对次数",
    Measure.PLEDGES: "承诺",
    Measure.APP_CLAIMS: "自愿报告已安装APP",
}


class Unique(StrEnum):
    """People counted once per day and dimension value (HyperLogLog, about 0.8% error)."""

    READERS = "readers"
    QUIZ_PLAYERS = "quiz_players"
    PLEDGERS = "pledgers"


ALL = ("all", "all")

# One call counts an event in every dimension: HINCRBY the hashes, PFADD the HyperLogLogs, and
# keep both alive for METRICS_TTL_SECONDS. All keys of one day share the {m:YYYYMMDD} hash tag,
# so this stays one slot under Redis Cluster. EVAL (not EVALSHA) needs no script cache.
# KEYS: hashes, then HyperLogLogs. ARGV: number of hashes, field, amount, member, ttl.
_COUNT_DAY = """
local hashes = tonumber(ARGV[1])
for i = 1, #KEYS do
  if i <= hashes then
    redis.call('HINCRBY', KEYS[i], ARGV[2], ARGV[3])
  else
    redis.call('PFADD', KEYS[i], ARGV[4])
  end
  redis.call('EXPIRE', KEYS[i], ARGV[5])
end
return 0
"""


def count_day(
    pipe: Pipeline,
    hashes: list[str],
    field: str,
    *,
    amount: int = 1,
    uniques: list[str] | None = None,
    member: str = "",
) -> None:
    """Queue on `pipe` one script call: `field` += amount in `hashes`, `member` into `uniques`."""
    names = [*hashes, *(uniques or ())]
    pipe.eval(
        _COUNT_DAY,
        len(names),
        *names,
        len(hashes),
        field,
        amount,
        member,
        keys.METRICS_TTL_SECONDS,
    )


# A push is counted once per delivery and measure, though its record (the outbox shard) and its
# counters (the day's metric slots) sit in different slots: each slot keeps a hash of what it
# counted already, and a second count of the same delivery is a no-op.
# KEYS: the slot's counted hash, then counter hashes. ARGV: mark, metrics ttl, mark ttl, fields.
COUNT_PUSH = Lua("""
if redis.call('HSETNX', KEYS[1], ARGV[1], 1) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
for i = 2, #KEYS do
  for j = 4, #ARGV do redis.call('HINCRBY', KEYS[i], ARGV[j], 1) end
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
return 1
""")
# Long enough for any retry or takeover of a delivery recorded on that day.
COUNTED_TTL_SECONDS = 3 * 24 * 3600


def count_push(
    pipe: Pipeline, day: date, group: Group, measure: Measure, delivery_key: str, campaign: str
) -> None:
    """Queue on `pipe` the count of one push of `delivery_key` under every dimension of
    `group` (and its campaign's field), idempotent per delivery and measure."""
    fields = [measure.value] + ([campaign_field(measure, campaign)] if campaign else [])
    by_slot: dict[str, list[str]] = {}
    for dimension, value in group_dimensions(group):
        counter = keys.counts(day, dimension, value)
        by_slot.setdefault(keys.pushes_counted(counter), []).append(counter)
    mark = f"{delivery_key}|{measure.value}"
    for counted, counters in by_slot.items():
        args: list[str | int] = [mark, keys.METRICS_TTL_SECONDS, COUNTED_TTL_SECONDS, *fields]
        COUNT_PUSH.queue(pipe, [counted, *counters], args)


def group_dimensions(group: Group | None) -> Iterator[tuple[str, str]]:
    """Yield every (dimension, value) an event in `group` counts under.

    Outside any group (a 1:1 chat, a page opened without a group link) only `all` and
    kind=private apply.
    """
    yield ALL
    if group is None:
        yield "kind", "private"
        return
    yield "group", group.id
    yield "kind", group.kind.value
    parts = [part for part in group.region.split("/") if part]
    for depth in range(1, len(parts) + 1):
        yield "region", "/".join(parts[:depth])


def record(
    pipe: Pipeline, day: date, group: Group | None, measure: Measure, amount: int = 1
) -> None:
    """Queue on `pipe` an increment of `measure` under every dimension of `group`."""
    hashes = [keys.counts(day, dimension, value) for dimension, value in group_dimensions(group)]
    count_day(pipe, hashes, measure.value, amount=amount)


def record_unique(
    pipe: Pipeline, day: date, group: Group | None, unique: Unique, member: str
) -> None:
    """Queue on `pipe` one person (a member hash) behind `unique` in every dimension."""
    names = [keys.uniques(day, unique.value, dim, value) for dim, value in group_dimensions(group)]
    count_day(pipe, [], unique.value, uniques=names, member=member)


async def totals(
    redis: Redis, days: Iterable[date], dimension: str = "all", value: str = "all"
) -> dict[Measure, int]:
    """Return every measure summed over `days` for one dimension value (0 when absent)."""
    async with redis.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.hgetall(keys.counts(day, dimension, value))
        per_day = await pipe.execute()
    result = dict.fromkeys(Measure, 0)
    for stored in per_day:
        for field, count in stored.items():
            if field in Measure._value2member_map_:
                result[Measure(field)] += int(count)
    return result


def campaign_field(measure: Measure, campaign: str) -> str:
    """Return the counter field that counts `measure` for one campaign ("pushes_sent@<id>")."""
    return f"{measure.value}@{campaign}"


async def campaign_totals(
    redis: Redis, days: Iterable[date], dimension: str = "all", value: str = "all"
) -> dict[str, dict[Measure, int]]:
    """Return, per campaign id, its measures summed over `days` for one dimension value."""
    async with redis.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.hgetall(keys.counts(day, dimension, value))
        per_day = await pipe.execute()
    result: dict[str, dict[Measure, int]] = {}
    for stored in per_day:
        for field, count in stored.items():
            measure, _, campaign = str(field).partition("@")
            if campaign and measure in Measure._value2member_map_:
                counted = result.setdefault(campaign, dict.fromkeys(Measure, 0))
                counted[Measure(measure)] += int(count)
    return result


async def unique_count(
    redis: Redis, days: Iterable[date], unique: Unique, dimension: str = "all", value: str = "all"
) -> int:
    """Return the number of distinct people behind `unique` over `days` (PFCOUNT of the union)."""
    names = [keys.uniques(day, unique.value, dimension, value) for day in days]
    # A multi-key PFCOUNT counts the union. Under Redis Cluster the days sit in different
    # slots; a cluster deployment must route this through one node (see README, scale-out).
    return int(await redis.pfcount(*names)) if names else 0
