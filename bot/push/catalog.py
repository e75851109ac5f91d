"""Which item ids can be pushed, and whom each is written for.

Ids: "alerts/<stem>" and "letters/<stem>" (valid articles of bot.articles) and "scams/<entry
id>"; the console adds its own with `with_items`. Campaign lint and urgent alerts check ids
here before anything is queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.answers.content import Entry, load_entries
from bot.articles.loader import load_articles
from bot.articles.model import Article
from bot.library import Library
from bot.models import GroupKind
from bot.settings import PROJECT_ROOT

EVERYONE = "all"


@dataclass(frozen=True, slots=True)
class Catalog:
    """Pushable item ids mapped to the audiences they are written for; scams in file order."""

    audiences: Mapping[str, tuple[str, ...]]
    scams: tuple[Entry, ...] = field(default=())

    @classmethod
    def from_content(cls, content_dir: Path = PROJECT_ROOT / "content") -> Catalog:
        """Index the scam entries and articles under `content_dir` (no search index built)."""
        scams = [entry for entry in load_entries(content_dir) if entry.kind == "scam"]
        articles, _ = load_articles(content_dir, {entry.id for entry in scams})
        return cls.of(scams, articles.values())

    @classmethod
    def from_library(cls, library: Library) -> Catalog:
        """Index the scam entries and articles of the loaded library."""
        return cls.of(library.kb.scams, library.articles.values())

    @classmethod
    def of(cls, scams: Sequence[Entry], articles: Iterable[Article]) -> Catalog:
        """Return the catalog of these scam entries and valid articles."""
        audiences = {f"scams/{entry.id}": entry.audiences for entry in scams}
        audiences.update({article.id: article.audiences for article in articles})
        return cls(audiences, tuple(scams))

    def with_items(self, extra: Mapping[str, tuple[str, ...]]) -> Catalog:
        """Return a catalog that also knows `extra` (e.g. articles published from the console)."""
        return Catalog({**self.audiences, **extra}, self.scams)

    def has(self, item_id: str) -> bool:
        """Return True when `item_id` names an item that exists."""
        return item_id in self.audiences

    def problem(self, item_id: str, kinds: Iterable[GroupKind]) -> str | None:
        """Return why `item_id` cannot be pushed to groups of `kinds`, or None when it can."""
        if item_id not in self.audiences:
            return f"找不到内容 {item_id!r}"
        written_for = self.audiences[item_id]
        if EVERYONE in written_for:
            return None
        wrong = sorted(kind.value for kind in kinds if kind.value not in written_for)
        if wrong:
            return f"{item_id!r} 是写给 {list(written_for)} 的，不适合 {wrong}"
        return None

    def scam_pool(
        self, ids: Sequence[str], tags: Sequence[str], audiences: Sequence[str]
    ) -> tuple[str, ...]:
        """Return scam item ids matching every given filter (any id, any tag, any audience)."""
        return tuple(
            f"scams/{entry.id}"
            for entry in self.scams
            if (not ids or entry.id in ids)
            and (not tags or set(tags) & set(entry.tags))
            and (not audiences or set(audiences) & set(entry.audiences))
        )
