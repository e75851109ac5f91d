"""Pledges (我承诺) and voluntary APP-install claims: once per member per group, with reach."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from redis.asyncio import Redis

from bot.models import Group
from bot.store import keys, reach
from bot.store.reach import Measure, Unique

# Where a pledge made outside any group (one-to-one, or a page opened without a group link)
# is kept: it still counts once per member.
NO_GROUP = "private"

PLEDGE_TEXT = (
    "我承诺：不轻信陌生来电和链接，不向陌生账户转账，不出租出借银行卡和手机卡；"
    "遇到拿不准的事先停一停、问一问，发现可疑情况及时拨打 96110。防范电信诈骗，从我做起！"
)


async def pledge(redis: Redis, day: date, group: Group | None, member: str) -> tuple[bool, int]:
    """Record `member`'s pledge in `group`; return (new, the group's pledge count)."""
    return await _once(redis, day, group, member, keys.pledges, Measure.PLEDGES, Unique.PLEDGERS)


async def claim_app(redis: Redis, day: date, group: Group | None, member: str) -> tuple[bool, int]:
    """Record a voluntary "I installed the APP"; return (new, the group's claim count)."""
    return await _once(redis, day, group, member, keys.app_claims, Measure.APP_CLAIMS, None)


async def pledge_count(redis: Redis, group_id: str) -> int:
    """Return how many members pledged in a group."""
    return int(await redis.scard(keys.pledges(group_id)))


async def _once(
    redis: Redis,
    day: date,
    group: Group | None,
    member: str,
    key_for: Callable[[str], str],
    measure: Measure,
    unique: Unique | None,
) -> tuple[bool, int]:
    key = key_for(group.id if group else NO_GROUP)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.sadd(key, member)
        pipe.scard(key)
        added, count = await pipe.execute()
    if added:
        async with redis.pipeline(transaction=False) as pipe:
            reach.record(pipe, day, group, measure)
            if unique is not None:
                reach.record_unique(pipe, day, group, unique, member)
            await pipe.execute()
    return bool(added), int(count)
