"""Score a pasted message against the red-flag rules of content/checker/rules.yaml."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import yaml

from bot.answers.text import drop_decoys, normalize

SLUG = re.compile(r"[a-z][a-z0-9_]*\Z")
RULE_FIELDS = frozenset({"id", "label", "advice", "weight", "patterns", "scam"})
SAFE_FIELDS = frozenset({"id", "weight", "patterns"})
TOP_FIELDS = frozenset({"levels", "rules", "safe_patterns"})
LEVEL_FIELDS = frozenset({"high", "suspicious"})
LABEL_MAX = 16
ADVICE_MAX = 60
ESCAPE = re.compile(r"\\.")
# Advice that says what nobody will ask ("客服不会要求您开启屏幕共享") is not a request: a flag
# preceded, within its clause, by one of these is not counted. A rule whose own wording is a
# negation ("不要告诉家人") is judged on what comes before that wording.
NEGATION = re.compile(
    r"(?:(?<!会)不会|(?<!要)不要|不得|(?<!能)不能|(?<!可)不可|不用|无需|无须|绝不|从不|从未|并不|切勿|请勿|勿|别(?!人)|严禁|禁止"
    r"|谨防|警惕|防范|当心|小心|凡是?|拒绝|不存在|没有所谓|不需要|不必|不含|没(?:问|要|让|提|有要求))(?!怕|担心|慌|急|紧张|犹豫)"
)
NEGATION_REACH = 24
CLAUSE_END = re.compile(r"[,.!?;:。，！？；：\n]")


class RiskLevel(Enum):
    """How alarming a message looks."""

    HIGH = "high"
    SUSPICIOUS = "suspicious"
    NONE = "none"

    @property
    def label(self) -> str:
        """Return the verdict as residents read it."""
        return LEVEL_LABELS[self]


LEVEL_LABELS = {
    RiskLevel.HIGH: "高风险",
    RiskLevel.SUSPICIOUS: "可疑",
    RiskLevel.NONE: "未发现明显风险",
}


class RiskRulesError(ValueError):
    """The rules file is invalid; names the file and the field at fault."""

    def __init__(self, source: str, field: str, reason: str) -> None:
        self.source = source
        self.field = field
        self.reason = reason
        super().__init__(f"{source}: {field}: {reason}")


@dataclass(frozen=True, slots=True)
class RiskRule:
    """One red flag: what residents are told, how much it counts, and the regexes finding it."""

    id: str
    label: str
    advice: str
    weight: int
    patterns: tuple[re.Pattern[str], ...]
    scam: str | None = None


@dataclass(frozen=True, slots=True)
class SafeSignal:
    """A mark of a genuine notice (an OTP's own warning); its negative weight offsets flags."""

    id: str
    weight: int
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdict on one message: level, score, the flags that fired, the likely scam."""

    level: RiskLevel
    score: int
    fired: tuple[RiskRule, ...]
    scam_hint: str | None


def fold(text: str) -> str:
    """Return `text` as the rules see it: normalised, with emoji and decoy symbols dropped."""
    return drop_decoys(normalize(text))


def _matches(patterns: Sequence[re.Pattern[str]], folded: str) -> bool:
    """Return whether any of `patterns` occurs in the folded text, not negated."""
    return any(
        not _negated(folded, found) for pattern in patterns for found in pattern.finditer(folded)
    )


def _negated(folded: str, found: re.Match[str]) -> bool:
    """Return whether the clause around a match says it will not happen or must not be done."""
    if NEGATION.match(found.group()):
        return False
    start = found.start()
    before = folded[max(0, start - NEGATION_REACH) : start]
    clause = CLAUSE_END.split(before)[-1] + found.group()
    return NEGATION.search(clause) is not None


@dataclass(frozen=True, slots=True)
class RiskRules:
    """The checker's rules, compiled once; `assess` scores a message against them."""

    rules: tuple[RiskRule, ...]
    safe: tuple[SafeSignal, ...]
    high: int
    suspicious: int

    @classmethod
    def load(cls, path: Path) -> RiskRules:
        """Read, validate and compile the rules file at `path`."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise RiskRulesError(str(path), "-", f"not valid YAML: {exc}") from exc
        if not isinstance(data, Mapping):
            raise RiskRulesError(str(path), "-", "文件应当是“字段: 值”的形式")
        return cls.from_mapping(data, str(path))

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], source: str) -> RiskRules:
        """Validate the parsed rules file `data` (read from `source`) and compile its patterns."""
        top = _Fields.of(data, source, "", TOP_FIELDS)
        levels = _Fields.of(top.require("levels"), source, "levels", LEVEL_FIELDS)
        high = levels.integer("high", 1, 100)
        suspicious = levels.integer("suspicious", 1, 100)
        if suspicious >= high:
            raise levels.fail("suspicious", f"要小于 high（{high}）")
        rules = tuple(
            _rule(_Fields.of(item, source, f"rules[{i}]", RULE_FIELDS))
            for i, item in enumerate(top.items("rules", required=True))
        )
        safe = tuple(
            _safe(_Fields.of(item, source, f"safe_patterns[{i}]", SAFE_FIELDS))
            for i, item in enumerate(top.items("safe_patterns", required=False))
        )
        top.refuse_duplicates("rules", [r.id for r in rules])
        top.refuse_duplicates("safe_patterns", [s.id for s in safe])
        return cls(rules, safe, high, suspicious)

    def assess(self, text: str) -> Assessment:
        """Score `text` against every rule and return the verdict."""
        folded = fold(text)
        matched = [r for r in self.rules if _matches(r.patterns, folded)]
        fired = tuple(sorted(matched, key=lambda r: -r.weight))
        offset = sum(s.weight for s in self.safe if any(p.search(folded) for p in s.patterns))
        score = max(0, sum(r.weight for r in fired) + offset)
        if score >= self.high:
            level = RiskLevel.HIGH
        elif score >= self.suspicious:
            level = RiskLevel.SUSPICIOUS
        else:
            level = RiskLevel.NONE
        hint = None if level is RiskLevel.NONE else _scam_hint(fired)
        return Assessment(level, score, fired, hint)


def _scam_hint(fired: Sequence[RiskRule]) -> str | None:
    """Return the scam the fired rules point to by summed weight; ties go to the first rule."""
    votes: Counter[str] = Counter()
    for rule in fired:
        if rule.scam is not None:
            votes[rule.scam] += rule.weight
    return max(votes, key=votes.__getitem__) if votes else None


def _rule(fields: _Fields) -> RiskRule:
    """Build one red-flag rule; later errors name the rule by its id."""
    rule_id = fields.slug("id")
    fields = _Fields(fields.source, f"rules.{rule_id}", fields.values)
    return RiskRule(
        id=rule_id,
        label=fields.text("label", LABEL_MAX),
        advice=fields.text("advice", ADVICE_MAX),
        weight=fields.integer("weight", 1, 5),
        patterns=fields.patterns("patterns"),
        scam=fields.slug("scam") if "scam" in fields.values else None,
    )


def _safe(fields: _Fields) -> SafeSignal:
    """Build one safe signal; its weight must be negative."""
    signal_id = fields.slug("id")
    fields = _Fields(fields.source, f"safe_patterns.{signal_id}", fields.values)
    return SafeSignal(signal_id, fields.integer("weight", -5, -1), fields.patterns("patterns"))


@dataclass(frozen=True, slots=True)
class _Fields:
    """One mapping of the rules file under validation, and where it sits."""

    source: str
    where: str
    values: Mapping[str, object]

    @classmethod
    def of(cls, value: object, source: str, where: str, allowed: frozenset[str]) -> _Fields:
        """Wrap `value`, failing unless it is a mapping with only `allowed` keys."""
        if not isinstance(value, Mapping):
            raise RiskRulesError(source, where or "-", "应当是“字段: 值”的形式")
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            raise RiskRulesError(source, where or "-", f"unknown fields {unknown}")
        return cls(source, where, value)

    def fail(self, key: str, reason: str) -> RiskRulesError:
        """Return the error for field `key` of this mapping."""
        return RiskRulesError(self.source, f"{self.where}.{key}" if self.where else key, reason)

    def require(self, key: str) -> object:
        """Return the value of `key`, failing when it is missing."""
        if self.values.get(key) is None:
            raise self.fail(key, "缺少这一项")
        return self.values[key]

    def items(self, key: str, *, required: bool) -> list[object]:
        """Return the list under `key`; an absent optional list is empty."""
        if not required and self.values.get(key) is None:
            return []
        value = self.require(key)
        if not isinstance(value, list) or not value:
            raise self.fail(key, "应当是不为空的列表")
        return value

    def text(self, key: str, max_len: int) -> str:
        """Return the non-empty text under `key`, at most `max_len` characters."""
        value = self.require(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "应当是不为空的文字")
        if len(value) > max_len:
            raise self.fail(key, f"超过 {max_len} 个字")
        return value.strip()

    def slug(self, key: str) -> str:
        """Return the ascii slug under `key`."""
        value = self.require(key)
        if not isinstance(value, str) or not SLUG.match(value):
            raise self.fail(key, f"应当是 safe_account 这样的英文编号，现在是 {value!r}")
        return value

    def integer(self, key: str, low: int, high: int) -> int:
        """Return the integer under `key`, between `low` and `high` inclusive."""
        value = self.require(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"应当是 {low} 到 {high} 之间的整数，现在是 {value!r}")
        return value

    def refuse_duplicates(self, key: str, ids: Sequence[str]) -> None:
        """Fail when the list under `key` holds one id twice."""
        duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
        if duplicates:
            raise self.fail(key, f"编号重复：{duplicates}")

    def patterns(self, key: str) -> tuple[re.Pattern[str], ...]:
        """Compile the regexes under `key`; each must be written in folded form."""
        compiled = []
        for index, value in enumerate(self.items(key, required=True)):
            where = f"{key}[{index}]"
            if not isinstance(value, str) or not value:
                raise self.fail(where, "应当是不为空的正则表达式")
            literal = ESCAPE.sub("", value)
            if normalize(literal) != literal:
                raise self.fail(where, "永远匹配不上：请写小写、半角、不带空格")
            try:
                compiled.append(re.compile(value))
            except re.error as exc:
                raise self.fail(where, f"正则表达式有误：{exc}") from exc
        return tuple(compiled)
