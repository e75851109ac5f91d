"""Tell reviewers through the WeCom app (when configured) that an item waits for them.

Reviewers' console user names are their WeCom user ids, as with forward-pack owners. The
message is optional: without the app, or when WeCom refuses, the console's badge still shows
the waiting item, so a failure is logged and never stops the submit.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.appkeys import REDIS, SETTINGS
from bot.channels.wecom_api import APIUnavailable, WeChatAPIError
from bot.channels.wecom_app import WECOM_APP
from bot.console.queue import Item
from bot.console.users import UserStore

log = logging.getLogger(__name__)


async def tell_reviewers(app: web.Application, item: Item, author: str) -> int:
    """Send every enabled reviewer a WeCom app message about `item`; return how many got it."""
    callback = app.get(WECOM_APP)
    api = callback.api if callback else None
    if api is None:
        return 0
    users = await UserStore(app[REDIS]).all()
    reviewers = [u.name for u in users if u.role == "reviewer" and not u.disabled]
    if not reviewers:
        return 0
    link = f"{app[SETTINGS].base_url.rstrip('/')}/console/items/{item.id}"
    text = f"有一条内容等待审核：《{item.title}》（{author} 提交）。请到控制台审核：{link}"
    try:
        receipt = await api.send_text(reviewers, text)
    except (WeChatAPIError, APIUnavailable) as exc:
        log.warning("review notice for item %s not sent: %s", item.id, exc)
        return 0
    return len(set(reviewers) - receipt.invalid_users)
