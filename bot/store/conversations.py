"""Short-lived conversation state: numbered menus and the per-group reply limit."""

from __future__ import annotations

import json

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.store import keys

MENU_TTL_SECONDS = 600


def remember_menu(pipe: Pipeline, conversation: str, member: str, ids: tuple[str, ...]) -> None:
    """Queue on `pipe` the entry ids just offered to a member as a numbered menu."""
    pipe.set(keys.menu(conversation, member), json.dumps(ids), ex=MENU_TTL_SECONDS)


async def menu_choice(redis: Redis, conversation: str, member: str, number: int) -> str | None:
    """Return the entry id a member picked by number from their last menu, if it is still open."""
    raw = await redis.get(keys.menu(conversation, member))
    if raw is None:
        return None
    ids: list[str] = json.loads(raw)
    return ids[number - 1] if 1 <= number <= len(ids) else None
