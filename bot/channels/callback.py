"""Mount a WeChat-family callback endpoint and the API client it pushes late replies with."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Generic, Protocol, TypeVar

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.appkeys import REDIS
from bot.channels.wechat_crypto import LateReplies

Api = TypeVar("Api")


class CallbackEndpoint(Protocol, Generic[Api]):
    """A callback that verifies its URL, receives messages and holds an API client."""

    api: Api | None
    late: LateReplies

    async def verify_url(self, request: web.Request) -> web.StreamResponse: ...

    async def receive(self, request: web.Request) -> web.StreamResponse: ...


def mount_callback(
    app: web.Application,
    route: str,
    endpoint: CallbackEndpoint[Api],
    open_api: Callable[[aiohttp.ClientSession, Redis], Api],
) -> None:
    """Add GET (URL check) and POST (messages) on `route`; open the API client with the app."""
    app.router.add_get(route, endpoint.verify_url)
    app.router.add_post(route, endpoint.receive)

    async def api_ctx(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            endpoint.api = open_api(session, app[REDIS])
            yield
            await endpoint.late.close()
            endpoint.api = None

    app.cleanup_ctx.append(api_ctx)
