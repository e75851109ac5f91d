"""Lua scripts called by SHA inside pipelines, loaded again when Redis has lost them.

redis-py's Script objects check SCRIPT EXISTS before every pipeline that uses them: one more
round trip per send. These calls go straight to EVALSHA; on NOSCRIPT (Redis restarted or was
flushed) every script is loaded and the pipeline runs once more, which is safe because every
call the outbox pipelines is idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError


class Loadable(Protocol):
    """A script known by its source and SHA1 (ours, or a redis-py Script)."""

    @property
    def script(self) -> str | bytes | memoryview:
        """Return the Lua source."""

    @property
    def sha(self) -> str:
        """Return the source's SHA1, as EVALSHA names it."""


class Lua:
    """One script: its source and SHA1, queued on a pipeline by SHA."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.digest = hashlib.sha1(source.encode()).hexdigest()

    @property
    def script(self) -> str:
        """Return the Lua source."""
        return self.source

    @property
    def sha(self) -> str:
        """Return the source's SHA1."""
        return self.digest

    def queue(self, pipe: Pipeline, keys: list[str], args: Iterable[str | int | float]) -> None:
        """Queue one call of this script on `pipe`."""
        pipe.evalsha(self.sha, len(keys), *keys, *args)


class Pipelined:
    """Run pipelines of script calls, one round trip each while Redis knows the scripts."""

    def __init__(self, redis: Redis, scripts: Iterable[Loadable]) -> None:
        self.redis = redis
        self.scripts = list(scripts)

    async def run(self, build: Callable[[Pipeline], None]) -> list[Any]:
        """Queue calls with `build` on a fresh pipeline and return the results."""
        try:
            return await self._execute(build)
        except NoScriptError:
            for script in self.scripts:
                await self.redis.script_load(script.script)
            return await self._execute(build)

    async def _execute(self, build: Callable[[Pipeline], None]) -> list[Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            build(pipe)
            return list(await pipe.execute())

