"""Who a push reaches and what each group gets: selectors, rotation, the daily cap, alerts.

Targeting happens when a push fires, against the registry as it is then. A group receives an
item only when the item is written for its kind; unbound and no-target groups never receive one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.models import Delivery, Group, GroupKind
from bot.push.audience import Audience
from bot.push.campaigns import Campaign
from bot.push.catalog import Catalog
from bot.store import keys
from bot.store.groups import GroupRegistry, parse_kind

log = logging.getLogger(__name__)

CAP_TTL_SECONDS = 3 * 24 * 3600
_SELECTOR_KEYS = ("kind", "region", "group", "exclude", "exclude_region")

# Return the item this fire already picked, else the first pool item the group has not had;
# when the pool is exhausted, start over. KEYS: sent set, pick hash. ARGV: fire, pool...
_PICK = """
if redis.call('HGET', KEYS[2], 'fire') == ARGV[1] then
  return redis.call('HGET', KEYS[2], 'item')
end
local pick = nil
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then pick = ARGV[i] break end
end
if not pick then
  redis.call('DEL', KEYS[1])
  pick = ARGV[2]
end
redis.call('SADD', KEYS[1], pick)
redis.call('HSET', KEYS[2], 'fire', ARGV[1], 'item', pick)
return pick
"""
# Count a fire against a group's daily cap once; 1 when the push may go, 0 when over the cap.
# KEYS: the group's day set. ARGV: fire key, cap, ttl.
_CAP = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


class DeliverySink(Protocol):
    """Where deliveries go: bot.push.outbox.Outbox."""

    async def enqueue(self, deliveries: Iterable[Delivery]) -> int: ...


class TargetingError(ValueError):
    """A selector or alert that cannot be sent; the message is the Chinese reason."""


def parse_selector(text: str) -> Audience:
    """Parse "kind=village,region=城关镇,group=ID,exclude=ID,exclude_region=X" into an audience."""
    values: dict[str, list[str]] = {key: [] for key in _SELECTOR_KEYS}
    for part in text.replace("，", ",").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip().replace("-", "_"), value.strip().strip("/")
        if not sep or key not in values or not value:
            raise TargetingError(f"看不懂“{part.strip()}”：请写成 kind=village,region=城关镇 这样")
        values[key].append(value)
    kinds = []
    for word in values["kind"]:
        kind = parse_kind(word)
        if kind is None or kind is GroupKind.UNBOUND:
            raise TargetingError(f"不认识“{word}”这个群类型")
        kinds.append(kind)
    audience = Audience(
        kinds=frozenset(kinds),
        regions=tuple(values["region"]),
        groups=frozenset(values["group"]),
        exclude_groups=frozenset(values["exclude"]),
        exclude_regions=tuple(values["exclude_region"]),
    )
    if audience.empty:
        raise TargetingError("没有指定发给谁：至少写一个 kind=、region= 或 group=")
    return audience


def targets(
    groups: Iterable[Group], audience: Audience, catalog: Catalog, item: str
) -> list[Group]:
    """Return the groups the audience selects that `item` is written for."""
    return [g for g in groups if audience.matches(g) and not catalog.problem(item, [g.kind])]


def group_pool(campaign: Campaign, catalog: Catalog, group: Group) -> list[str]:
    """Return the campaign's items `group` may receive: none unless the audience selects it."""
    if not campaign.audience.matches(group):
        return []
    return [item for item in campaign.items if not catalog.problem(item, [group.kind])]


async def fire_deliveries(
    redis: Redis,
    registry: GroupRegistry,
    catalog: Catalog,
    campaign: Campaign,
    at: datetime,
) -> list[Delivery]:
    """Return one delivery per targeted group for this fire, advancing rotations and caps."""
    fire = at.isoformat()
    chosen: list[tuple[Group, list[str]]] = []
    for group in await registry.all():
        pool = group_pool(campaign, catalog, group)
        if pool:
            chosen.append((group, pool))
    if not chosen:
        return []
    allowed = await _within_cap(redis, [g for g, _ in chosen], at.date(), campaign, fire)
    picks = await _pick(redis, campaign.id, [(g, p) for g, p in chosen if g.id in allowed], fire)
    return [
        Delivery(
            key=f"{campaign.id}|{group_id}|{fire}",
            group_id=group_id,
            item_id=item,
            style=campaign.style,
            campaign=campaign.id,
        )
        for group_id, item in picks
    ]


async def _within_cap(
    redis: Redis, groups: Sequence[Group], day: date, campaign: Campaign, fire: str
) -> set[str]:
    script = redis.register_script(_CAP)
    async with redis.pipeline(transaction=False) as pipe:
        for group in groups:
            args: list[str | int] = [
                f"{campaign.id}|{fire}",
                campaign.timing.daily_cap,
                CAP_TTL_SECONDS,
            ]
            await script(keys=[keys.daily_pushes(group.id, day)], args=args, client=pipe)
        results = await pipe.execute()
    over = [g.id for g, ok in zip(groups, results, strict=True) if not ok]
    if over:
        log.info("campaign %s fire %s: daily cap reached for groups %s", campaign.id, fire, over)
    return {g.id for g, ok in zip(groups, results, strict=True) if ok}


async def _pick(
    redis: Redis, campaign: str, pools: Sequence[tuple[Group, list[str]]], fire: str
) -> list[tuple[str, str]]:
    script = redis.register_script(_PICK)
    async with redis.pipeline(transaction=False) as pipe:
        for group, pool in pools:
            names = [
                keys.rotation_sent(campaign, group.id),
                keys.rotation_pick(campaign, group.id),
            ]
            await script(keys=names, args=[fire, *pool], client=pipe)
        items = await pipe.execute()
    return [(group.id, str(item)) for (group, _), item in zip(pools, items, strict=True)]


async def send_alert(
    redis: Redis,
    registry: GroupRegistry,
    outbox: DeliverySink,
    item_id: str,
    selector: str,
    *,
    catalog: Catalog | None = None,
    now: datetime | None = None,
) -> int:
    """Queue `item_id` now, ahead of scheduled pushes, to every selected group; return how many.

    Raise TargetingError (a Chinese reason) for an empty selector or an unknown item. The same
    alert submitted twice within a minute is queued once.
    """
    audience = parse_selector(selector)
    item = item_id.strip().removesuffix(".md")
    catalog = catalog or Catalog.from_content()
    if not catalog.has(item):
        raise TargetingError(f"找不到内容“{item}”：请写成 alerts/文件名 或 scams/骗局编号")
    if audience.kinds and catalog.problem(item, audience.kinds):
        raise TargetingError(f"“{item}”不是写给所选群类型的，请换一篇内容或改 kind=")
    minute = (now or datetime.now(ZoneInfo("UTC"))).strftime("%Y%m%d%H%M")
    groups = targets(await registry.all(), audience, catalog, item)
    deliveries = [
        Delivery(
            key=f"alert:{item}|{group.id}|{minute}",
            group_id=group.id,
            item_id=item,
            style="news",
            urgent=True,
            campaign="alert",
        )
        for group in groups
    ]
    await outbox.enqueue(deliveries)
    log.info("urgent alert %s queued for %d groups", item, len(deliveries))
    return len(deliveries)
