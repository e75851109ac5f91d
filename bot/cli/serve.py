"""`fanzha serve`: run the service."""

from __future__ import annotations

import argparse
from dataclasses import replace

from bot.cli.common import Commands
from bot.settings import Settings


def add_parser(commands: Commands) -> None:
    """Register `serve`."""
    serve = commands.add_parser("serve", help="启动服务（没有设置 REDIS_URL 时使用内置 Redis）")
    serve.add_argument("--host", help="监听地址（默认 FANZHA_HOST）")
    serve.add_argument("--port", type=int, help="监听端口（默认 FANZHA_PORT）")
    serve.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until stopped."""
    from aiohttp import web

    from bot.app import create_app

    settings = replace(settings, host=args.host or settings.host, port=args.port or settings.port)
    app = create_app(settings)
    print(f"反诈助手已启动：http://{settings.host}:{settings.port}/sim", flush=True)
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0
