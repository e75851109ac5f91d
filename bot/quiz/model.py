"""A quiz round's data as stored in Redis and returned by its scripts. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Literal

from bot.quiz.bank import Question

Mode = Literal["chat", "page"]


class Outcome(IntEnum):
    """What the answer script did with one answer."""

    NO_ROUND = 0
    COUNTED = 1
    LATE = 2
    DUPLICATE = 3
    NOT_AN_OPTION = 4


@dataclass(frozen=True, slots=True)
class Answered:
    """The answer script's verdict."""

    outcome: Outcome
    question: int
    correct: bool
    points: int
    question_id: str = ""


@dataclass(frozen=True, slots=True)
class Round:
    """A round as stored in Redis."""

    id: str
    group_id: str
    mode: Mode
    questions: tuple[Question, ...]
    seconds: int
    organiser: str
    state: str
    current: int
    deadline_ms: int

    @property
    def open(self) -> bool:
        """Return True while answers are taken."""
        return self.state == "open"

    @property
    def deadline_at(self) -> datetime:
        """Return the deadline as an aware UTC time."""
        return datetime.fromtimestamp(self.deadline_ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class Closed:
    """A question this caller closed: which one, whether the round finished with it, and the
    mark of its owed announcement (clear it with QuizRounds.announced once posted)."""

    round: Round
    question: int
    finished: bool
    owed: str


@dataclass(frozen=True, slots=True)
class Standing:
    """One player's place on a leaderboard."""

    member: str
    name: str
    group_id: str
    score: int
    correct: int
    time_ms: int


class RoundBusy(Exception):
    """The group already has a round running."""
