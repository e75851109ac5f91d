"""Run an outbox worker in every instance for the app's lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from aiohttp import web
from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis

from bot.appkeys import LIBRARY, REDIS, SETTINGS
from bot.articles.store import ArticleStore
from bot.channels.wecom_bot import WECOM_BOT_LINK
from bot.channels.wecom_robot import ROBOT_CLIENT, RobotClient
from bot.push.outbox.config import OutboxConfig
from bot.push.outbox.worker import Worker
from bot.push.senders import Senders
from bot.store.groups import GroupRegistry

# A send waits at most this long for a robot slot; then it goes back to the delayed set.
ROBOT_SLOT_WAIT = 1.0

OUTBOX_WORKER = web.AppKey("outbox_worker", Worker)


def build_senders(app: web.Application) -> Senders:
    """Return the senders over the app's Redis, registry, articles and channel clients."""
    redis, settings, shared = app[REDIS], app[SETTINGS], app[ROBOT_CLIENT]
    config = replace(shared.config, max_wait=min(ROBOT_SLOT_WAIT, shared.config.max_wait))
    return Senders(
        redis=redis,
        registry=GroupRegistry(redis),
        articles=ArticleStore(app[LIBRARY], redis),
        robot=RobotClient(shared.session, shared.limiter, config),
        base_url=settings.base_url,
        timezone=settings.timezone,
        smart_bot=app.get(WECOM_BOT_LINK),
    )


def senders_client(redis: Redis, concurrency: int) -> Redis:
    """Return a client for the outbox worker on a pool of its own, when `redis` shares a
    blocking pool: there every checkout and release queues on one asyncio.Condition, and
    dozens of sends handing it on to each other cost a loop turn each (measured: 40 ms a
    record). The worker never holds more than one connection per send, plus its reader."""
    pool = redis.connection_pool
    if not isinstance(pool, BlockingConnectionPool):
        return redis
    most = 2 * concurrency + 8
    own = ConnectionPool(connection_class=pool.connection_class, max_connections=most,
                         **pool.connection_kwargs)  # fmt: skip
    return Redis.from_pool(own)


def setup_outbox(app: web.Application, config: OutboxConfig) -> None:
    """Run an outbox worker with `config` (read from the OUTBOX_* settings) for the app's life."""

    async def outbox_ctx(app: web.Application) -> AsyncIterator[None]:
        redis = senders_client(app[REDIS], config.concurrency)
        worker = app[OUTBOX_WORKER] = Worker(redis, build_senders(app), config)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        yield
        stop.set()
        await task  # in-flight sends finish, or stay pending for a takeover
        if redis is not app[REDIS]:
            await redis.aclose()

    app.cleanup_ctx.append(outbox_ctx)
