"""回执 per class for the letters to parents: which classes returned how many, per letter."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from redis.asyncio import Redis

from bot.articles import receipts
from bot.articles.store import ArticleStore

_NUMBER = re.compile(r"(\d+)")


@dataclass(frozen=True, slots=True)
class LetterReceipts:
    """One letter's receipts by the child's class."""

    item_id: str
    title: str
    classes: list[tuple[str, int]]

    @property
    def total(self) -> int:
        """Return the receipts of every class together."""
        return sum(count for _, count in self.classes)


def class_order(name: str) -> list[tuple[int, str]]:
    """Return a sort key that puts "三年级2班" before "三年级10班"."""
    return [(int(part), "") if part.isdigit() else (0, part) for part in _NUMBER.split(name)]


async def letters(
    redis: Redis,
    days: Sequence[date],
    dimension: tuple[str, str],
    articles: ArticleStore | None = None,
) -> list[LetterReceipts]:
    """Return the letters with class receipts over `days` in one dimension, most returned first."""
    counted = await receipts.classes_by_item(redis, days, *dimension)
    found = []
    for item_id, classes in counted.items():
        article = await articles.get(item_id) if articles else None
        rows = sorted(classes.items(), key=lambda row: class_order(row[0]))
        found.append(LetterReceipts(item_id, article.title if article else item_id, rows))
    return sorted(found, key=lambda letter: (-letter.total, letter.item_id))
