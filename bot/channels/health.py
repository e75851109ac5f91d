"""What the channels add to /healthz and /metrics: the smart bot's long connection.

Any instance reports the takeover on record (it is shared in Redis), so a load balancer or an
officer sees "taken over by another client, retry at ..." wherever they look; the counters are
this instance's own.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from bot.appkeys import REDIS
from bot.channels.wecom_bot import WECOM_BOT_LINK
from bot.channels.wecom_bot_takeover import read_takeover

Family = tuple[str, str, str, list[tuple[str, float]]]  # name, type, help, samples


async def channel_health(app: web.Application) -> dict[str, Any]:
    """Return the channel part of /healthz ({} without a long connection)."""
    link = app.get(WECOM_BOT_LINK)
    if link is None:
        return {}
    try:
        takeover = await read_takeover(app[REDIS], link.config.bot_id)
    except (RedisError, OSError):
        return {"wecom_bot_ws": {"state": "unknown", "here": link.connected.is_set()}}
    state = "connected" if link.connected.is_set() else "standby"
    if takeover is not None and not link.connected.is_set():
        state = "taken_over"
    view: dict[str, Any] = {"state": state, "here": link.connected.is_set()}
    if takeover is not None:
        view["taken_over"] = takeover.view()
    return {"wecom_bot_ws": view}


async def channel_families(app: web.Application) -> list[Family]:
    """Return the channel metric families for /metrics ([] without a long connection)."""
    link = app.get(WECOM_BOT_LINK)
    if link is None:
        return []
    taken = await read_takeover(app[REDIS], link.config.bot_id) is not None
    refused = [
        (f'{{cmd="{cmd}",errcode="{code}"}}', float(count))
        for (cmd, code), count in sorted(link.refusals.items())
    ]
    over = float(link.gate.over_limit) if link.gate is not None else 0.0
    return [
        ("fanzha_wecom_bot_ws_connected", "gauge",
         "1 when this instance holds the smart bot's long connection.",
         [("", float(link.connected.is_set()))]),
        ("fanzha_wecom_bot_ws_taken_over", "gauge",
         "1 while another client holds the smart bot (disconnected_event), all instances.",
         [("", float(taken))]),
        ("fanzha_wecom_bot_ws_takeovers_total", "counter",
         "disconnected_events this instance received.", [("", float(link.takeovers))]),
        ("fanzha_wecom_bot_ws_refused_total", "counter",
         "Frames WeCom acknowledged with a non-zero errcode, by command and errcode.", refused),
        ("fanzha_wecom_bot_replies_over_limit_total", "counter",
         "Replies sent into a conversation past its 30/min or 1000/h.", [("", over)]),
    ]  # fmt: skip
