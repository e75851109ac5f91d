"""What every command group shares: one way to reach the configured Redis."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeAlias, TypeVar

from redis.asyncio import Redis

from bot.settings import Settings
from bot.store.embedded import open_redis

_T = TypeVar("_T")

# The subparsers object argparse hands out (generic only to type checkers).
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def with_redis(settings: Settings, use: Callable[[Redis], Awaitable[_T]]) -> _T:
    """Run `use` on the configured Redis, the running service's, or a freshly started one."""

    async def run(url: str) -> _T:
        redis = Redis.from_url(url, decode_responses=True)
        try:
            return await use(redis)
        finally:
            await redis.aclose()

    with open_redis(settings.redis_url, settings.data_dir) as url:
        return asyncio.run(run(url))
