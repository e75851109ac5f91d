"""Load content/alerts/*.md and content/letters/*.md: YAML front matter, then a markdown body."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.articles.model import RECEIPT_KINDS, Article, ArticleKind
from bot.content import Problem
from bot.models import GroupKind

FOLDERS: dict[str, ArticleKind] = {"alerts": "alert", "letters": "letter"}
AUDIENCES = frozenset({"all"} | {k.value for k in GroupKind if k is not GroupKind.UNBOUND})
STEM = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
FIELDS = ("title", "summary", "audiences", "scams", "receipt", "date")
TITLE_MAX = 40
SUMMARY_MAX = 160
BODY_MAX = 20_000


def load_articles(
    content_dir: Path, scam_ids: set[str]
) -> tuple[dict[str, Article], list[Problem]]:
    """Return every file article by item id, and the problems of the files that are invalid."""
    articles: dict[str, Article] = {}
    problems: list[Problem] = []
    for folder, kind in FOLDERS.items():
        for path in sorted((content_dir / folder).glob("*.md")):
            if path.name == "README.md":  # the folder's guide for writers, not an article
                continue
            article, found = parse_article(path, f"{folder}/{path.stem}", kind, scam_ids)
            problems += found
            if article:
                articles[article.id] = article
    return articles, problems


def parse_article(
    path: Path, item_id: str, kind: ArticleKind, scam_ids: set[str]
) -> tuple[Article | None, list[Problem]]:
    """Parse and validate one article file; return the article or the problems found."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(path, 1, "-", f"unreadable: {exc}")]
    parts = re.split(r"^---[ \t]*$\n?", text, maxsplit=2, flags=re.M)
    if len(parts) != 3 or parts[0].strip():
        return None, [Problem(path, 1, "-", "expected front matter between two '---' lines")]
    _, head, body = parts
    try:
        data = yaml.safe_load(head)
        node = yaml.compose(head)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(path, mark.line + 2 if mark else 1, "-", f"bad YAML: {exc}")]
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        return None, [Problem(path, 2, "-", "expected a mapping of fields")]
    lines = {key.value: key.start_mark.line + 2 for key, _ in node.value}
    problems = [
        Problem(path, lines.get(name, 1), name, reason)
        for name in FIELDS
        if (reason := _field_problem(name, data.get(name), scam_ids))
    ]
    problems += [
        Problem(path, lines[str(n)], str(n), "unknown field") for n in data if n not in FIELDS
    ]
    if not STEM.match(path.stem):
        problems.append(Problem(path, 1, "-", "file name must be [a-z0-9_-] (it is the link)"))
    if not body.strip():
        problems.append(Problem(path, head.count("\n") + 3, "body", "empty article body"))
    elif len(body) > BODY_MAX:
        problems.append(Problem(path, head.count("\n") + 3, "body", f"longer than {BODY_MAX}"))
    if problems:
        return None, problems
    article = Article(
        id=item_id,
        title=data["title"].strip(),
        summary=data["summary"].strip(),
        body=body.strip(),
        kind=kind,
        audiences=tuple(data["audiences"]),
        scams=tuple(data.get("scams") or ()),
        receipt=data.get("receipt") or "none",
        date=data["date"],
    )
    return article, []


def _field_problem(name: str, value: Any, scam_ids: set[str]) -> str | None:
    """Return why `value` is not a valid `name` field, or None."""
    if name == "title":
        return _text(value, TITLE_MAX)
    if name == "summary":
        return _text(value, SUMMARY_MAX)
    if name == "audiences":
        if not _texts(value) or not value:
            return f"expected a list of group kinds or all: {sorted(AUDIENCES)}"
        unknown = [v for v in value if v not in AUDIENCES]
        return f"unknown audience {unknown}; use {sorted(AUDIENCES)}" if unknown else None
    if name == "scams":
        if value is None:
            return None
        if not _texts(value):
            return "expected a list of scam entry ids"
        unknown = [v for v in value if v not in scam_ids]
        return f"unknown scam ids {unknown} (see content/scams)" if unknown else None
    if name == "receipt":
        ok = value is None or value in RECEIPT_KINDS
        return None if ok else f"expected one of {list(RECEIPT_KINDS)}"
    # date: YAML reads an unquoted YYYY-MM-DD as a date (and a time after it as a datetime)
    plain_date = isinstance(value, date) and not isinstance(value, datetime)
    return None if plain_date else "expected a date YYYY-MM-DD"


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "expected a non-empty text"
    return f"longer than {limit} characters ({len(value)})" if len(value) > limit else None


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
