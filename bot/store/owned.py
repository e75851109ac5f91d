"""Change a key only while it still holds the value we put there (a claim, lease or token)."""

from __future__ import annotations

from redis.asyncio import Redis

# KEYS[1] the key; ARGV[1] the value we expect it to hold.
_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# KEYS[1] the key; ARGV[1] the expected value; ARGV[2] the new time to live in milliseconds.
_EXPIRE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


async def delete_if_equal(redis: Redis, key: str, value: str) -> bool:
    """Delete `key` if it still holds `value`; return True when it did."""
    return bool(await redis.eval(_DELETE_IF_EQUAL, 1, key, value))


async def expire_if_equal(redis: Redis, key: str, value: str, ttl_ms: int) -> bool:
    """Extend `key`'s life to `ttl_ms` if it still holds `value`; return True when it did."""
    return bool(await redis.eval(_EXPIRE_IF_EQUAL, 1, key, value, ttl_ms))
