"""回执: explicit acknowledgements, one per reader per item, from the page or a "收到" reply."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable
from datetime import date

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.articles.tracking import count_receipt
from bot.models import Group
from bot.store import keys, reach

# A "收到" counts for the latest item pushed to the group within this window.
REPLY_WINDOW_SECONDS = 3 * 24 * 3600
CLASS_MAX_CHARS = 16
# "三年级2班", "初二（3）班", "高一1班", "5班": Chinese, digits, letters, brackets; ends with 班.
_LONG_NUMBER = re.compile(r"\d{5}")
# Item ids never hold "|" (prefix/name) and class names cannot (see _CLASS).
CLASS_FIELD_SEPARATOR = "|"
_CLASS = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9()-]{0,15}班$")


class BadClass(ValueError):
    """The class a parent typed is not one we can count."""


def clean_class(raw: str) -> str:
    """Return the class name normalised (full-width digits to ASCII), or raise BadClass."""
    text = unicodedata.normalize("NFKC", raw).strip().replace(" ", "")
    if not text:
        raise BadClass("请填写孩子所在的班级，例如“三年级2班”。")
    # Five digits in a row is a phone or ID number fragment, never a class ("2023级1班" is fine).
    if len(text) > CLASS_MAX_CHARS or not _CLASS.match(text) or _LONG_NUMBER.search(text):
        raise BadClass(f"班级请写成“三年级2班”这样的格式，不超过{CLASS_MAX_CHARS}个字。")
    return text


async def note_push(redis: Redis, group_id: str, item_id: str, now: float | None = None) -> None:
    """Remember that `item_id` was pushed to `group_id`, so a "收到" there counts for it."""
    async with redis.pipeline(transaction=True) as pipe:
        queue_note_push(pipe, group_id, item_id, now)
        await pipe.execute()


def queue_note_push(pipe: Pipeline, group_id: str, item_id: str, now: float | None = None) -> None:
    """Queue `note_push` on `pipe`, for a sender that records the push in the same round trip."""
    stamp = now if now is not None else time.time()
    name = keys.pushed_items(group_id)
    pipe.zadd(name, {item_id: stamp})
    pipe.zremrangebyscore(name, "-inf", stamp - REPLY_WINDOW_SECONDS)
    pipe.expire(name, REPLY_WINDOW_SECONDS)


async def latest_pushed(redis: Redis, group_id: str, now: float | None = None) -> str | None:
    """Return the item most recently pushed to `group_id` within the reply window, if any."""
    stamp = now if now is not None else time.time()
    found = await redis.zrevrangebyscore(
        keys.pushed_items(group_id), "+inf", stamp - REPLY_WINDOW_SECONDS, start=0, num=1
    )
    return str(found[0]) if found else None


async def record(
    redis: Redis,
    day: date,
    item_id: str,
    reader: str,
    group: Group | None,
    *,
    forwarder: str = "",
    school_class: str = "",
    how: str = "page",
) -> bool:
    """Count one receipt by `reader` for `item_id`; return False if they already sent one."""
    first = await redis.set(
        keys.receipt(item_id, reader), how, nx=True, ex=keys.RECEIPT_TTL_SECONDS
    )
    if not first:
        return False
    async with redis.pipeline(transaction=False) as pipe:
        count_receipt(pipe, day, group, forwarder)
        pipe.hincrby(keys.receipt_groups(item_id), group.id if group else "", 1)
        pipe.expire(keys.receipt_groups(item_id), keys.RECEIPT_TTL_SECONDS)
        if school_class:
            pipe.hincrby(keys.receipt_classes(item_id), school_class, 1)
            pipe.expire(keys.receipt_classes(item_id), keys.RECEIPT_TTL_SECONDS)
            # By day and dimension too, so the report, dashboard and teachers can read them.
            count_class(pipe, day, group, item_id, school_class)
        await pipe.execute()
    return True


def count_class(
    pipe: Pipeline, day: date, group: Group | None, item_id: str, school_class: str
) -> None:
    """Queue one class receipt for `item_id` under every dimension of `group`."""
    hashes = [keys.class_receipts(day, dim, value) for dim, value in reach.group_dimensions(group)]
    reach.count_day(pipe, hashes, f"{item_id}{CLASS_FIELD_SEPARATOR}{school_class}")


async def classes_by_item(
    redis: Redis, days: Iterable[date], dimension: str, value: str
) -> dict[str, dict[str, int]]:
    """Return item id -> class -> receipts over `days` for one dimension value."""
    async with redis.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.hgetall(keys.class_receipts(day, dimension, value))
        per_day = await pipe.execute()
    result: dict[str, dict[str, int]] = {}
    for stored in per_day:
        for field, count in stored.items():
            item_id, _, school_class = str(field).rpartition(CLASS_FIELD_SEPARATOR)
            classes = result.setdefault(item_id, {})
            classes[school_class] = classes.get(school_class, 0) + int(count)
    return result


async def has_receipt(redis: Redis, item_id: str, reader: str) -> bool:
    """Return True when `reader` already acknowledged `item_id`."""
    return bool(await redis.exists(keys.receipt(item_id, reader)))


def queue_has_receipt(pipe: Pipeline, item_id: str, reader: str) -> None:
    """Queue on `pipe` the check whether `reader` acknowledged `item_id` (result: 0 or 1)."""
    pipe.exists(keys.receipt(item_id, reader))


async def class_counts(redis: Redis, item_id: str) -> dict[str, int]:
    """Return class name -> receipts for an item (the letter to parents)."""
    stored = await redis.hgetall(keys.receipt_classes(item_id))
    return {str(k): int(v) for k, v in stored.items()}


async def group_counts(redis: Redis, item_id: str) -> dict[str, int]:
    """Return group id -> receipts for an item ("" for readers who came without a group link)."""
    stored = await redis.hgetall(keys.receipt_groups(item_id))
    return {str(k): int(v) for k, v in stored.items()}
