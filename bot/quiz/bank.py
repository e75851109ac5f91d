"""The quiz question bank: content/quiz/*.yaml loaded, validated and picked from.

One file per scam family or audience. Top-level keys: `scam` (default scam id for its
questions), `audiences` (default audiences) and `questions`, a list of mappings:

    - id: 3                      # positive number, unique in the file -> "shuadan-3"
      q: 题干
      options: [甲, 乙, 丙]        # single choice, 2-4 options; or `type: truefalse`
      answer: B                  # a letter for choice, true/false for truefalse
      explain: 一句话讲清规则
      difficulty: easy           # easy | medium | hard
      audiences: [parents]       # optional, defaults to the file's, else ["all"]
      scam: ""                   # optional, defaults to the file's ("" = general knowledge)
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from bot.answers.content import ID_CHARS, Problem, text_problem
from bot.models import AUDIENCE_LABELS

Kind = Literal["choice", "truefalse"]
Difficulty = Literal["easy", "medium", "hard"]

TRUE_FALSE = ("正确", "错误")
DIFFICULTIES: tuple[Difficulty, ...] = ("easy", "medium", "hard")
AUDIENCES = frozenset({"all", *AUDIENCE_LABELS})
MAX_QUESTION, MAX_OPTION, MAX_EXPLAIN = 120, 40, 120
MIN_OPTIONS, MAX_OPTIONS = 2, 4
LETTERS = string.ascii_uppercase[:MAX_OPTIONS]
FIELDS = frozenset(
    {"id", "q", "type", "options", "answer", "explain", "difficulty", "audiences", "scam"}
)
FILE_FIELDS = frozenset({"scam", "audiences", "questions"})


@dataclass(frozen=True, slots=True)
class Question:
    """One quiz question with its answer and the rule it teaches."""

    id: str
    kind: Kind
    text: str
    options: tuple[str, ...]
    answer: int
    explain: str
    scam: str
    audiences: tuple[str, ...]
    difficulty: Difficulty

    @property
    def letter(self) -> str:
        """Return the letter of the correct option ("A" for the first)."""
        return LETTERS[self.answer]

    def fits(self, audience: str) -> bool:
        """Return True when the question suits `audience` (a group kind or audience word)."""
        return "all" in self.audiences or audience in self.audiences


class QuizBank:
    """Every question, by id and by scam."""

    def __init__(self, questions: Iterable[Question]) -> None:
        self._by_id = {q.id: q for q in questions}

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, qid: str) -> Question | None:
        """Return the question with id `qid`, or None."""
        return self._by_id.get(qid)

    def all(self) -> tuple[Question, ...]:
        """Return every question in file order."""
        return tuple(self._by_id.values())

    def by_scam(self) -> dict[str, tuple[Question, ...]]:
        """Group the questions by scam id ("" holds general knowledge)."""
        groups: dict[str, list[Question]] = {}
        for question in self._by_id.values():
            groups.setdefault(question.scam, []).append(question)
        return {scam: tuple(qs) for scam, qs in groups.items()}

    def pick(
        self,
        n: int,
        *,
        audience: str | None = None,
        scam: str | None = None,
        exclude: set[str] | frozenset[str] = frozenset(),
        rng: random.Random,
    ) -> list[Question]:
        """Pick up to `n` distinct questions for a round, easiest first.

        With an audience, questions written for it take up to half the round and questions
        for everyone fill the rest, so a parents' round is not all general questions.
        """
        pool = [
            q
            for q in self._by_id.values()
            if q.id not in exclude
            and (scam is None or q.scam == scam)
            and (audience is None or q.fits(audience))
        ]
        n = max(n, 0)
        chosen: list[Question] = []
        if audience is not None:
            targeted = [q for q in pool if audience in q.audiences]
            chosen = rng.sample(targeted, min(len(targeted), (n + 1) // 2))
        taken = {q.id for q in chosen}
        rest = [q for q in pool if q.id not in taken]
        chosen += rng.sample(rest, min(len(rest), n - len(chosen)))
        return sorted(chosen, key=lambda q: DIFFICULTIES.index(q.difficulty))


def load_quiz(quiz_dir: Path, scam_ids: set[str]) -> tuple[QuizBank, list[Problem]]:
    """Load every quiz file; return the valid questions and every problem found."""
    paths = sorted(quiz_dir.glob("*.yaml"))
    if not paths:
        return QuizBank(()), [Problem(quiz_dir, 1, "-", "没有 quiz/*.yaml 文件")]
    questions: list[Question] = []
    problems: list[Problem] = []
    for path in paths:
        found, bad = _load_file(path, scam_ids)
        questions += found
        problems += bad
    return QuizBank(questions), problems


def _load_file(path: Path, scam_ids: set[str]) -> tuple[list[Question], list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [Problem(path, mark.line + 1 if mark else 1, "-", f"无法读取：{exc}")]
    if not set(path.stem) <= ID_CHARS:
        return [], [Problem(path, 1, "-", "文件名只能用 a-z、0-9、_")]
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        return [], [Problem(path, 1, "questions", "文件里要有 questions: 题目列表")]
    lines = _key_lines(root)
    problems = [Problem(path, lines[k], k, "不认识的字段") for k in data if k not in FILE_FIELDS]
    defaults = _defaults(path, data, lines, scam_ids, problems)
    items = cast(yaml.MappingNode, root).value
    seq = next(v for k, v in items if k.value == "questions")
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for item, node in zip(data["questions"], cast(yaml.SequenceNode, seq).value, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(item, dict):
            problems.append(Problem(path, line, "-", "每道题应当是“字段: 值”的形式"))
            continue
        question, bad = _question(path, item, _key_lines(node), defaults)
        problems += bad
        if question is None:
            continue
        if question.id in seen:
            reason = f"{question.id} already used on line {seen[question.id]}"
            problems.append(Problem(path, line, "id", reason))
            continue
        seen[question.id] = line
        questions.append(question)
    return questions, problems


@dataclass(frozen=True, slots=True)
class _FileDefaults:
    """The file-level scam and audiences its questions inherit."""

    scam: str
    audiences: tuple[str, ...]
    scam_ids: set[str]


def _defaults(
    path: Path,
    data: Mapping[str, Any],
    lines: Mapping[str, int],
    scam_ids: set[str],
    problems: list[Problem],
) -> _FileDefaults:
    """Check the file-level defaults once; a bad one is reported and replaced by the default."""
    scam, audiences = data.get("scam", ""), data.get("audiences", ["all"])
    if reason := _scam_problem(scam, scam_ids):
        problems.append(Problem(path, lines.get("scam", 1), "scam", reason))
        scam = ""
    if reason := _audience_problem(audiences):
        problems.append(Problem(path, lines.get("audiences", 1), "audiences", reason))
        audiences = ["all"]
    return _FileDefaults(scam, tuple(audiences), scam_ids)


def _question(
    path: Path, item: Mapping[str, Any], lines: Mapping[str, int], defaults: _FileDefaults
) -> tuple[Question | None, list[Problem]]:
    """Validate one question mapping; return it or the problems, each on its field's line."""
    start = min(lines.values(), default=1)
    reasons: dict[str, str] = {k: "不认识的字段" for k in item if k not in FIELDS}
    for name in ("id", "q", "answer", "explain", "difficulty"):
        if name not in item:
            reasons[name] = "缺少这一项"
    kind: Kind = "truefalse" if item.get("type") == "truefalse" else "choice"
    if item.get("type", "choice") not in ("choice", "truefalse"):
        reasons["type"] = "应当是 choice 或 truefalse"
    checks: dict[str, Callable[[Any], str | None]] = {
        "id": lambda v: None if isinstance(v, int) and v > 0 else "应当是正整数",
        "q": lambda v: text_problem(v, MAX_QUESTION),
        "explain": lambda v: text_problem(v, MAX_EXPLAIN),
        "difficulty": lambda v: None if v in DIFFICULTIES else f"应当是其中之一：{DIFFICULTIES}",
        "audiences": _audience_problem,
        "scam": lambda v: _scam_problem(v, defaults.scam_ids),
    }
    for name, check in checks.items():
        if name in item and name not in reasons and (reason := check(item[name])):
            reasons[name] = reason
    options, answer = _options_and_answer(kind, item, reasons)
    if reasons:
        return None, [Problem(path, lines.get(f, start), f, r) for f, r in reasons.items()]
    return Question(
        id=f"{path.stem}-{item['id']}",
        kind=kind,
        text=item["q"].strip(),
        options=options,
        answer=answer,
        explain=item["explain"].strip(),
        scam=item.get("scam", defaults.scam),
        audiences=tuple(item.get("audiences", defaults.audiences)),
        difficulty=item["difficulty"],
    ), []


def _options_and_answer(
    kind: Kind, item: Mapping[str, Any], reasons: dict[str, str]
) -> tuple[tuple[str, ...], int]:
    """Check options and answer together; record reasons and return what parsed."""
    answer = item.get("answer")
    if "type" in reasons:
        return (), 0
    if kind == "truefalse":
        if "options" in item:
            reasons["options"] = "判断题不要写选项"
        if "answer" in item and not isinstance(answer, bool):
            reasons["answer"] = "应当是 true 或 false"
        return TRUE_FALSE, 0 if answer is True else 1
    options = item.get("options")
    if not isinstance(options, list) or not all(isinstance(o, str | int) for o in options):
        reasons["options"] = "应当是一组文字"
        return (), 0
    texts = tuple(str(o).strip() for o in options)
    if not MIN_OPTIONS <= len(texts) <= MAX_OPTIONS:
        reasons["options"] = f"要有 {MIN_OPTIONS}-{MAX_OPTIONS} 个选项，现在有 {len(texts)} 个"
    elif not all(texts):
        reasons["options"] = "有空的选项"
    elif len(set(texts)) != len(texts):
        reasons["options"] = "选项有重复"
    elif too_long := [t for t in texts if len(t) > MAX_OPTION]:
        reasons["options"] = f"有的选项超过 {MAX_OPTION} 个字：{too_long[:2]}"
    letters = tuple(LETTERS[: len(texts)])
    if "options" in reasons or "answer" not in item:
        return texts, 0
    if answer not in letters:
        reasons["answer"] = f"答案应当是 {'、'.join(letters)} 中的一个字母"
        return texts, 0
    return texts, letters.index(answer)


def _scam_problem(value: Any, scam_ids: set[str]) -> str | None:
    if value == "":
        return None
    return None if value in scam_ids else f"没有这个骗局编号 {value!r}"


def _audience_problem(value: Any) -> str | None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return "应当是一组不为空的对象"
    unknown = [v for v in value if v not in AUDIENCES]
    return f"不认识的对象 {unknown}，可用：{sorted(AUDIENCES)}" if unknown else None


def _key_lines(node: yaml.Node | None) -> dict[str, int]:
    """Map each key of a YAML mapping node to its 1-based line number."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
