"""Service configuration from the environment and an optional `.env` file."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from dotenv import dotenv_values

N = TypeVar("N", int, float)
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A configuration value is missing or malformed."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        super().__init__(f"{name}={value!r}：{reason}")
        self.name = name


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service reads from its environment, validated once."""

    redis_url: str | None = None
    redis_connections: int = 256
    data_dir: Path = PROJECT_ROOT / "data"
    content_dir: Path = PROJECT_ROOT / "content"
    schedules_dir: Path = PROJECT_ROOT / "schedules"
    host: str = "127.0.0.1"
    port: int = 8080
    bot_name: str = "反诈助手"
    reply_prefixes: tuple[str, ...] = ("反诈助手",)
    group_reply_limit: int = 12
    member_hash_key: str | None = None
    log_level: str = "INFO"
    # "TEXT" for people, "JSON" for one JSON object per line (log collectors).
    log_format: str = "TEXT"
    timezone: str = "Asia/Shanghai"
    # Member ids allowed to bind groups: bare ("zhangsan") or by channel ("wecom-bot:zhangsan").
    admins: frozenset[str] = frozenset()
    # The address residents' phones open for article links; default: http://host:port.
    public_url: str | None = None
    # FANZHA_SIMULATOR: True "on", False "off", None unset (on only in the embedded default).
    simulator: bool | None = None
    # Reverse proxies whose X-Forwarded-For is believed (FANZHA_TRUSTED_PROXIES, IPs or CIDRs).
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # The merged environment (.env under the process's), for the parts that read their own
    # variables: each channel, the outbox. Kept out of repr: it holds secrets.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def base_url(self) -> str:
        """Return the public base URL links are built on, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def mention(self) -> str:
        """Return the text members type to address the bot in a group."""
        return f"@{self.bot_name}"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: Path | None = None
    ) -> Settings:
        """Build settings from `environ` (default `os.environ`) over an optional `.env` file."""
        values: dict[str, str] = {}
        dotenv = env_file if env_file is not None else Path(".env")
        if dotenv.is_file():
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls._parse(values)

    @classmethod
    def _parse(cls, env: Mapping[str, str]) -> Settings:
        defaults = cls()
        return cls(
            redis_url=env.get("REDIS_URL") or None,
            redis_connections=env_int(
                env, "FANZHA_REDIS_CONNECTIONS", defaults.redis_connections, 8, 10_000
            ),
            data_dir=_path(env, "FANZHA_DATA_DIR", defaults.data_dir, must_exist=False),
            content_dir=_path(env, "FANZHA_CONTENT_DIR", defaults.content_dir, must_exist=True),
            schedules_dir=_path(
                env, "FANZHA_SCHEDULES_DIR", defaults.schedules_dir, must_exist=False
            ),
            host=env.get("FANZHA_HOST", defaults.host),
            port=env_int(env, "FANZHA_PORT", defaults.port, 0, 65535),
            bot_name=_text(env, "FANZHA_BOT_NAME", defaults.bot_name),
            reply_prefixes=_list(env, "FANZHA_REPLY_PREFIXES", defaults.reply_prefixes),
            admins=frozenset(_list(env, "FANZHA_ADMINS", ())),
            group_reply_limit=env_int(
                env, "FANZHA_GROUP_REPLY_LIMIT", defaults.group_reply_limit, 1, 10_000
            ),
            member_hash_key=env.get("FANZHA_MEMBER_HASH_KEY") or None,
            log_level=_choice(
                env, "FANZHA_LOG_LEVEL", defaults.log_level, ("DEBUG", "INFO", "WARNING", "ERROR")
            ),
            log_format=_choice(env, "FANZHA_LOG_FORMAT", defaults.log_format, ("TEXT", "JSON")),
            timezone=_timezone(env, "FANZHA_TIMEZONE", defaults.timezone),
            public_url=_url(env, "FANZHA_PUBLIC_URL"),
            simulator=_switch(env, "FANZHA_SIMULATOR"),
            trusted_proxies=_networks(env, "FANZHA_TRUSTED_PROXIES"),
            environ=dict(env),
        )


def env_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """Read a whole number from `name` in [low, high]; unset or empty gives `default`."""
    return _bounded(env, name, default, low, high, int, "应为整数")


def env_float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """Read a number from `name` in [low, high]; unset or empty gives `default`."""
    return _bounded(env, name, default, low, high, float, "应为数字")


def _bounded(env: Mapping[str, str], name: str, default: N, low: N, high: N,
             parse: Callable[[str], N], problem: str) -> N:  # fmt: skip
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise SettingsError(name, raw, problem) from None
    if not low <= value <= high:
        raise SettingsError(name, raw, f"应在 {low:g} 到 {high:g} 之间")
    return value


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.strip():
        raise SettingsError(name, raw, "不能为空")
    return raw.strip()


def _list(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name, default).upper()
    if raw not in allowed:
        raise SettingsError(name, raw, f"应为以下之一：{'、'.join(allowed)}")
    return raw


def _networks(env: Mapping[str, str], name: str) -> tuple[IPNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in _list(env, name, ()))
    except ValueError:
        raise SettingsError(name, env.get(name, ""), "应为逗号分隔的 IP 地址或网段") from None


def _switch(env: Mapping[str, str], name: str) -> bool | None:
    raw = env.get(name, "").strip().lower()
    if raw not in ("", "on", "off"):
        raise SettingsError(name, raw, "应为 on 或 off（不设置时只在内置默认部署中打开）")
    return None if not raw else raw == "on"


def _timezone(env: Mapping[str, str], name: str, default: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    raw = env.get(name, default)
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(name, raw, "无法识别的时区（可填 Asia/Shanghai）") from None
    return raw


def _path(env: Mapping[str, str], name: str, default: Path, *, must_exist: bool) -> Path:
    raw = env.get(name)
    path = Path(raw).expanduser().resolve() if raw else default
    if must_exist and not path.is_dir():
        raise SettingsError(name, str(path), "文件夹不存在")
    return path


def _url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")) or " " in raw:
        raise SettingsError(name, raw, "应为 http:// 或 https:// 开头的地址")
    return raw
