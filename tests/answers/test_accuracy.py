"""The answer path on the held-out splits of tests/data (never used for calibration).

Thresholds from issue 13: 92% top-1 on held-out questions; the checker flags (可疑 or 高风险)
with precision 0.95 and recall 0.90. In groups the bot must stay silent on ordinary talk (the
Cofacts lesson) and still speak for most scams in progress; both sides are measured. The
off-topic and speaking floors are regression guards set under the figures first measured.

Not met yet (issue 13 stays open): on the held-out checker set precision is 0.919 and recall
0.630 (scams with no classic keyword are the gap), and groups stay silent on 94.0% of ordinary
talk. Those three asserts are floors just under today's figures, so nothing slides back while
the work goes on; raise them to the targets as the checker improves.
"""

from __future__ import annotations

from collections import Counter

from bot.answers import evaluate, labelled
from bot.answers.calibrate import fit, prepare
from bot.answers.scorer import Calibration
from bot.library import Library

MIN_TOP1 = 0.92
MIN_DECLINED = 0.80
TARGET_PRECISION, TARGET_RECALL, TARGET_SILENT = 0.95, 0.90, 0.95  # issue 13's goals
MIN_PRECISION = 0.90  # measured 0.919
MIN_RECALL = 0.60  # measured 0.630
MIN_SILENT = 0.93  # measured 0.940
MIN_SPEAK = 0.60


def misses(tally: evaluate.Tally) -> str:
    """Return the tally's confusions, one per line."""
    return "\n".join(f"{n} x {want} -> {got}" for (want, got), n in tally.confusion.most_common())


def test_every_set_has_both_splits_and_every_entry_is_asked(library: Library) -> None:
    for rows in (labelled.questions(), labelled.checker(), labelled.chatter()):
        assert Counter(r.split for r in rows).keys() == {labelled.TUNE, labelled.HELDOUT}
    asked = {r.label for r in labelled.questions(labelled.HELDOUT)} - labelled.NO_ENTRY
    assert asked <= set(library.kb.by_id)
    tuned = {r.label for r in labelled.questions(labelled.TUNE)} - labelled.NO_ENTRY
    assert {e.id for e in library.kb.entries} <= tuned


def test_held_out_questions_name_the_right_entry(library: Library) -> None:
    report = evaluate.questions(library.kb, labelled.questions(labelled.HELDOUT))
    print(f"top-1 {report.top1.rate:.3f}, direct {report.direct.rate:.3f}")
    assert report.top1.rate >= MIN_TOP1, misses(report.top1)


def test_held_out_off_topic_messages_are_declined(library: Library) -> None:
    report = evaluate.questions(library.kb, labelled.questions(labelled.HELDOUT))
    assert report.declined.rate >= MIN_DECLINED, misses(report.declined)


def test_held_out_checker_precision_and_recall(library: Library) -> None:
    report = evaluate.checker(library.risk, labelled.checker(labelled.HELDOUT))
    summary = (
        f"precision {report.precision:.3f} (goal {TARGET_PRECISION}) "
        f"recall {report.recall:.3f} (goal {TARGET_RECALL})"
    )
    print(summary)
    assert report.precision >= MIN_PRECISION, summary + "\n" + "\n".join(report.misses)
    assert report.recall >= MIN_RECALL, summary + "\n" + "\n".join(report.misses)


def test_held_out_group_chatter_silent_and_speaking(library: Library) -> None:
    tallies = evaluate.chatter(library.kb, library.risk, labelled.chatter(labelled.HELDOUT))
    print({label: round(t.rate, 3) for label, t in tallies.items()})
    silent = f"silent {tallies['silent'].rate:.3f} (goal {TARGET_SILENT})\n"
    assert tallies["silent"].rate >= MIN_SILENT, silent + misses(tallies["silent"])
    assert tallies["speak"].rate >= MIN_SPEAK, misses(tallies["speak"])


def test_the_shipped_calibration_is_the_fit_on_the_tuning_split(library: Library) -> None:
    rows = prepare(library.kb, labelled.questions(labelled.TUNE))
    fitted, _ = fit(library.kb, rows)
    assert fitted == Calibration.load(), "re-run: python -m bot.answers.calibrate"
