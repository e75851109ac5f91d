"""The quiz bank: the bundled questions, every validation rule, and picking rounds."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from pathlib import Path

import pytest

from bot.answers.content import ContentError, Problem
from bot.cli.main import main
from bot.library import Library, load_library
from bot.models import AUDIENCE_LABELS
from bot.quiz.bank import TRUE_FALSE, QuizBank, load_quiz
from bot.settings import PROJECT_ROOT

SCAMS = {"shuadan", "kefu"}

GOOD = """\
scam: shuadan
audiences: [students]
questions:
  - id: 1
    q: 刷单返利可信吗？
    options: [可信, 不可信, 看情况]
    answer: B
    explain: 刷单就是诈骗。
    difficulty: easy
  - id: 2
    q: 刷单本身违法。
    type: truefalse
    answer: true
    explain: 刷单违法。
    difficulty: medium
    audiences: [all]
    scam: kefu
"""


def bank_of(tmp_path: Path, text: str, name: str = "sample") -> tuple[QuizBank, list[Problem]]:
    (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    return load_quiz(tmp_path, SCAMS)


def only_problem(tmp_path: Path, text: str) -> Problem:
    bank, problems = bank_of(tmp_path, text)
    assert len(problems) == 1, problems
    return problems[0]


def test_bundled_bank_loads_cleanly(library: Library) -> None:
    bank = library.quiz
    assert len(bank) >= 150
    scam_ids = {entry.id for entry in library.kb.scams}
    assert {q.scam for q in bank.all()} - {""} <= scam_ids
    assert len(bank.by_scam()) >= 25
    kinds = Counter(q.kind for q in bank.all())
    assert kinds["choice"] > kinds["truefalse"] > 20
    assert set(Counter(q.difficulty for q in bank.all())) == {"easy", "medium", "hard"}
    audiences = {a for q in bank.all() for a in q.audiences}
    assert {"village", "elderly", "parents", "students", "enterprise", "finance"} <= audiences


def test_bundled_answers_are_spread_over_letters(library: Library) -> None:
    choice = [q for q in library.quiz.all() if q.kind == "choice"]
    letters = Counter(q.letter for q in choice)
    assert set(letters) == {"A", "B", "C", "D"}
    assert max(letters.values()) <= 0.45 * len(choice), letters
    truths = Counter(q.answer for q in library.quiz.all() if q.kind == "truefalse")
    assert min(truths.values()) >= 0.3 * sum(truths.values()), truths


def test_bundled_answers_are_not_given_away(library: Library) -> None:
    """The right option is not usually the longest one, and no question is asked twice."""
    choice = [q for q in library.quiz.all() if q.kind == "choice"]
    longest = [
        q.id
        for q in choice
        if all(len(q.options[q.answer]) > len(o) for i, o in enumerate(q.options) if i != q.answer)
    ]
    assert len(longest) <= 0.3 * len(choice), longest
    texts = Counter(q.text for q in library.quiz.all())
    assert texts.most_common(1)[0][1] == 1


def test_good_file_parses_with_defaults(tmp_path: Path) -> None:
    bank, problems = bank_of(tmp_path, GOOD)
    assert problems == []
    first, second = bank.get("sample-1"), bank.get("sample-2")
    assert first is not None and second is not None
    assert (first.kind, first.options, first.answer, first.letter) == (
        "choice",
        ("可信", "不可信", "看情况"),
        1,
        "B",
    )
    assert (first.scam, first.audiences) == ("shuadan", ("students",))
    assert (second.kind, second.options, second.answer) == ("truefalse", TRUE_FALSE, 0)
    assert (second.scam, second.audiences, second.difficulty) == ("kefu", ("all",), "medium")
    assert bank.get("sample-3") is None


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "reason"),
    [
        ("answer: B", "answer: D", 7, "answer", "中的一个字母"),
        ("answer: B", "answer: [A, B]", 7, "answer", "中的一个字母"),
        ("answer: B", "answer: AB", 7, "answer", "中的一个字母"),
        ("[可信, 不可信, 看情况]", "[可信]", 6, "options", "要有 2-4 个选项"),
        ("[可信, 不可信, 看情况]", "[可信, 不可信, 看情况, 甲, 乙]", 6, "options", "2-4"),
        ("[可信, 不可信, 看情况]", "[可信, 可信, 看情况]", 6, "options", "选项有重复"),
        ("[可信, 不可信, 看情况]", "[可信, '', 看情况]", 6, "options", "有空的选项"),
        ("[可信, 不可信, 看情况]", f"[可信, {'长' * 41}]", 6, "options", "超过 40 个字"),
        ("q: 刷单返利可信吗？", f"q: {'问' * 121}", 5, "q", "超过 120 个字"),
        ("explain: 刷单就是诈骗。", f"explain: {'讲' * 121}", 8, "explain", "120"),
        ("explain: 刷单就是诈骗。", "explain: ''", 8, "explain", "不为空"),
        ("difficulty: easy", "difficulty: tricky", 9, "difficulty", "应当是其中之一"),
        ("scam: kefu", "scam: unknown", 17, "scam", "没有这个骗局编号"),
        ("audiences: [all]", "audiences: [unbound]", 16, "audiences", "不认识的对象"),
        ("answer: true", "answer: B", 13, "answer", "true 或 false"),
        ("type: truefalse", "type: essay", 12, "type", "choice 或 truefalse"),
        ("difficulty: medium", "difficulty: medium\n    hint: x", 16, "hint", "不认识的字段"),
        ("  - id: 2", "  - id: 1", 10, "id", "sample-1 already used on line 4"),
        ("  - id: 2", "  - id: two", 10, "id", "正整数"),
        ("    explain: 刷单违法。\n", "", 10, "explain", "缺少这一项"),
        ("scam: shuadan\n", "scam: nope\n", 1, "scam", "没有这个骗局编号"),
        ("audiences: [students]", "audiences: [martians]", 2, "audiences", "不认识的对象"),
        ("questions:", "extra: 1\nquestions:", 3, "extra", "不认识的字段"),
    ],
)
def test_each_rule_names_file_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, field: str, reason: str
) -> None:
    assert old in GOOD
    problem = only_problem(tmp_path, GOOD.replace(old, new, 1))
    assert (problem.path.name, problem.line, problem.field) == ("sample.yaml", line, field)
    assert reason in problem.reason
    assert str(problem).startswith(f"{tmp_path / 'sample.yaml'}:{line}: {field}: ")


def test_truefalse_with_options_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("type: truefalse", "type: truefalse\n    options: [对, 错]")
    problem = only_problem(tmp_path, text)
    assert (problem.line, problem.field) == (13, "options")
    assert only_problem(tmp_path, GOOD.replace("    type: truefalse\n", "")).field == "options"


def test_broken_files_are_reported_not_raised(tmp_path: Path) -> None:
    assert only_problem(tmp_path, "questions: [\n").reason.startswith("无法读取")
    (tmp_path / "sample.yaml").unlink()
    assert only_problem(tmp_path, "- just a list\n").field == "questions"
    (tmp_path / "sample.yaml").unlink()
    assert "每道题" in only_problem(tmp_path, "questions:\n  - 3\n").reason
    bank, problems = load_quiz(tmp_path / "missing", SCAMS)
    assert len(bank) == 0 and "没有 quiz" in problems[0].reason


def test_bad_question_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    bank, problems = bank_of(tmp_path, GOOD.replace("answer: B", "answer: Z"))
    assert len(problems) == 1 and [q.id for q in bank.all()] == ["sample-2"]


def test_ids_are_unique_across_files_by_file_stem(tmp_path: Path) -> None:
    bank_of(tmp_path, GOOD, "one")
    bank, problems = bank_of(tmp_path, GOOD, "two")
    assert problems == []
    assert sorted(q.id for q in bank.all()) == ["one-1", "one-2", "two-1", "two-2"]


def test_library_refuses_a_broken_quiz_and_lint_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content)
    assert main(["content", "lint", "--content", str(content)]) == 0
    assert "道答题题目" in capsys.readouterr().out
    (content / "quiz" / "broken.yaml").write_text(GOOD.replace("answer: B", "answer: E"), "utf-8")
    with pytest.raises(ContentError) as caught:
        load_library(content)
    assert "broken.yaml:7: answer:" in str(caught.value)
    assert main(["content", "lint", "--content", str(content)]) == 1
    assert "broken.yaml:7" in capsys.readouterr().err


def test_pick_respects_audience_scam_and_exclude(library: Library) -> None:
    bank = library.quiz
    rng = random.Random(7)
    for audience in [*AUDIENCE_LABELS, None]:
        for _ in range(20):
            round_ = bank.pick(8, audience=audience, rng=rng)
            assert len(round_) == 8 and len({q.id for q in round_}) == 8
            assert audience is None or all(q.fits(audience) for q in round_)
    parents = bank.pick(6, audience="parents", rng=rng)
    assert sum("parents" in q.audiences for q in parents) >= 3
    shuadan = bank.pick(50, scam="shuadan", rng=rng)
    assert shuadan and {q.scam for q in shuadan} == {"shuadan"}
    assert len(shuadan) == len(bank.by_scam()["shuadan"])
    seen = {q.id for q in shuadan[:3]}
    again = bank.pick(50, scam="shuadan", exclude=seen, rng=rng)
    assert len(again) == len(shuadan) - 3 and not seen & {q.id for q in again}


def test_pick_orders_by_difficulty_and_is_reproducible(library: Library) -> None:
    order = {"easy": 0, "medium": 1, "hard": 2}
    first = library.quiz.pick(10, rng=random.Random(3))
    assert [order[q.difficulty] for q in first] == sorted(order[q.difficulty] for q in first)
    assert first == library.quiz.pick(10, rng=random.Random(3))
    assert library.quiz.pick(0, rng=random.Random(3)) == []
    assert library.quiz.pick(-2, audience="parents", rng=random.Random(3)) == []
