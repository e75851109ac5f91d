"""Member ids become keyed hashes before they reach any metric."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from redis.asyncio import Redis

from bot.store import keys


def member_label(member: str) -> str:
    """Return a humane stand-in for a member's name where none was given: 「群成员 3F9A」."""
    return f"群成员 {member[:4].upper()}"


class MemberHasher:
    """HMAC member ids with a secret so stored metrics never hold a raw id."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def __call__(self, channel: str, user: str) -> str:
        """Return the stable pseudonym of `user` on `channel`."""
        digest = hmac.new(self._secret, f"{channel}:{user}".encode(), hashlib.sha256)
        return digest.hexdigest()[:20]

    @classmethod
    async def shared(cls, redis: Redis, configured: str | None) -> MemberHasher:
        """Use the configured secret, else one generated once and shared by every instance."""
        if configured:
            return cls(configured.encode())
        await redis.set(keys.MEMBER_HASH_SECRET, secrets.token_hex(32), nx=True)
        stored = await redis.get(keys.MEMBER_HASH_SECRET)
        return cls(str(stored).encode())
