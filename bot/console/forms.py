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
DATE_TIME_FORMAT = "%Y年%m月%d日 %H:%M"
DATE_TIME_EXAMPLE = "2026年12月03日 10:30"
_DATE_TIME = re.compile(
    r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*[日号]?\s*[T\s]?\s*"
    r"(\d{1,2})\s*[:：时点]\s*(\d{1,2})\s*分?"
)


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
    """Turn a Chinese date and time ("2026年11月24日 10:30", "2026-11-24 10:30") into an ISO
    time in `timezone`; the form never depends on the browser's locale."""
    if not value:
        return ""
    found = _DATE_TIME.fullmatch(value.strip())
    if found is None:
        raise FormError(f"发送时间格式不对，请按“{DATE_TIME_EXAMPLE}”填写。")
    year, month, day, hour, minute = (int(part) for part in found.groups())
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(timezone))
    except ValueError:
        raise FormError(f"没有“{value.strip()}”这个时间，请检查年月日和时分。") from None
    return local.isoformat()


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
    """Return a stored ISO time in the form's Chinese format in `timezone` ("" stays "")."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(timezone)).strftime(DATE_TIME_FORMAT)
