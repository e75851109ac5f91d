"""Measure the answer path on a labelled split: questions, checker, group chatter."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.answers import labelled
from bot.answers.checker import RiskLevel, RiskRules
from bot.answers.matcher import KnowledgeBase
from bot.answers.speak import overheard

OFFTOPIC_LABEL = "offtopic"


@dataclass(slots=True)
class Tally:
    """Hits out of rows, overall and by category, with the misses as (expected, got) pairs."""

    hits: int = 0
    rows: int = 0
    by: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, ok: bool, categories: dict[str, str], expected: str, got: str) -> None:
        """Count one row under every category it belongs to."""
        self.hits += ok
        self.rows += 1
        for kind, value in categories.items():
            self.by[f"{kind}={value or '-'}"]["hits"] += ok
            self.by[f"{kind}={value or '-'}"]["rows"] += 1
        if not ok:
            self.confusion[(expected, got)] += 1

    @property
    def rate(self) -> float:
        """Return hits / rows (0 for no rows)."""
        return self.hits / self.rows if self.rows else 0.0


@dataclass(slots=True)
class QuestionReport:
    """Top-1 (the entry the bot leads with), direct answers, and off-topic handling."""

    top1: Tally = field(default_factory=Tally)
    direct: Tally = field(default_factory=Tally)
    declined: Tally = field(default_factory=Tally)


def questions(kb: KnowledgeBase, rows: Sequence[labelled.Row]) -> QuestionReport:
    """Judge real questions by top-1 and direct answer, negatives by whether they are declined."""
    report = QuestionReport()
    for row in rows:
        found = kb.lookup(row.text, row.audience or None)
        lead = found.candidates[0].entry.id if found.candidates else OFFTOPIC_LABEL
        categories = dict(row.categories)
        if row.label in labelled.NO_ENTRY:
            report.declined.add(not found.candidates, categories, OFFTOPIC_LABEL, lead)
            continue
        report.top1.add(lead == row.label, categories, row.label, lead)
        got = found.best.entry.id if found.best else found.decision.value
        report.direct.add(got == row.label, categories, row.label, got)
    return report


@dataclass(slots=True)
class CheckerReport:
    """Precision and recall of flagging (可疑 or 高风险) against the labels."""

    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    levels: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)
    right: Tally = field(default_factory=Tally)

    @property
    def precision(self) -> float:
        """Return the share of flagged messages that are labelled risky."""
        flagged = self.true_pos + self.false_pos
        return self.true_pos / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        """Return the share of risky messages that are flagged."""
        risky = self.true_pos + self.false_neg
        return self.true_pos / risky if risky else 1.0


def checker(rules: RiskRules, rows: Sequence[labelled.Row]) -> CheckerReport:
    """Judge every checker row."""
    report = CheckerReport()
    for row in rows:
        assessment = rules.assess(row.text)
        flagged = assessment.level is not RiskLevel.NONE
        risky = row.label != RiskLevel.NONE.value
        report.levels[(row.label, assessment.level.value)] += 1
        report.true_pos += flagged and risky
        report.false_pos += flagged and not risky
        report.false_neg += risky and not flagged
        report.right.add(flagged == risky, dict(row.categories), row.label, assessment.level.value)
        if flagged != risky:
            fired = ",".join(r.id for r in assessment.fired) or "-"
            report.misses.append(f"{row.label} -> {assessment.level.value} [{fired}] {row.text}")
    return report


def chatter(kb: KnowledgeBase, rules: RiskRules, rows: Sequence[labelled.Row]) -> dict[str, Tally]:
    """Return, per label (speak / silent), how often the bot did the right thing."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for row in rows:
        spoke = overheard(row.text, kb, rules, row.audience or None) is not None
        got = "speak" if spoke else "silent"
        tallies[row.label].add(got == row.label, dict(row.categories), row.label, row.text)
    return dict(tallies)
