"""The article every push points at: an alert, a letter, a scam entry or a console article."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

ArticleKind = Literal["alert", "letter", "scam", "console"]
ReceiptKind = Literal["none", "simple", "class"]
RECEIPT_KINDS: tuple[ReceiptKind, ...] = ("none", "simple", "class")
# Item id prefix -> article kind: "alerts/<stem>", "letters/<stem>", "scams/<id>", "console/<id>".
PREFIXES: dict[str, ArticleKind] = {
    "alerts": "alert",
    "letters": "letter",
    "scams": "scam",
    "console": "console",
}


@dataclass(frozen=True, slots=True)
class Article:
    """One readable article. `body` is markdown; `audiences` are group kinds or "all"."""

    id: str
    title: str
    summary: str
    body: str
    kind: ArticleKind
    audiences: tuple[str, ...] = ("all",)
    scams: tuple[str, ...] = ()
    receipt: ReceiptKind = "none"
    date: date | None = None
    images: tuple[str, ...] = ()  # ids in bot.articles.images; the first is the news cover
