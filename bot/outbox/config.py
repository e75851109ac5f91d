"""How hard the outbox senders try, read from OUTBOX_* environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings import SettingsError


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    """How hard the senders try; read from OUTBOX_* environment variables."""

    concurrency: int = 32
    max_attempts: int = 5
    retry_base: float = 10.0
    retry_cap: float = 1800.0
    visibility: float = 120.0
    block: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OutboxConfig:
        """Read OUTBOX_CONCURRENCY, _MAX_ATTEMPTS, _RETRY_BASE, _RETRY_CAP, _VISIBILITY."""
        d = cls()
        return cls(
            concurrency=int(_number(env, "OUTBOX_CONCURRENCY", d.concurrency, 1, 1000)),
            max_attempts=int(_number(env, "OUTBOX_MAX_ATTEMPTS", d.max_attempts, 1, 100)),
            retry_base=_number(env, "OUTBOX_RETRY_BASE", d.retry_base, 0.01, 3600),
            retry_cap=_number(env, "OUTBOX_RETRY_CAP", d.retry_cap, 0.01, 86400),
            visibility=_number(env, "OUTBOX_VISIBILITY", d.visibility, 0.1, 86400),
        )


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, raw, "must be a number") from None
    if not low <= value <= high:
        raise SettingsError(name, raw, f"must be between {low:g} and {high:g}")
    return value
