"""Console accounts in Redis: roles, display names and argon2 password hashes."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import secrets
from dataclasses import dataclass, replace

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from bot.store import keys

ROLES: dict[str, str] = {
    "admin": "管理员",
    "officer": "民警/宣传干事",
    "reviewer": "审核人",
    "forwarder": "转发员",
}
RIGHTS = ("urgent",)
MIN_PASSWORD = 8
MAX_PASSWORD = 256
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,31}")
_HASHER = PasswordHasher()


class UserError(ValueError):
    """An account change that cannot be made; the message is the Chinese reason."""


@dataclass(frozen=True, slots=True)
class User:
    """One console account; `rights` adds abilities beyond the role (e.g. "urgent")."""

    name: str
    role: str
    display: str
    password_hash: str = ""
    disabled: bool = False
    rights: tuple[str, ...] = ()
    # Bumped by a password change: sessions opened before it stop working.
    generation: int = 0

    @property
    def role_label(self) -> str:
        """Return the role in Chinese."""
        return ROLES[self.role]

    def can(self, right: str) -> bool:
        """Return True when the account holds `right`."""
        return right in self.rights


def check_password(password: str) -> None:
    """Raise UserError unless `password` is long enough to keep."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(f"密码至少 {MIN_PASSWORD} 位（最多 {MAX_PASSWORD} 位）。")


class UserStore:
    """Console users, one Redis hash shared by every instance."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, name: str) -> User | None:
        """Return the account called `name`, or None."""
        raw = await self._redis.hget(keys.CONSOLE_USERS, name)
        return None if raw is None else _decode(str(raw))

    async def all(self) -> list[User]:
        """Return every account, ordered by name."""
        stored = await self._redis.hgetall(keys.CONSOLE_USERS)
        return sorted((_decode(str(raw)) for raw in stored.values()), key=lambda u: u.name)

    async def add(
        self, name: str, role: str, display: str, password: str, rights: tuple[str, ...] = ()
    ) -> User:
        """Create an account; raise UserError for a taken name or bad field."""
        if not _NAME.fullmatch(name):
            raise UserError(
                "用户名只能用 2–32 位小写字母、数字、点、横线或下划线，以字母或数字开头。"
            )
        if role not in ROLES:
            raise UserError(f"没有“{role}”这个角色，可选：{'、'.join(ROLES)}。")
        if not display.strip() or len(display) > 32:
            raise UserError("显示名不能为空，最多 32 个字。")
        if any(right not in RIGHTS for right in rights):
            raise UserError(f"可授予的权限只有：{'、'.join(RIGHTS)}。")
        check_password(password)
        hashed = await asyncio.to_thread(_HASHER.hash, password)
        user = User(name, role, display.strip(), hashed, rights=tuple(sorted(set(rights))))
        if not await self._redis.hsetnx(keys.CONSOLE_USERS, name, _encode(user)):
            raise UserError(f"用户“{name}”已存在。")
        return user

    async def set_password(self, name: str, password: str) -> User:
        """Replace the password of an existing account."""
        check_password(password)
        hashed = await asyncio.to_thread(_HASHER.hash, password)
        user = await self.get(name)
        generation = user.generation + 1 if user else 0
        return await self._update(name, password_hash=hashed, generation=generation)

    async def set_disabled(self, name: str, disabled: bool) -> User:
        """Disable (or re-enable) an account; a disabled account cannot log in."""
        return await self._update(name, disabled=disabled)

    async def verify(self, name: str, password: str) -> User | None:
        """Return the enabled account when `password` is right, else None."""
        user = await self.get(name)
        # Hash even for unknown names so timing does not reveal which names exist.
        hashed = user.password_hash if user else _dummy_hash()
        try:
            await asyncio.to_thread(_HASHER.verify, hashed, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        return user

    async def _update(self, name: str, **changes: object) -> User:
        user = await self.get(name)
        if user is None:
            raise UserError(f"没有用户“{name}”。")
        updated = replace(user, **changes)  # type: ignore[arg-type]
        await self._redis.hset(keys.CONSOLE_USERS, name, _encode(updated))
        return updated


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_hex(16))


def _encode(user: User) -> str:
    fields = {
        "name": user.name,
        "role": user.role,
        "display": user.display,
        "hash": user.password_hash,
        "disabled": user.disabled,
        "rights": list(user.rights),
        "generation": user.generation,
    }
    return json.dumps(fields, ensure_ascii=False)


def _decode(raw: str) -> User:
    fields = json.loads(raw)
    return User(
        name=fields["name"],
        role=fields["role"],
        display=fields["display"],
        password_hash=fields["hash"],
        disabled=bool(fields["disabled"]),
        rights=tuple(fields.get("rights", ())),
        generation=int(fields.get("generation", 0)),
    )
