"""Trackable links: one short random code per group (and forwarder), stable once issued.

A code is never derived from the group id, so nobody can guess another group's link or learn
which groups exist. The first instance to issue a code wins (HSETNX); every later call returns
the same code.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import quote

from redis.asyncio import Redis

from bot.store import keys

CODE_BYTES = 8  # 11 URL-safe characters, 64 random bits
MAX_CODE_CHARS = 32


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """Whom a link code stands for: a group, optionally through one forwarder."""

    group_id: str
    forwarder: str = ""


async def stable_code(redis: Redis, codes: str, targets: str, target: str) -> str:
    """Return the code for `target` in the pair of hashes, issuing a random one the first time."""
    await redis.hsetnx(codes, target, secrets.token_urlsafe(CODE_BYTES))
    code = str(await redis.hget(codes, target))
    # Whoever won the race, the winning code maps back to the same target.
    await redis.hsetnx(targets, code, target)
    return code


async def code_for(redis: Redis, group_id: str, forwarder: str = "") -> str:
    """Return the link code of `group_id` (as forwarded by `forwarder`, if given)."""
    return await stable_code(redis, keys.LINK_CODES, keys.LINK_TARGETS, f"{group_id}|{forwarder}")


async def resolve(redis: Redis, code: str) -> LinkTarget | None:
    """Return what `code` stands for, or None for an unknown or malformed code."""
    if not code or len(code) > MAX_CODE_CHARS:
        return None
    stored = await redis.hget(keys.LINK_TARGETS, code)
    if stored is None:
        return None
    group_id, _, forwarder = str(stored).rpartition("|")
    return LinkTarget(group_id, forwarder)


def article_url(base_url: str, item_id: str, code: str) -> str:
    """Return the public address of an article for one link code."""
    path = quote(item_id, safe="/")
    return f"{base_url.rstrip('/')}/a/{path}?g={quote(code, safe='')}"
