"""Winners of a round for the prize draw: only the display name, group, score and time."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from bot.quiz.rounds import QuizRounds
from bot.store.groups import GroupRegistry

HEADERS = ("名次", "称呼", "所在群", "得分", "答对题数", "用时（秒）")


class UnknownRound(LookupError):
    """No round with that id (or it expired)."""


@dataclass(frozen=True, slots=True)
class Winner:
    """One row of the prize list."""

    place: int
    name: str
    group: str
    score: int
    correct: int
    seconds: float

    def row(self) -> tuple[int, str, str, int, int, float]:
        """Return the row in HEADERS order."""
        return (self.place, self.name, self.group, self.score, self.correct, self.seconds)


async def winners(
    rounds: QuizRounds, registry: GroupRegistry, round_id: str, top: int
) -> list[Winner]:
    """Return the best `top` players, ties broken by less total answer time."""
    round_ = await rounds.get(round_id)
    if round_ is None:
        raise UnknownRound(round_id)
    names: dict[str, str] = {}
    rows = []
    for place, standing in enumerate(await rounds.leaderboard(round_id, top), start=1):
        group_id = standing.group_id or round_.group_id
        if group_id not in names:
            group = await registry.get(group_id)
            names[group_id] = group.name if group and group.name else group_id
        seconds = round(standing.time_ms / 1000, 1)
        rows.append(
            Winner(
                place,
                _inert(standing.name or "匿名"),
                _inert(names[group_id]),
                standing.score,
                standing.correct,
                seconds,
            )
        )
    return rows


def _inert(text: str) -> str:
    """Keep a spreadsheet from reading a player's name as a formula (=, +, -, @)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write(path: Path, rows: list[Winner]) -> None:
    """Write `rows` as .xlsx or .csv, by the file's suffix."""
    if path.suffix.lower() == ".xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "获奖名单"
        sheet.append(HEADERS)
        for winner in rows:
            sheet.append(winner.row())
        book.save(path)
        return
    # utf-8-sig: Excel on Chinese Windows opens the file with the right encoding.
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(winner.row() for winner in rows)
