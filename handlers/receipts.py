"""A member's "收到" in a group counts as the 回执 for the item the bot pushed there last.

Only the latest item pushed to the group in the last three days counts, once per member. The bot
stays quiet when nobody addressed it: in a 家长群 forty parents answering 收到 would otherwise get
forty bot messages back, burying the article. "@bot 收到" gets one short confirmation.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.articles import receipts
from bot.filters import text_is
from bot.models import Message, Reply
from bot.router import Router
from bot.settings import Settings

router = Router("receipts")

ACKNOWLEDGEMENTS = ("收到", "已阅", "已读", "已收到", "收到了")


async def recently_pushed(message: Message, redis: Redis) -> dict[str, Any] | None:
    """Pass in a group that was pushed an item within the window; hand over `item_id`."""
    if message.group is None:
        return None
    item_id = await receipts.latest_pushed(redis, message.group.id, message.at.timestamp())
    return {"item_id": item_id} if item_id else None


@router.message(text_is(*ACKNOWLEDGEMENTS), recently_pushed)
async def acknowledge(
    message: Message, member: str, item_id: str, redis: Redis, settings: Settings
) -> Reply | None:
    """Count one receipt per member for the latest pushed item; confirm only when addressed."""
    day = message.at.astimezone(ZoneInfo(settings.timezone)).date()
    first = await receipts.record(redis, day, item_id, member, message.group, how="chat")
    if not message.addressed:
        return None
    text = "已记下您的回执，谢谢！" if first else "您的回执已经记过了，谢谢！"
    return Reply.text(text, intent="receipt")
