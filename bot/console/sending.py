"""Turn an approved queue item into an article and deliveries; the due-item loop.

The queue puts an item on the due list in the same step that schedules it or moves it to
"sent", and only the sender takes it off, after the deliveries are queued: a crash in between
leaves the send owed, and the due loop of any instance finishes it. Sends are idempotent:
every delivery key is "console/<id>|<group>", so the outbox queues a group once however many
instances (or retries) send the same item.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.appkeys import LIBRARY, REDIS, SETTINGS
from bot.articles.model import Article
from bot.articles.store import ArticleStore
from bot.console.queue import Item, Queue, QueueError
from bot.library import Library
from bot.models import Delivery, Group, GroupKind
from bot.push.audience import Audience as Selector
from bot.push.outbox import Outbox
from bot.store import keys
from bot.store.groups import GroupRegistry

log = logging.getLogger(__name__)

DUE_POLL_SECONDS = 5.0
SYSTEM_USER = "system"


def selector(item: Item) -> Selector:
    """Return the campaign audience an item's selector stands for."""
    kinds = frozenset(GroupKind(k) for k in item.audience.kinds)
    regions = (item.audience.region,) if item.audience.region else ()
    return Selector(kinds=kinds, regions=regions, groups=frozenset(item.audience.groups))


async def recipients(redis: Redis, item: Item) -> list[Group]:
    """Return the registered groups the item would go to now."""
    audience = selector(item)
    return [g for g in await GroupRegistry(redis).all() if audience.matches(g)]


def article(item: Item, timezone: str) -> Article:
    """Return the article page the item publishes."""
    return Article(
        id=item.article_id,
        title=item.title,
        summary=item.summary,
        body=item.body,
        kind="console",
        audiences=item.audience.kinds or ("all",),
        receipt=item.receipt,  # type: ignore[arg-type]
        date=datetime.now(ZoneInfo(timezone)).date(),
        images=item.images,
    )


async def send(redis: Redis, library: Library, timezone: str, item: Item) -> int:
    """Publish the item's article and queue one delivery per matched group; return how many."""
    if item.audience.empty:
        raise QueueError("没有选择发送对象：请至少选一种群类型、一个地区或一个群。")
    await ArticleStore(library, redis).publish(article(item, timezone))
    deliveries = [
        Delivery(
            key=f"{item.article_id}|{group.id}",
            group_id=group.id,
            item_id=item.article_id,
            style=item.style,  # type: ignore[arg-type]
            urgent=item.urgent,
            campaign="console",
        )
        for group in await recipients(redis, item)
    ]
    await Outbox(redis).enqueue(deliveries)
    log.info("console item %s queued for %d groups", item.id, len(deliveries))
    return len(deliveries)


async def complete(redis: Redis, library: Library, timezone: str, item: Item, user: str) -> Item:
    """Queue the deliveries of an item in state "sent" and record how many groups; return it."""
    try:
        groups = await send(redis, library, timezone, item)
    except QueueError as exc:
        log.error("console item %s cannot be sent: %s", item.id, exc)
        groups = 0
    # Whoever takes the entry off records the count; the deliveries themselves are idempotent.
    if await redis.zrem(keys.CONSOLE_DUE, item.id):
        return await Queue(redis).mark_sent(item, groups, user)
    return item


async def send_due(redis: Redis, library: Library, timezone: str, now: float) -> int:
    """Send every item whose time has come (scheduled, or owed after a crash); return how many."""
    sent = 0
    queue = Queue(redis)
    for due in await redis.zrangebyscore(keys.CONSOLE_DUE, "-inf", now):
        item = await queue.get(str(due))
        if item is None or item.state not in ("scheduled", "sent"):
            await redis.zrem(keys.CONSOLE_DUE, str(due))
            continue
        if item.state == "scheduled":
            try:
                item = await queue.move(item, "send", SYSTEM_USER, "")
            except QueueError:  # another instance moved it first: it sends it
                continue
        await complete(redis, library, timezone, item, SYSTEM_USER)
        sent += 1
    return sent


async def due_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the due-item loop for the app's lifetime."""
    task = asyncio.create_task(_due_loop(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _due_loop(app: web.Application) -> None:
    redis, library, timezone = app[REDIS], app[LIBRARY], app[SETTINGS].timezone
    while True:
        try:
            await send_due(redis, library, timezone, time.time())
        except (QueueError, RedisError, OSError):
            log.exception("console due-item loop failed; retrying")
        await asyncio.sleep(DUE_POLL_SECONDS)
