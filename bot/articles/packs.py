"""Forward packs: each owner's items of the day for the personal WeChat groups they forward to."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

from redis.asyncio import Redis

from bot.articles.links import stable_code
from bot.channels.wecom_api import APIUnavailable, WeChatAPIError, WeComAPI
from bot.channels.wecom_robot import Article as NewsCard
from bot.models import Group, PushTarget
from bot.store import keys, reach
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure

log = logging.getLogger(__name__)

PACK_TTL_SECONDS = 8 * 24 * 3600  # the page shows the last 7 days


@dataclass(frozen=True, slots=True)
class PackLine:
    """One item an owner should forward to one of their groups."""

    item_id: str
    group_id: str


async def add(redis: Redis, group: Group, item_id: str, day: date) -> bool:
    """Put `item_id` in the pack of `group`'s owner for `day`; False if it was already there."""
    if not group.owner:
        raise ValueError(f"group {group.id} has no owner to forward its pack")
    name = keys.pack_items(group.owner, day)
    added = await redis.zadd(name, {f"{item_id}|{group.id}": time.time()}, nx=True)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.expire(name, PACK_TTL_SECONDS)
        pipe.sadd(keys.pack_owners(day), group.owner)
        pipe.expire(keys.pack_owners(day), PACK_TTL_SECONDS)
        if added:
            reach.record(pipe, day, group, Measure.FORWARD_PACKS)
        await pipe.execute()
    return bool(added)


async def lines(redis: Redis, owner: str, day: date) -> list[PackLine]:
    """Return the owner's pack for `day`, in the order the items arrived."""
    stored = await redis.zrange(keys.pack_items(owner, day), 0, -1)
    return [PackLine(*str(member).rsplit("|", 1)) for member in stored]


async def owner_code(redis: Redis, owner: str) -> str:
    """Return the unguessable code of the owner's pack page, issued once."""
    return await stable_code(redis, keys.PACK_CODES, keys.PACK_OWNERS, owner)


async def owner_for(redis: Redis, code: str) -> str | None:
    """Return the owner whose pack page `code` opens, or None."""
    if not code or len(code) > 32:
        return None
    found = await redis.hget(keys.PACK_OWNERS, code)
    return str(found) if found else None


def pack_url(base_url: str, code: str) -> str:
    """Return the public address of an owner's pack page."""
    return f"{base_url.rstrip('/')}/p/{code}"


async def deliver_daily(
    redis: Redis,
    registry: GroupRegistry,
    app_sender: WeComAPI | None,
    day: date,
    *,
    base_url: str,
) -> int:
    """Send each owner whose pack for `day` grew since their last card a card to it.

    Runs after each push slot (noon, evening): an owner hears once per slot with new items,
    never twice for the same items, whichever instance runs it. A failed send is released so
    the next run tries again. Without the WeCom app the pack stays on its page. Returns the
    number of cards sent.
    """
    if app_sender is None:
        return 0
    sent = 0
    for owner in sorted(await redis.smembers(keys.pack_owners(day))):
        owner = str(owner)
        count = len(await lines(redis, owner, day))
        if not await _has_forward_group(registry, owner):
            continue
        announced = await _announce(redis, day, owner, count)
        if announced is None:
            continue
        card = NewsCard(
            title=f"今日反诈转发包：{count - announced}条新内容",
            description="打开后一键复制文字和您专属的链接，转发到您负责的群里即可。",
            url=pack_url(base_url, await owner_code(redis, owner)),
        )
        try:
            receipt = await app_sender.send_news([owner], [card])
        except (WeChatAPIError, APIUnavailable, ValueError) as exc:
            log.warning("forward pack for owner %s on %s not sent: %s", owner, day, exc)
            await redis.hset(keys.pack_delivered(day), owner, announced)
            continue
        if owner.lower() in receipt.invalid_users:
            # Not a member of the WeCom app: retrying cannot help; the page still works.
            log.warning("forward pack owner %s is not a WeCom app member", owner)
            continue
        sent += 1
    return sent


# Raise an owner's announced item count to ARGV[1] if it is lower; return the old count or -1.
_ANNOUNCE = """
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if old >= tonumber(ARGV[2]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return old
"""


async def _announce(redis: Redis, day: date, owner: str, count: int) -> int | None:
    """Claim the card for an owner's items up to `count`; None if they were announced."""
    old = int(
        await redis.eval(_ANNOUNCE, 1, keys.pack_delivered(day), owner, count, PACK_TTL_SECONDS)
    )
    return None if old < 0 else old


async def _has_forward_group(registry: GroupRegistry, owner: str) -> bool:
    """Only owners who still forward to at least one group get a card."""
    return any(g.target is PushTarget.FORWARD for g in await registry.find(owner=owner))
