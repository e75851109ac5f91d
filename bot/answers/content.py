"""Load and validate the curated knowledge base in content/; the index handlers query."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.models import AUDIENCE_LABELS

ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a content file is invalid, located by file, line and field."""

    path: Path
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.reason}"


class ContentError(ValueError):
    """Content failed validation; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class Entry:
    """One knowledge-base entry: a scam type (kind "scam") or a general topic (kind "topic")."""

    id: str
    kind: str
    name: str
    short: str
    aliases: tuple[str, ...]
    triggers: tuple[str, ...]
    summary: str
    how: str = ""
    example: str = ""
    red_flags: tuple[str, ...] = ()
    prevention: tuple[str, ...] = ()
    if_scammed: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    points: tuple[str, ...] = ()

    @property
    def audience_labels(self) -> tuple[str, ...]:
        """Return the Chinese names of the audiences most at risk."""
        return tuple(AUDIENCE_LABELS[a] for a in self.audiences)


@dataclass(frozen=True, slots=True)
class FieldRule:
    """How one YAML field is checked: text or list of texts, limits, and an extra check."""

    list_of_text: bool
    required: bool = True
    max_len: int = 400
    min_items: int = 0
    check: Callable[[Any], str | None] | None = None


def _known_audiences(values: list[str]) -> str | None:
    unknown = [v for v in values if v not in AUDIENCE_LABELS]
    return f"不认识的对象 {unknown}，可用：{sorted(AUDIENCE_LABELS)}" if unknown else None


def _emergency_steps(values: list[str]) -> str | None:
    joined = "".join(values)
    if "110" not in joined:
        return "要告诉群众拨打 110"
    if "止付" not in joined and "冻结" not in joined:
        return "要告诉群众联系银行止付或冻结账户（止付/冻结）"
    return None


def _short_phrases(values: list[str]) -> str | None:
    short = [v for v in values if len(v.strip()) < 2]
    return f"不到 2 个字的词会误匹配太多：{short}" if short else None


COMMON = {
    "id": FieldRule(list_of_text=False, max_len=40),
    "kind": FieldRule(list_of_text=False, max_len=10),
    "name": FieldRule(list_of_text=False, max_len=30),
    "short": FieldRule(list_of_text=False, max_len=8),
    "aliases": FieldRule(list_of_text=True, max_len=20, min_items=1, check=_short_phrases),
    "triggers": FieldRule(list_of_text=True, max_len=20, min_items=3, check=_short_phrases),
    "summary": FieldRule(list_of_text=False, max_len=120),
    "tags": FieldRule(list_of_text=True, required=False, max_len=12),
}
SCAM = {
    **COMMON,
    "how": FieldRule(list_of_text=False, max_len=400),
    "example": FieldRule(list_of_text=False, max_len=300),
    "red_flags": FieldRule(list_of_text=True, max_len=80, min_items=2),
    "prevention": FieldRule(list_of_text=True, max_len=80, min_items=2),
    "if_scammed": FieldRule(list_of_text=True, max_len=120, min_items=2, check=_emergency_steps),
    "audiences": FieldRule(list_of_text=True, max_len=12, min_items=1, check=_known_audiences),
}
TOPIC = {**COMMON, "points": FieldRule(list_of_text=True, max_len=120, min_items=2)}
SCHEMAS = {"scam": SCAM, "topic": TOPIC}


def _key_lines(text: str) -> dict[str, int]:
    """Map each top-level key of a YAML mapping to its 1-based line number."""
    node = yaml.compose(text)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: key.start_mark.line + 1 for key, _ in node.value}


def _check_field(name: str, value: Any, rule: FieldRule) -> str | None:
    if rule.list_of_text:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            return "应当是一组不为空的文字"
        if len(value) < rule.min_items:
            return f"至少要 {rule.min_items} 项，现在只有 {len(value)} 项"
        if len(set(value)) != len(value):
            return "有重复的项"
        too_long = [v for v in value if len(v) > rule.max_len]
        if too_long:
            return f"有的项超过 {rule.max_len} 个字：{too_long[:2]}"
    else:
        if problem := text_problem(value, rule.max_len):
            return problem
    return rule.check(value) if rule.check else None


def text_problem(value: Any, limit: int) -> str | None:
    """Return why `value` is not a non-empty text of at most `limit` characters, or None."""
    if not isinstance(value, str) or not value.strip():
        return "应当是不为空的文字"
    return f"超过 {limit} 个字（现在 {len(value)} 个）" if len(value) > limit else None


def parse_entry(path: Path) -> tuple[Entry | None, list[Problem]]:
    """Parse and validate one entry file; return the entry or the problems found."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        lines = _key_lines(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(path, mark.line + 1 if mark else 1, "-", f"无法读取：{exc}")]
    if not isinstance(data, dict):
        return None, [Problem(path, 1, "-", "文件应当是“字段: 值”的形式")]
    schema = SCHEMAS.get(data.get("kind", ""))
    if schema is None:
        return None, [Problem(path, lines.get("kind", 1), "kind", "应当是 scam 或 topic")]
    problems = [
        Problem(path, lines.get(name, 1), name, reason)
        for name, rule in schema.items()
        if (reason := _field_problem(name, data, rule))
    ]
    problems += [
        Problem(path, lines[name], name, "不认识的字段") for name in data if name not in schema
    ]
    entry_id = data.get("id")
    if isinstance(entry_id, str) and (entry_id != path.stem or not set(entry_id) <= ID_CHARS):
        problems.append(
            Problem(path, lines.get("id", 1), "id", "只能用 a-z、0-9、_，并且要和文件名相同")
        )
    if problems:
        return None, problems
    return _entry(data), []


def _field_problem(name: str, data: Mapping[str, Any], rule: FieldRule) -> str | None:
    if name not in data:
        return "缺少这一项" if rule.required else None
    return _check_field(name, data[name], rule)


def _entry(data: Mapping[str, Any]) -> Entry:
    values: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v.strip() for k, v in data.items()
    }
    return Entry(**values)


def load_entries(content_dir: Path) -> tuple[Entry, ...]:
    """Load every scam and topic entry; raise ContentError listing all problems."""
    paths = sorted((content_dir / "scams").glob("*.yaml")) + sorted(
        (content_dir / "topics").glob("*.yaml")
    )
    if not paths:
        missing = "没有 scams/*.yaml 或 topics/*.yaml 文件"
        raise ContentError([Problem(content_dir, 1, "-", missing)])
    located: dict[Entry, Path] = {}
    problems: list[Problem] = []
    for path in paths:
        entry, found = parse_entry(path)
        problems += found
        if entry:
            located[entry] = path
    problems += _cross_problems(located)
    if problems:
        raise ContentError(problems)
    return tuple(located)


def _cross_problems(located: Mapping[Entry, Path]) -> list[Problem]:
    """Find ids, names and phrases claimed by two entries: they would make routing ambiguous."""
    problems: list[Problem] = []
    owner: dict[tuple[str, str], str] = {}
    for entry, path in located.items():
        if ("id", entry.id) in owner:
            problems.append(Problem(path, 1, "id", f"{entry.id!r} 已被另一个文件使用"))
            continue
        owner[("id", entry.id)] = entry.id
        phrases = [("short", entry.short)] + [
            ("phrase", p) for p in {*entry.aliases, *entry.triggers, entry.name}
        ]
        for space, phrase in phrases:
            key = (space, phrase.lower())
            other = owner.setdefault(key, entry.id)
            if other != entry.id:
                field = "short" if space == "short" else "aliases/triggers"
                reason = f"{phrase!r} 也出现在 {other} 里"
                problems.append(Problem(path, 1, field, reason))
    return problems
