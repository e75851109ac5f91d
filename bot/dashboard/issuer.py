"""Who hands the report in: 填报单位, 填报人 and 填报日期, set once in the console (Redis)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from redis.asyncio import Redis

from bot.dashboard import dates
from bot.dashboard.period import BadRequest
from bot.store import keys

ISSUER_KEY = f"{keys.PREFIX}:report:issuer"
UNIT_MAX, COMPILER_MAX = 60, 30
NOT_SET = "（未填写）"


@dataclass(frozen=True, slots=True)
class Issuer:
    """The issuing unit, the compiler and the date the report carries."""

    unit: str = ""
    compiler: str = ""
    day: date | None = None

    def dated(self, local_today: date) -> Issuer:
        """Return the issuer dated today when no date was set."""
        return replace(self, day=self.day or local_today)

    def rows(self) -> list[tuple[str, str | date]]:
        """Return the (label, value) rows the report carries."""
        return [
            ("填报单位", self.unit or NOT_SET),
            ("填报人", self.compiler or NOT_SET),
            ("填报日期", self.day or NOT_SET),
        ]

    def line(self) -> str:
        """Return the issuer as one line under the report's title."""
        day = dates.full(self.day) if self.day else NOT_SET
        unit, compiler = self.unit or NOT_SET, self.compiler or NOT_SET
        return f"填报单位：{unit}　填报人：{compiler}　填报日期：{day}"


def parse(unit: str, compiler: str, day: str) -> Issuer:
    """Return the issuer from the console form, or raise BadRequest with what to fix."""
    unit, compiler, day = unit.strip(), compiler.strip(), day.strip()
    if len(unit) > UNIT_MAX:
        raise BadRequest(f"填报单位最多 {UNIT_MAX} 个字。")
    if len(compiler) > COMPILER_MAX:
        raise BadRequest(f"填报人最多 {COMPILER_MAX} 个字。")
    if any(ord(char) < 32 for char in unit + compiler):
        raise BadRequest("填报单位和填报人里不能有换行或控制字符。")
    try:
        parsed = date.fromisoformat(day) if day else None
    except ValueError:
        raise BadRequest("填报日期写得不对，请写成 2026-12-03 这样的年-月-日。") from None
    return Issuer(unit, compiler, parsed)


async def load(redis: Redis) -> Issuer:
    """Return the stored issuer (empty fields when never set)."""
    stored = {str(k): str(v) for k, v in (await redis.hgetall(ISSUER_KEY)).items()}
    day = stored.get("day", "")
    try:
        parsed = date.fromisoformat(day) if day else None
    except ValueError:
        parsed = None  # a hand-edited key: show the report dated today rather than fail
    return Issuer(stored.get("unit", ""), stored.get("compiler", ""), parsed)


async def save(redis: Redis, issuer: Issuer) -> None:
    """Store the issuer for every later report."""
    day = issuer.day.isoformat() if issuer.day else ""
    await redis.hset(
        ISSUER_KEY, mapping={"unit": issuer.unit, "compiler": issuer.compiler, "day": day}
    )
