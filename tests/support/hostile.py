"""Hostile XML bodies every callback test refuses, and a way to see that nothing was written."""

from __future__ import annotations

from redis.asyncio import Redis

XML_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<xml><Encrypt>&lol3;</Encrypt></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><Encrypt>&xxe;</Encrypt></xml>"
)


async def writes(redis: Redis) -> int:
    """Return Redis's count of writes so far (rdb_changes_since_last_save)."""
    return int((await redis.info("persistence"))["rdb_changes_since_last_save"])
