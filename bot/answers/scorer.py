"""One score per entry from every signal, and the measured thresholds that turn it into a
decision: answer directly, offer a menu, or say the bot does not know.

The weights and thresholds live in calibration.json, written by `python -m bot.answers.calibrate`
from the tuning split of tests/data/questions.tsv; nothing here is set by hand.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from enum import Enum
from functools import cache
from pathlib import Path

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


class Decision(Enum):
    """What the bot does with a question."""

    ANSWER = "answer"
    MENU = "menu"
    UNKNOWN = "unknown"
    OFFTOPIC = "offtopic"


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a question holds, per entry index: phrase, sound and BM25 scores, and the entries
    whose audience is the group's; plus its count of fraud words."""

    exact: dict[int, float]
    sound: dict[int, float]
    bm25: dict[int, float]
    heard: dict[int, float]
    audience: frozenset[int]
    cues: int


@dataclass(frozen=True, slots=True)
class Calibration:
    """Signal weights and decision thresholds, as fitted on the tuning split."""

    sound: float = 0.7
    bm25: float = 1.0
    heard: float = 0.5
    audience: float = 1.0
    # A question with no fraud vocabulary at all has its scores multiplied by this.
    unfocused: float = 0.5
    confident: float = 7.0
    margin: float = 1.2
    menu: float = 5.0

    def scores(self, evidence: Evidence) -> list[tuple[float, int]]:
        """Return (score, entry index) best first; exact phrases weigh 1 by definition."""
        combined = dict(evidence.exact)
        for index, value in evidence.sound.items():
            combined[index] = combined.get(index, 0.0) + self.sound * value
        for index, value in evidence.bm25.items():
            combined[index] = combined.get(index, 0.0) + self.bm25 * value
        for index, value in evidence.heard.items():
            combined[index] = combined.get(index, 0.0) + self.heard * value
        for index in evidence.audience & combined.keys():
            combined[index] += self.audience
        focus = 1.0 if evidence.cues else self.unfocused
        return sorted(((s * focus, i) for i, s in combined.items()), reverse=True)

    def decide(self, top: float, runner_up: float) -> Decision:
        """Return the decision for a best and second-best score."""
        if top >= self.confident and top >= self.margin * runner_up:
            return Decision.ANSWER
        return Decision.MENU if top >= self.menu else Decision.UNKNOWN

    def save(self, path: Path, note: dict[str, object]) -> None:
        """Write the calibration and how it was measured to `path`."""
        body = {"parameters": asdict(self), "measured": note}
        path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> Calibration:
        """Read a calibration file; unknown or missing parameters are refused."""
        values = json.loads(path.read_text(encoding="utf-8"))["parameters"]
        names = {f.name for f in fields(cls)}
        if set(values) != names:
            raise ValueError(f"{path}: parameters must be exactly {sorted(names)}")
        return cls(**{k: float(v) for k, v in values.items()})


@cache
def calibrated() -> Calibration:
    """Return the shipped calibration (read once)."""
    return Calibration.load()
