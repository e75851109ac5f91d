"""Read console forms into domain values; bad input raises a Chinese FormError."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from bot.console.queue import Audience, Item
from bot.models import GroupKind

FormValues = MultiDictProxy[str | bytes | bytearray | FileField]
KIND_CHOICES = [kind for kind in GroupKind if kind is not GroupKind.UNBOUND]
_SPLIT = re.compile(r"[\s,，、;；]+")


class FormError(ValueError):
    """A form field that cannot be accepted; the message is the Chinese reason."""


def text(form: FormValues, name: str, limit: int = 10_000) -> str:
    """Return a form field as trimmed text, refusing anything longer than `limit`."""
    value = form.get(name, "")
    if not isinstance(value, str):
        raise FormError("表单内容不对。")
    value = value.replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise FormError(f"填写的内容太长了（最多 {limit} 个字）。")
    return value


def words(form: FormValues, name: str) -> tuple[str, ...]:
    """Return a field of ids separated by spaces, commas or new lines."""
    return tuple(w for w in _SPLIT.split(text(form, name, 4000)) if w)


def send_time(value: str, timezone: str) -> str:
    """Turn a datetime-local value ("2026-11-24T10:30") into an ISO time in `timezone`."""
    if not value:
        return ""
    try:
        local = datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        raise FormError("发送时间格式不对，请用日期时间选择框填写。") from None
    return local.replace(tzinfo=ZoneInfo(timezone)).isoformat()


def item(form: FormValues, timezone: str) -> Item:
    """Return the queue item a content form describes (id and state are set by the queue)."""
    kinds = tuple(k for k in form.getall("kinds", []) if isinstance(k, str) and k)
    if any(k not in {c.value for c in KIND_CHOICES} for k in kinds):
        raise FormError("群类型选择不对。")
    audience = Audience(
        kinds=kinds, region=text(form, "region", 200).strip("/"), groups=words(form, "groups")
    )
    return Item(
        id="",
        title=text(form, "title", 64),
        summary=text(form, "summary", 200),
        body=text(form, "body", 4000),
        audience=audience,
        style=text(form, "style", 20) or "news",
        receipt=text(form, "receipt", 20) or "none",
        urgent=form.get("urgent") == "on",
        send_at=send_time(text(form, "send_at", 40), timezone),
    )


def local_input(iso: str, timezone: str) -> str:
    """Return a stored ISO time as a datetime-local value in `timezone` ("" stays "")."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")
