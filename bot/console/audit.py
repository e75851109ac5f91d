"""The console's audit log: who did what, when — a capped Redis stream admins read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis

from bot.store import keys

MAX_ENTRIES = 100_000
MAX_PER_SUBJECT = 1_000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded action."""

    at: datetime
    user: str
    action: str
    subject: str
    detail: str


async def record(redis: Redis, user: str, action: str, subject: str, detail: str = "") -> None:
    """Append one action to the audit log and to its subject's own log."""
    fields: dict[Any, Any] = {"user": user, "action": action, "subject": subject, "detail": detail}
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(keys.CONSOLE_AUDIT, fields, maxlen=MAX_ENTRIES, approximate=True)
        if subject:
            pipe.xadd(keys.console_audit_of(subject), fields, maxlen=MAX_PER_SUBJECT)
        await pipe.execute()


async def recent(redis: Redis, count: int = 200, subject: str | None = None) -> list[AuditEntry]:
    """Return the newest entries first: all of them, or only those about `subject`."""
    stream = keys.CONSOLE_AUDIT if subject is None else keys.console_audit_of(subject)
    raw = await redis.xrevrange(stream, count=count)
    stored = cast(list[tuple[str, dict[str, str]]], raw)
    return [
        AuditEntry(
            at=datetime.fromtimestamp(int(entry_id.split("-")[0]) / 1000, UTC),
            user=fields.get("user", ""),
            action=fields.get("action", ""),
            subject=fields.get("subject", ""),
            detail=fields.get("detail", ""),
        )
        for entry_id, fields in stored
    ]
