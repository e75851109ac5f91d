"""When another client takes the smart bot's long connection over, step aside for a while.

WeCom keeps one live long connection per bot; a new subscription pushes the old one off with a
disconnected_event (智能机器人长连接, path/101463). If that other client is not ours (a staging
copy, a developer's laptop running the official SDK, which reconnects within a second), an
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

TAKEOVER_PAUSE_FIRST = 600.0  # 10 minutes, then 20, 40 ... up to 6 hours
TAKEOVER_PAUSE_MAX = 6 * 3600.0
REASON_CHARS = 200


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
