"""Who may hold the smart bot's long connection: one instance of ours, and none for a while
after another client has taken it over.

Among our instances exactly one holds the connection: the holder owns a Redis lease (SET NX PX),
renews it with every heartbeat and lets it go when it stops.

WeCom keeps one live long connection per bot; a new subscription pushes the old one off with a
disconnected_event (智能机器人长连接, path/101463). If that other client is not ours (a staging
copy, a developer's laptop whose SDK reconnects within a second, as the official ones try), an
immediate re-subscribe only kicks it off in turn and the two keep kicking each other, losing
messages on both sides. So a takeover is recorded in Redis, shared by every instance: the reason,
when, how many in a row, and until when nobody of ours may try again. The pause doubles with
each takeover in a row, from `first` up to TAKEOVER_PAUSE_MAX; a connection that then holds for
a whole heartbeat clears the record.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.channels.wecom_bot_gate import bot_key
from bot.store.owned import delete_if_equal, expire_if_equal

LEASE_MS = 90_000  # three heartbeats: a dead holder frees the bot within 90 s
TAKEOVER_PAUSE_FIRST = 600.0  # 10 minutes, then 20, 40 ... up to 6 hours
TAKEOVER_PAUSE_MAX = 6 * 3600.0
REASON_CHARS = 200


def lease_key(bot_id: str) -> str:
    """String naming the instance that holds the bot's long connection (with a TTL)."""
    return bot_key(bot_id, "ws-lease")


@dataclass(frozen=True, slots=True)
class Lease:
    """One instance's claim on the bot's long connection."""

    redis: Redis
    key: str
    ttl_ms: int = LEASE_MS
    token: str = ""

    async def claim(self) -> bool:
        """Take the lease if nobody holds it."""
        return bool(await self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms))

    async def renew(self) -> bool:
        """Extend the lease; False when another instance holds it now."""
        return await expire_if_equal(self.redis, self.key, self.token, self.ttl_ms)

    async def release(self) -> None:
        """Give the lease up, if we still hold it."""
        await delete_if_equal(self.redis, self.key, self.token)


def takeover_key(bot_id: str) -> str:
    """Hash recording the last takeover of the bot's long connection (reason, at, count, until)."""
    return bot_key(bot_id, "ws-takeover")


@dataclass(frozen=True, slots=True)
class Takeover:
    """The bot was taken over `count` times in a row; the last at `at`, paused until `until`."""

    reason: str
    at: float
    count: int
    until: float

    def view(self) -> dict[str, Any]:
        """Return the record as /healthz shows it."""
        return {
            "reason": self.reason,
            "at": int(self.at),
            "count": self.count,
            "retry_at": int(self.until),
        }


def takeover_reason(event: dict[str, Any]) -> str:
    """Return a log-worthy reason from a disconnected_event (its fields besides the type)."""
    extra = {name: value for name, value in event.items() if name != "eventtype"}
    detail = json.dumps(extra, ensure_ascii=False, default=str)[:REASON_CHARS] if extra else ""
    base = "another client subscribed to this bot (disconnected_event)"
    return f"{base}: {detail}" if detail else base


async def record_takeover(
    redis: Redis, bot_id: str, reason: str, first: float, *, now: float | None = None
) -> Takeover:
    """Count one more takeover in a row and return it with the pause it earns."""
    key, at = takeover_key(bot_id), time.time() if now is None else now
    count = int(await redis.hincrby(key, "count", 1))
    pause = min(first * 2 ** (count - 1), TAKEOVER_PAUSE_MAX)
    takeover = Takeover(reason, at, count, at + pause)
    await redis.hset(key, mapping={"reason": reason, "at": at, "until": takeover.until})
    await redis.expire(key, int(pause + TAKEOVER_PAUSE_MAX))  # forgotten a while after the pause
    return takeover


async def read_takeover(redis: Redis, bot_id: str) -> Takeover | None:
    """Return the takeover on record, or None."""
    fields = await redis.hgetall(takeover_key(bot_id))
    if not fields.get("until"):
        return None
    until, at = float(fields["until"]), float(fields.get("at", 0))
    return Takeover(str(fields.get("reason", "")), at, int(fields.get("count", 1)), until)


async def clear_takeover(redis: Redis, bot_id: str) -> None:
    """Forget the takeovers: our connection has held."""
    await redis.delete(takeover_key(bot_id))
