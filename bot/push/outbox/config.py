"""How hard the outbox senders try, read from OUTBOX_* environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings import env_float, env_int


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
            concurrency=env_int(env, "OUTBOX_CONCURRENCY", d.concurrency, 1, 1000),
            max_attempts=env_int(env, "OUTBOX_MAX_ATTEMPTS", d.max_attempts, 1, 100),
            retry_base=env_float(env, "OUTBOX_RETRY_BASE", d.retry_base, 0.01, 3600),
            retry_cap=env_float(env, "OUTBOX_RETRY_CAP", d.retry_cap, 0.01, 86400),
            visibility=env_float(env, "OUTBOX_VISIBILITY", d.visibility, 0.1, 86400),
        )
