"""`fanzha serve`: run the service, in one process or in N worker processes sharing the port.

With --workers N > 1 every worker binds the same port with SO_REUSEPORT (the kernel spreads
connections over them) and all use one Redis: REDIS_URL, or the embedded one, which this
process starts once before the workers and stops after them. uvloop runs the event loop when
it is installed (it is a dependency). The access log is off unless FANZHA_ACCESS_LOG=on: at
every request it costs about a tenth of a callback's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import signal
from dataclasses import replace
from types import FrameType

from bot.cli.common import Commands
from bot.library import Library, load_library
from bot.settings import Settings, SettingsError
from bot.store.embedded import EmbeddedRedis

log = logging.getLogger(__name__)


def add_parser(commands: Commands) -> None:
    """Register `serve`."""
    serve = commands.add_parser("serve", help="启动服务（没有设置 REDIS_URL 时使用内置 Redis）")
    serve.add_argument("--host", help="监听地址（默认 FANZHA_HOST）")
    serve.add_argument("--port", type=int, help="监听端口（默认 FANZHA_PORT）")
    serve.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1,
        help="工作进程数，共用一个端口和一个 Redis（默认：CPU 核数）",
    )  # fmt: skip
    serve.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until stopped."""
    settings = replace(settings, host=args.host or settings.host, port=args.port or settings.port)
    if args.workers < 1:
        raise SettingsError("--workers", str(args.workers), "应为不小于 1 的整数")
    access_log = _access_log(settings)
    library = load_library(settings.content_dir)  # bad content stops start-up here, once
    print(f"反诈助手已启动：http://{settings.host}:{settings.port}/sim", flush=True)
    if args.workers == 1:
        serve(settings, library, None, access_log, reuse_port=False)
        return 0
    embedded = None if settings.redis_url else EmbeddedRedis(settings.data_dir / "redis").start()
    try:
        shared = embedded.url if embedded else None
        _run_workers(settings, library, shared, access_log, args.workers)
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _access_log(settings: Settings) -> bool:
    raw = settings.environ.get("FANZHA_ACCESS_LOG", "off").strip().lower()
    if raw not in ("on", "off"):
        raise SettingsError("FANZHA_ACCESS_LOG", raw, "应为 on 或 off")
    return raw == "on"


def serve(settings: Settings, library: Library, shared_redis: str | None, access_log: bool, *,
          reuse_port: bool) -> None:  # fmt: skip
    """Run one service process until it is stopped."""
    from aiohttp import web

    from bot.app import SHARED_EMBEDDED_REDIS, create_app

    app = create_app(settings, library)
    if shared_redis is not None:
        app[SHARED_EMBEDDED_REDIS] = shared_redis
    web.run_app(
        app, host=settings.host, port=settings.port, print=None, reuse_port=reuse_port or None,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
        loop=_new_loop(),
    )  # fmt: skip


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # uvloop is a dependency; without it the stdlib loop works too
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def _run_workers(settings: Settings, library: Library, shared_redis: str | None,
                 access_log: bool, count: int) -> None:  # fmt: skip
    """Start `count` workers on the shared port; stop them all when this process is stopped."""
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=serve, args=(settings, library, shared_redis, access_log),
                        kwargs={"reuse_port": True}, name=f"fanzha-worker-{n}")
        for n in range(count)
    ]  # fmt: skip

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)  # a requested stop is a clean exit, as in one process

    try:
        for worker in workers:
            worker.start()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
        log.info("%d workers serve port %d", count, settings.port)
        for worker in workers:
            worker.join()
    finally:
        for worker in workers:
            if worker.is_alive():
                os.kill(worker.pid or 0, signal.SIGINT)
        for worker in workers:
            worker.join()
