"""How hard the outbox senders try, and what they do with a send cut short by a crash."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bot.settings import SettingsError, env_float, env_int

Uncertain = Literal["resend", "hold"]
UNCERTAIN_POLICIES: tuple[Uncertain, ...] = ("resend", "hold")


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    """How hard the senders try; read from the OUTBOX_* settings (.env or the environment).

    `uncertain`: what to do with a delivery that was in flight when its sender died, so that
    WeCom may or may not have posted it: "resend" (at least once: the default, right for
    urgent alerts) or "hold" (list it for an officer to check and requeue).
    """

    concurrency: int = 32
    max_attempts: int = 5
    retry_base: float = 10.0
    retry_cap: float = 1800.0
    visibility: float = 120.0
    block: float = 1.0
    uncertain: Uncertain = "resend"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OutboxConfig:
        """Read OUTBOX_CONCURRENCY, _MAX_ATTEMPTS, _RETRY_BASE, _RETRY_CAP, _VISIBILITY and
        _UNCERTAIN from merged settings (a bad value raises SettingsError naming it)."""
        d = cls()
        return cls(
            concurrency=env_int(env, "OUTBOX_CONCURRENCY", d.concurrency, 1, 1000),
            max_attempts=env_int(env, "OUTBOX_MAX_ATTEMPTS", d.max_attempts, 1, 100),
            retry_base=env_float(env, "OUTBOX_RETRY_BASE", d.retry_base, 0.01, 3600),
            retry_cap=env_float(env, "OUTBOX_RETRY_CAP", d.retry_cap, 0.01, 86400),
            visibility=env_float(env, "OUTBOX_VISIBILITY", d.visibility, 0.1, 86400),
            uncertain=_policy(env.get("OUTBOX_UNCERTAIN") or d.uncertain),
        )


def _policy(raw: str) -> Uncertain:
    for policy in UNCERTAIN_POLICIES:
        if raw.strip().lower() == policy:
            return policy
    raise SettingsError("OUTBOX_UNCERTAIN", raw, "应为 resend（重发）或 hold（暂停，等人工确认）")
