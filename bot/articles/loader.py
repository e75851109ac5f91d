"""Load content/alerts/*.md and content/letters/*.md: YAML front matter, then a markdown body."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.answers.content import Problem, text_problem
from bot.articles.model import RECEIPT_KINDS, Article, ArticleKind
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
        return None, [Problem(path, 1, "-", f"无法读取：{exc}")]
    parts = re.split(r"^---[ \t]*$\n?", text, maxsplit=2, flags=re.M)
    if len(parts) != 3 or parts[0].strip():
        return None, [Problem(path, 1, "-", "开头要有两行 --- 之间的头信息")]
    _, head, body = parts
    try:
        data = yaml.safe_load(head)
        node = yaml.compose(head)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        return None, [Problem(path, line, "-", f"头信息的 YAML 写法有误：{exc}")]
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        return None, [Problem(path, 2, "-", "头信息应当是“字段: 值”的形式")]
    lines = {key.value: key.start_mark.line + 2 for key, _ in node.value}
    problems = [
        Problem(path, lines.get(name, 1), name, reason)
        for name in FIELDS
        if (reason := _field_problem(name, data.get(name), scam_ids))
    ]
    problems += [
        Problem(path, lines[str(n)], str(n), "不认识的字段") for n in data if n not in FIELDS
    ]
    if not STEM.match(path.stem):
        problems.append(Problem(path, 1, "-", "文件名只能用 a-z、0-9、_、-（它就是链接的一部分）"))
    if not body.strip():
        problems.append(Problem(path, head.count("\n") + 3, "body", "正文是空的"))
    elif len(body) > BODY_MAX:
        problems.append(Problem(path, head.count("\n") + 3, "body", f"正文超过 {BODY_MAX} 个字"))
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
        return text_problem(value, TITLE_MAX)
    if name == "summary":
        return text_problem(value, SUMMARY_MAX)
    if name == "audiences":
        if not _texts(value) or not value:
            return f"应当是一组群类型，或写 all：{sorted(AUDIENCES)}"
        unknown = [v for v in value if v not in AUDIENCES]
        return f"不认识的对象 {unknown}，可用：{sorted(AUDIENCES)}" if unknown else None
    if name == "scams":
        if value is None:
            return None
        if not _texts(value):
            return "应当是一组骗局编号"
        unknown = [v for v in value if v not in scam_ids]
        return f"没有这些骗局编号 {unknown}（见 content/scams）" if unknown else None
    if name == "receipt":
        ok = value is None or value in RECEIPT_KINDS
        return None if ok else f"应当是其中之一：{list(RECEIPT_KINDS)}"
    # date: YAML reads an unquoted YYYY-MM-DD as a date (and a time after it as a datetime)
    plain_date = isinstance(value, date) and not isinstance(value, datetime)
    return None if plain_date else "应当是日期，如 2026-11-20"


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
