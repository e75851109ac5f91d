"""Short-lived conversation state: numbered menus and the per-group reply limit.

A one-to-one conversation is keyed by the member's hash, never by the raw member id.
"""

from __future__ import annotations

import json

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.models import Message
from bot.store import keys

MENU_TTL_SECONDS = 600


def scope(message: Message, member: str) -> str:
    """Return the conversation's part of a key: the group, or the member's hash one-to-one."""
    return f"g:{message.group.id}" if message.group else f"u:{message.channel}:{member}"


def remember_menu(pipe: Pipeline, message: Message, member: str, ids: tuple[str, ...]) -> None:
    """Queue on `pipe` the entry ids just offered to a member as a numbered menu."""
    key = keys.menu(scope(message, member), member)
    pipe.set(key, json.dumps(ids), ex=MENU_TTL_SECONDS)


async def menu_choice(redis: Redis, message: Message, member: str, number: int) -> str | None:
    """Return the entry id a member picked by number from their last menu, if it is still open."""
    raw = await redis.get(keys.menu(scope(message, member), member))
    if raw is None:
        return None
    ids: list[str] = json.loads(raw)
    return ids[number - 1] if 1 <= number <= len(ids) else None
