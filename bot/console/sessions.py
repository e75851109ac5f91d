"""Server-side console sessions: a random cookie token, its SHA-256 as the Redis key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.store import keys

COOKIE = "fz_session"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in session: whose it is and the CSRF token its forms must carry."""

    token: str
    user: str
    csrf: str
    generation: int = 0  # the user's password generation when the session opened


def _key(token: str) -> str:
    return keys.console_session(hashlib.sha256(token.encode()).hexdigest())


async def open_session(redis: Redis, user: str, generation: int = 0) -> Session:
    """Start a session for `user` and return it (the token goes into the cookie)."""
    session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), generation)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            _key(session.token),
            mapping={"user": user, "csrf": session.csrf, "generation": str(generation)},
        )
        pipe.expire(_key(session.token), SESSION_SECONDS)
        await pipe.execute()
    return session


async def load_session(redis: Redis, token: str) -> Session | None:
    """Return the live session for a cookie token, or None; each use extends its life."""
    if not token or len(token) > 100:
        return None
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(_key(token))
        pipe.expire(_key(token), SESSION_SECONDS)
        fields, _ = await pipe.execute()
    if not fields.get("user") or not fields.get("csrf"):
        return None
    return Session(token, fields["user"], fields["csrf"], int(fields.get("generation", 0)))


async def close_session(redis: Redis, token: str) -> None:
    """End a session (logout)."""
    await redis.delete(_key(token))
