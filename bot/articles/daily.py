"""The scheduler's daily jobs for forward packs: tell owners about new items after each slot."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from bot.appkeys import REDIS, SETTINGS
from bot.articles import packs
from bot.channels.wecom_app import WECOM_APP
from bot.push.scheduler import add_daily_job
from bot.store.groups import GroupRegistry

# After the morning (10:30–11:30) and evening (17:00–18:00) push slots the seeds name.
DELIVERY_TIMES = (("forward-packs-noon", "11:45"), ("forward-packs-evening", "18:15"))


def setup_forward_packs(app: web.Application) -> None:
    """Have the scheduler send owners their pack cards after each push slot."""
    for name, at in DELIVERY_TIMES:
        add_daily_job(app, name, at, deliver_job)


async def deliver_job(app: web.Application, day: date) -> None:
    """Send owners their pack cards through the WeCom app, when it is configured."""
    callback = app.get(WECOM_APP)
    redis = app[REDIS]
    await packs.deliver_daily(
        redis,
        GroupRegistry(redis),
        callback.api if callback else None,
        day,
        base_url=app[SETTINGS].base_url,
    )
