"""Fit the scorer's weights and thresholds on the tuning split only, and write them.

Run: python -m bot.answers.calibrate. The held-out split is never read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from bot.answers import labelled
from bot.answers.content import load_entries
from bot.answers.matcher import KnowledgeBase
from bot.answers.scorer import CALIBRATION_FILE, Calibration, Evidence
from bot.settings import PROJECT_ROOT

# What each outcome is worth: a wrong direct answer costs more than a menu or a "don't know";
# refusing a real question as off-topic costs as much as answering chatter with a scam.
# A menu led by the right entry is nearly as good as the answer; one that only lists it is less.
REWARD = {
    "right": 1.0,
    "menu_lead": 0.6,
    "in_menu": 0.3,
    "menu_miss": -0.3,
    "unknown": -0.3,
    "wrong": -1.5,
}
DECLINE = {"declined": 1.0, "menu": -0.5, "answered": -1.5, "refused_real": -1.0}
GRIDS: dict[str, tuple[float, ...]] = {
    "sound": (0.3, 0.5, 0.7, 0.9, 1.0, 1.2),
    "bm25": (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0),
    "heard": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0),
    "audience": (0.0, 1.0, 2.0, 3.0, 5.0, 8.0),
    "unfocused": (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0),
    "confident": tuple(float(x) for x in range(4, 41, 2)),
    "margin": (1.0, 1.1, 1.2, 1.3, 1.5, 1.75, 2.0),
    "menu": tuple(float(x) for x in range(2, 31, 2)),
}
PASSES = 4
# Where the search starts: lenient, middling and strict thresholds (it is only locally optimal).
STARTS: tuple[dict[str, float], ...] = (
    {"confident": 7.0, "menu": 5.0},
    {"confident": 12.0, "menu": 8.0, "unfocused": 0.3},
    {"confident": 18.0, "menu": 10.0, "unfocused": 0.2},
)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A tuning row with its evidence computed once."""

    label: str
    evidence: Evidence


def prepare(kb: KnowledgeBase, rows: Sequence[labelled.Row]) -> list[Prepared]:
    """Compute every row's evidence (the expensive part) once for the whole search."""
    return [Prepared(row.label, kb.evidence(row.text, row.audience or None)) for row in rows]


def utility(kb: KnowledgeBase, rows: Sequence[Prepared], calibration: Calibration) -> float:
    """Return the summed reward of the decisions `calibration` makes on `rows`."""
    total = 0.0
    for row in rows:
        match = kb.decide(row.evidence, calibration)
        ids = [c.entry.id for c in match.candidates]
        if row.label in labelled.NO_ENTRY:
            outcome = "answered" if match.best else "menu" if ids else "declined"
            total += DECLINE[outcome]
        elif match.offtopic:
            total += DECLINE["refused_real"]
        elif match.best:
            total += REWARD["right" if match.best.entry.id == row.label else "wrong"]
        elif ids:
            lead = "menu_lead" if ids[0] == row.label else "in_menu"
            total += REWARD[lead if row.label in ids else "menu_miss"]
        else:
            total += REWARD["unknown"]
    return total


def fit(kb: KnowledgeBase, rows: Sequence[Prepared]) -> tuple[Calibration, float]:
    """Coordinate search over GRIDS from a few starting points; return the best found."""
    found = [_search(kb, rows, replace(Calibration(), **start)) for start in STARTS]
    return max(found, key=lambda pair: pair[1])


def _search(
    kb: KnowledgeBase, rows: Sequence[Prepared], start: Calibration
) -> tuple[Calibration, float]:
    """Improve one parameter at a time over its grid until no change helps."""
    best = start
    best_score = utility(kb, rows, best)
    for _ in range(PASSES):
        improved = False
        for field in fields(Calibration):
            for value in GRIDS[field.name]:
                trial = replace(best, **{field.name: value})
                score = utility(kb, rows, trial)
                if score > best_score + 1e-9:
                    best, best_score, improved = trial, score, True
        if not improved:
            break
    return best, best_score


def main() -> None:
    """Fit on the tuning split and write calibration.json next to the scorer."""
    kb = KnowledgeBase(load_entries(PROJECT_ROOT / "content"), Calibration())
    rows = labelled.questions(labelled.TUNE)
    prepared = prepare(kb, rows)
    calibration, score = fit(kb, prepared)
    note: dict[str, object] = {
        "split": labelled.TUNE,
        "rows": len(rows),
        "utility": round(score, 2),
    }
    calibration.save(CALIBRATION_FILE, note)
    print(f"fitted on {len(rows)} tuning rows, utility {score:.1f}: {calibration}")


if __name__ == "__main__":
    main()
