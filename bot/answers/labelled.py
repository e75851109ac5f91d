"""The labelled sets in tests/data/ that the matcher is calibrated and measured on."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.settings import PROJECT_ROOT

DATA = PROJECT_ROOT / "tests" / "data"
QUESTIONS = DATA / "questions.tsv"
CHECKER = DATA / "checker.tsv"
CHATTER = DATA / "group.tsv"
TUNE, HELDOUT = "tune", "heldout"
# Labels that mean "no entry: the bot should decline politely".
NO_ENTRY = frozenset({"", "-", "offtopic", "none"})
# Audiences that are no group kind: the question comes from a one-to-one chat.
NO_GROUP = frozenset({"", "-", "general", "private"})
# Columns that are not categories a report is broken down by.
UNSHOWN = frozenset({"question", "text", "expected", "label", "action", "split"})


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled message: its text, expected label, and the categories it is counted under."""

    text: str
    label: str
    split: str
    audience: str = ""
    # Every other column (pattern, kind, form, trait, origin…), for reports.
    categories: tuple[tuple[str, str], ...] = ()


def read(path: Path, text_field: str, label_field: str) -> list[Row]:
    """Read a tab-separated labelled set; rows without a split column are split by hash."""
    if not path.exists():
        return []
    return list(_rows(path, text_field, label_field))


def _rows(path: Path, text_field: str, label_field: str) -> Iterator[Row]:
    """Yield the rows of `path` (header first, no quoting)."""
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            text = record[text_field]
            shown = {k: (v or "").strip() for k, v in record.items() if k not in UNSHOWN}
            yield Row(
                text=text,
                label=(record.get(label_field) or "").strip(),
                split=(record.get("split") or _hash_split(text)).strip(),
                audience=_audience(record.get("audience") or ""),
                categories=tuple(sorted(shown.items())),
            )


def _audience(value: str) -> str:
    """Return the group audience a row is asked in, "" for a one-to-one chat."""
    value = value.strip()
    return "" if value in NO_GROUP else value


def _hash_split(text: str) -> str:
    """Return a stable split for a row that has none: about 60% tune, 40% held out."""
    return TUNE if hashlib.sha256(text.encode()).digest()[0] < 154 else HELDOUT


def questions(split: str | None = None) -> list[Row]:
    """Return the question rows (off-topic negatives included), optionally one split only."""
    return [
        r for r in read(QUESTIONS, "question", "expected") if split is None or r.split == split
    ]


def checker(split: str | None = None) -> list[Row]:
    """Return the checker rows, optionally one split only."""
    return [r for r in read(CHECKER, "text", "label") if split is None or r.split == split]


def chatter(split: str | None = None) -> list[Row]:
    """Return the group-chatter rows (label speak or silent), optionally one split only."""
    return [r for r in read(CHATTER, "text", "action") if split is None or r.split == split]
