"""Quiz reach and accuracy: answers, correct answers and players per day and dimension."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from redis.asyncio import Redis

from bot.models import Group
from bot.quiz.bank import Question
from bot.store import keys, reach
from bot.store.reach import Measure, Unique


async def record_answer(
    redis: Redis, day: date, group: Group | None, member: str, question: Question, correct: bool
) -> None:
    """Count one scored answer in every dimension of `group`, with per-scam/question accuracy."""
    accuracy = [
        keys.quiz_accuracy(day, dim, value) for dim, value in reach.group_dimensions(group)
    ]
    fields = [f"scam:{question.scam}", f"q:{question.id}"]
    async with redis.pipeline(transaction=False) as pipe:
        reach.record(pipe, day, group, Measure.QUIZ_ANSWERS)
        reach.record_unique(pipe, day, group, Unique.QUIZ_PLAYERS, member)
        for field in fields:
            reach.count_day(pipe, accuracy, f"{field}:answers")
        if correct:
            reach.record(pipe, day, group, Measure.QUIZ_CORRECT)
            for field in fields:
                reach.count_day(pipe, accuracy, f"{field}:correct")
        await pipe.execute()


async def quiz_stats(
    redis: Redis, days: Iterable[date], dimension: str = "all", value: str = "all"
) -> dict[str, tuple[int, int]]:
    """Return scam id -> (answers, correct) over `days` ("" = general-knowledge questions)."""
    return await _accuracy(redis, days, dimension, value, "scam")


async def question_stats(
    redis: Redis, days: Iterable[date], dimension: str = "all", value: str = "all"
) -> dict[str, tuple[int, int]]:
    """Return question id -> (answers, correct) over `days`, for the dashboard."""
    return await _accuracy(redis, days, dimension, value, "q")


async def _accuracy(
    redis: Redis, days: Iterable[date], dimension: str, value: str, prefix: str
) -> dict[str, tuple[int, int]]:
    async with redis.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.hgetall(keys.quiz_accuracy(day, dimension, value))
        per_day = await pipe.execute()
    answers: dict[str, int] = {}
    correct: dict[str, int] = {}
    for stored in per_day:
        for field, count in stored.items():
            kind, _, rest = field.partition(":")
            name, _, measure = rest.rpartition(":")
            if kind != prefix:
                continue
            target = answers if measure == "answers" else correct
            target[name] = target.get(name, 0) + int(count)
    return {name: (count, correct.get(name, 0)) for name, count in answers.items()}
