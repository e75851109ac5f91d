"""Application factory: wire settings, Redis, content and channels into one aiohttp app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis

from bot.answers import lessons
from bot.answers.ocr import TextReader
from bot.appkeys import LIBRARY, REDIS, SERVICE, SETTINGS
from bot.articles.daily import setup_forward_packs
from bot.channels.config import ChannelConfigs
from bot.channels.official_account import setup_official_account
from bot.channels.simulator import SIMULATOR, Simulator
from bot.channels.wecom_app import setup_wecom_app
from bot.channels.wecom_bot import setup_wecom_bot, setup_wecom_bot_ws
from bot.channels.wecom_robot import setup_wecom_robot
from bot.library import Library, load_library
from bot.observability import setup_observability
from bot.push.outbox.app import setup_outbox
from bot.push.outbox.config import OutboxConfig
from bot.push.scheduler import setup_scheduler
from bot.quiz.rounds import QuizRounds
from bot.quiz.timers import quiz_timer_ctx
from bot.router import Dispatcher
from bot.service import ChatService
from bot.settings import Settings
from bot.store.embedded import EmbeddedRedis
from bot.store.groups import GroupRegistry
from bot.store.members import MemberHasher
from bot.web.middlewares import error_middleware, quiet_malformed_http
from bot.web.routes import setup_routes
from bot.web.sim import PUBLIC_SIMULATOR
from handlers import ROUTERS

log = logging.getLogger(__name__)

# Seconds a command may wait for a free pooled connection before it fails.
REDIS_POOL_WAIT = 10.0

MAX_BODY_BYTES = 64 * 1024
# The URL of an embedded Redis that `fanzha serve --workers N` started once for all workers.
SHARED_EMBEDDED_REDIS = web.AppKey("shared_embedded_redis", str)


def create_app(settings: Settings, library: Library | None = None) -> web.Application:
    """Return the service's web application; content is loaded (and validated) here."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[error_middleware])
    quiet_malformed_http()
    app[SETTINGS] = settings
    app[LIBRARY] = library or load_library(settings.content_dir)
    app[SIMULATOR] = Simulator()
    channels = ChannelConfigs.from_env(settings.environ)
    app[PUBLIC_SIMULATOR] = public_simulator(settings, channels)
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(service_ctx)
    app.cleanup_ctx.append(lessons_ctx)
    app.cleanup_ctx.append(quiz_timer_ctx)
    setup_routes(app)
    setup_observability(app)
    setup_channels(app, channels)
    setup_outbox(app, OutboxConfig.from_env(settings.environ))  # after the robot client
    setup_scheduler(app)  # loads schedules/ now: a bad campaign file stops start-up
    setup_forward_packs(app)
    return app


def public_simulator(settings: Settings, channels: ChannelConfigs) -> bool:
    """Return whether /sim and /api/sim/* are served: FANZHA_SIMULATOR when set, else only on
    the embedded default (no REDIS_URL and no real channel), never open to the internet."""
    if settings.simulator is not None:
        return settings.simulator
    return settings.redis_url is None and not channels.receiving


def setup_channels(app: web.Application, channels: ChannelConfigs) -> None:
    """Add the WeChat channels that are configured; the robot client is always available."""
    if channels.wecom_app:
        setup_wecom_app(app, channels.wecom_app)
    if channels.official_account:
        setup_official_account(app, channels.official_account)
    if channels.wecom_bot:
        setup_wecom_bot(app, channels.wecom_bot)
    if channels.wecom_bot_ws:
        setup_wecom_bot_ws(app, channels.wecom_bot_ws)
    setup_wecom_robot(app, channels.robot)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """Connect to REDIS_URL, or run an embedded Redis server for the app's lifetime."""
    settings = app[SETTINGS]
    embedded: EmbeddedRedis | None = None
    url = settings.redis_url or app.get(SHARED_EMBEDDED_REDIS)
    if url is None:
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        await asyncio.to_thread(embedded.start)
        url = embedded.url
    # A bounded pool that waits for a free connection: a burst of requests queues here
    # instead of opening thousands of connections to a Redis every instance shares.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=settings.redis_connections,
        timeout=REDIS_POOL_WAIT,
        decode_responses=True,
    )
    redis = Redis.from_pool(pool)
    try:
        await redis.ping()
        app[REDIS] = redis
        yield
    finally:
        await redis.aclose()
        if embedded:
            await asyncio.to_thread(embedded.stop)


async def service_ctx(app: web.Application) -> AsyncIterator[None]:
    """Build the chat service once Redis is up; on the embedded default, add the demo groups."""
    if app[SETTINGS].redis_url is None:
        await register_demo_groups(GroupRegistry(app[REDIS]), app[SIMULATOR])
    ocr = TextReader.from_env(app[SETTINGS].environ)
    app[SERVICE] = await build_service(app[SETTINGS], app[LIBRARY], app[REDIS], ocr=ocr)
    yield
    ocr.close()


async def lessons_ctx(app: web.Application) -> AsyncIterator[None]:
    """Keep every instance's knowledge base in step with the lessons officers approve."""
    dispatcher = app[SERVICE].dispatcher
    task = asyncio.create_task(
        lessons.follow(app[REDIS], app[LIBRARY].kb.entries, lambda kb: dispatcher.provide(kb=kb))
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def register_demo_groups(registry: GroupRegistry, simulator: Simulator) -> None:
    """Register the simulator's groups that are not registered yet (officers' edits stay)."""
    for group in simulator.groups.values():
        if await registry.get(group.id) is None:
            await registry.put(group)


async def build_service(
    settings: Settings,
    library: Library,
    redis: Redis,
    *,
    quiz: QuizRounds | None = None,
    ocr: TextReader | None = None,
) -> ChatService:
    """Return the chat service: routers, their dependencies, Redis and the member hasher
    (`quiz` replaces the default quiz rounds, e.g. with a test clock; `ocr` the image reader)."""
    dispatcher = Dispatcher(
        ROUTERS,
        content={
            "kb": library.kb,
            "risk": library.risk,
            "render": library.render,
            "settings": settings,
            "admins": settings.admins,
        },
        redis=redis,
        registry=GroupRegistry(redis),
        quiz=quiz or QuizRounds(redis, library.quiz),
        ocr=ocr or TextReader.from_env(settings.environ),
    )
    hasher = await MemberHasher.shared(redis, settings.member_hash_key)
    return ChatService(dispatcher, redis, hasher, settings)
