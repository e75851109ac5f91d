"""The prize list: winners by score then time, only name, group, score, correct and time."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook
from redis.asyncio import Redis

from bot.channels.simulator import Simulator
from bot.library import Library
from bot.quiz import export
from bot.quiz.rounds import QuizRounds
from bot.store.groups import GroupRegistry

START_MS = 1_760_000_000_000


async def played_round(redis: Redis, library: Library) -> str:
    group = Simulator().groups["sim-parents"]
    await GroupRegistry(redis).put(group)
    question = next(q for q in library.quiz.all() if q.kind == "choice")
    rounds = QuizRounds(redis, library.quiz, clock=lambda: START_MS / 1000)
    round_ = await rounds.start(group, [question], organiser="o", seconds=60)
    wrong = next(c for c in "ABCD" if c != question.letter)
    # Two players tie on points; the faster one ranks first. One name tries a formula.
    plays = [
        ("m1", "小王", question.letter, 30_000),
        ("m2", "=HYPERLINK(1)", question.letter, 30_500),
        ("m3", "小李", question.letter, 30_200),
        ("m4", "错了", wrong, 1000),
    ]
    for member, name, letter, at in plays:
        await rounds.answer(round_.id, member, letter, START_MS + at, name=name,
                            group_id=group.id)  # fmt: skip
    return round_.id


async def test_winners_rank_by_score_then_time(redis: Redis, library: Library) -> None:
    round_id = await played_round(redis, library)
    rows = await export.winners(QuizRounds(redis, library.quiz), GroupRegistry(redis), round_id, 3)
    assert [(w.place, w.name, w.score) for w in rows] == [
        (1, "小王", 12),
        (2, "小李", 12),
        (3, "'=HYPERLINK(1)", 12),
    ]
    assert {w.group for w in rows} == {"实验小学三年级2班家长群"}
    with pytest.raises(export.UnknownRound):
        await export.winners(QuizRounds(redis, library.quiz), GroupRegistry(redis), "nope", 3)


async def test_csv_and_xlsx_hold_only_the_prize_fields(
    redis: Redis, library: Library, tmp_path: Path
) -> None:
    round_id = await played_round(redis, library)
    rows = await export.winners(
        QuizRounds(redis, library.quiz), GroupRegistry(redis), round_id, 10
    )
    export.write(tmp_path / "w.csv", rows)
    export.write(tmp_path / "w.xlsx", rows)
    with (tmp_path / "w.csv").open(encoding="utf-8-sig") as handle:
        table = list(csv.reader(handle))
    assert table[0] == list(export.HEADERS) and len(table) == 5
    assert table[1][:5] == ["1", "小王", "实验小学三年级2班家长群", "12", "1"]
    sheet = load_workbook(tmp_path / "w.xlsx").active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == list(export.HEADERS) and values[-1][1] == "错了"
    assert all(not str(cell).startswith("=") for row in values for cell in row)
