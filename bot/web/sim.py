"""The simulator's chat page and JSON API, and the health check.

The public page and API (/sim, /api/sim/*) are mounted only where PUBLIC_SIMULATOR is set;
the console's 试一试 page (bot/web/tryit.py) serves the same handlers to logged-in officers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from aiohttp import web
from aiohttp.typedefs import Handler
from redis.exceptions import RedisError

from bot import appkeys as keys
from bot.answers.images import MAX_IMAGE_BYTES
from bot.bounded import whole_number
from bot.channels.base import InboundError
from bot.channels.health import channel_health
from bot.channels.simulator import PRIVATE, SIMULATOR
from bot.models import Group, PushTarget
from bot.store import keys as redis_keys
from bot.store.groups import GroupRegistry
from bot.web.middlewares import json_body

PUBLIC_SIMULATOR = web.AppKey("public_simulator", bool)
PUBLIC_API = "/api/sim"


async def home(request: web.Request) -> web.StreamResponse:
    """Send visitors to the simulator, or to the console where the simulator is not public."""
    raise web.HTTPFound("/sim" if request.app[PUBLIC_SIMULATOR] else "/console")


async def healthz(request: web.Request) -> web.Response:
    """Answer 200 when Redis answers, 503 otherwise."""
    try:
        await request.app[keys.REDIS].ping()
    except (RedisError, OSError):
        return web.json_response({"status": "redis unavailable"}, status=503)
    return web.json_response({"status": "ok", **await channel_health(request.app)})


def add_chat_api(
    app: web.Application, prefix: str, guard: Callable[[Handler], Handler] = lambda h: h
) -> None:
    """Register the chat page's API under `prefix`, each handler wrapped in `guard`."""
    app.router.add_get(prefix + "/groups", guard(groups))
    app.router.add_post(prefix + "/messages", guard(messages))
    app.router.add_post(prefix + "/images", guard(images))
    app.router.add_get(prefix + "/feed", guard(feed))


async def page(request: web.Request) -> web.Response:
    """Render the public chat page with the demo groups."""
    return chat_page(request, api=PUBLIC_API)


def chat_page(request: web.Request, *, api: str, csrf: str = "", back: str = "") -> web.Response:
    """Render the chat page talking to `api` (with CSRF token `csrf`, a link `back` home)."""
    settings = request.app[keys.SETTINGS]
    template = request.app[keys.PAGES].get_template("sim.html.j2")
    html = template.render(
        groups=[
            *(_group_view(g) for g in request.app[SIMULATOR].groups.values()),
            PRIVATE_VIEW,
        ],
        static_url="/static/",
        mention=settings.mention,
        api=api,
        csrf=csrf,
        back=back,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def groups(request: web.Request) -> web.Response:
    """List the demo groups."""
    return web.json_response([_group_view(g) for g in request.app[SIMULATOR].groups.values()])


async def messages(request: web.Request) -> web.Response:
    """Take one member message and return the bot's replies."""
    simulator = request.app[SIMULATOR]
    message = simulator.parse(await json_body(request))
    reply = await request.app[keys.SERVICE].handle(message)
    return web.json_response(simulator.render(reply))


async def images(request: web.Request) -> web.Response:
    """Take one screenshot (the raw body; group and user in the query) and return the verdict."""
    simulator = request.app[SIMULATOR]
    query = {"group": request.query.get("group"), "user": request.query.get("user")}
    message = simulator.parse({**query, "text": "［图片］"})
    data = await read_image_body(request)
    reply = await request.app[keys.SERVICE].handle(replace(message, image=data, addressed=True))
    return web.json_response(simulator.render(reply))


async def read_image_body(request: web.Request) -> bytes:
    """Read an uploaded image of at most MAX_IMAGE_BYTES, or raise InboundError (413/400)."""
    if request.content_length is not None and request.content_length > MAX_IMAGE_BYTES:
        raise InboundError(413, "图片太大了：请发 10 MB 以内的截图。")
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > MAX_IMAGE_BYTES:
            raise InboundError(413, "图片太大了：请发 10 MB 以内的截图。")
    if not data:
        raise InboundError(400, "没有收到图片：请选一张截图再发。")
    return bytes(data)


async def feed(request: web.Request) -> web.Response:
    """Return the pushes a simulator group received after push number `after` (oldest first)."""
    group_id = request.query.get("group", "")
    after = whole_number(request.query.get("after", "0"), 12)
    if after is None:
        raise InboundError(400, "参数 after 必须是不小于 0 的整数。")
    redis = request.app[keys.REDIS]
    if group_id not in request.app[SIMULATOR].groups:
        group = await GroupRegistry(redis).get(group_id) if 0 < len(group_id) <= 128 else None
        if group is None or group.target is not PushTarget.SIMULATOR:
            raise InboundError(404, "没有这个模拟群。")
    stored = await redis.lrange(redis_keys.sim_feed(group_id), 0, -1)
    pushes = [push for push in map(json.loads, stored) if push["id"] > after]
    return web.json_response({"group": group_id, "pushes": pushes})


# The one-to-one conversation, shown beside the groups: there every message is addressed.
PRIVATE_VIEW = {
    "id": PRIVATE,
    "name": "和反诈助手私聊",
    "kind": PRIVATE,
    "kind_label": "私聊",
    "region": "一对一提问",
    "members": 0,
}


def _group_view(group: Group) -> dict[str, object]:
    return {
        "id": group.id,
        "name": group.name,
        "kind": group.kind.value,
        "kind_label": group.kind.label,
        "region": group.region,
        "members": group.members,
    }
