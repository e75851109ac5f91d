"""Quiz answers scored per second, every score checked, against a bare-EVALSHA baseline.

A real redis-server (the bundled binary) on a unix socket; one page round of QUESTIONS
questions; PLAYERS players each answer every question once, and every third answers a question
twice (the duplicate must be refused), CONCURRENCY answers in flight at a time through
QuizRounds.answer (one EVALSHA of the scoring script each). Afterwards every stored answer's
points are recomputed from its choice and time, and every player's score must equal their sum.
The baseline is the same number of EVALSHA calls of a script that only returns 1, at the same
concurrency on the same connection pool: the ratio shows what the scoring logic itself costs.
Goal: >= 2,000 scored answers per second. Run: python -m bench.quiz_scoring
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from redis.asyncio import BlockingConnectionPool, Redis

from bot.library import load_library
from bot.models import Group, GroupKind
from bot.quiz.bank import LETTERS, Question
from bot.quiz.model import Outcome
from bot.quiz.rounds import QuizRounds
from bot.settings import PROJECT_ROOT
from bot.store import keys
from bot.store.embedded import EmbeddedRedis

PLAYERS, QUESTIONS, CONCURRENCY, SECONDS = 2000, 5, 64, 60
START_MS = 1_760_000_000_000


async def in_batches(calls: list[Callable[[], Awaitable[object]]]) -> list[object]:
    """Run `calls` with at most CONCURRENCY in flight; return their results in order."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def run(call: Callable[[], Awaitable[object]]) -> object:
        async with gate:
            return await call()

    return await asyncio.gather(*(run(call) for call in calls))


def points(question: Question, choice: str, elapsed_ms: int, window_ms: int) -> int:
    """Recompute an answer's worth without the script."""
    if choice != question.letter:
        return 0
    return 10 + 5 * (window_ms - min(elapsed_ms, window_ms)) // window_ms


async def score(
    redis: Redis, rounds: QuizRounds, questions: list[Question]
) -> tuple[float, int, int]:
    """Score every answer; return (seconds, calls, answers counted); check every score."""
    group = Group("bench", "基准测试群", GroupKind.VILLAGE, "城关镇/幸福村")
    round_ = await rounds.start(group, questions, organiser="b", mode="page", seconds=SECONDS,
                                at_ms=START_MS, open_ms=3_600_000)  # fmt: skip
    rng = random.Random(1)
    calls: list[Callable[[], Awaitable[object]]] = []
    for player in range(PLAYERS):
        member = f"p{player:05d}"
        for index, question in enumerate(questions):
            for _ in range(2 if (player + index) % 3 == 0 else 1):
                letter = LETTERS[rng.randrange(len(question.options))]
                at = START_MS + rng.randrange(1, 400_000)
                calls.append(
                    partial(
                        rounds.answer,
                        round_.id,
                        member,
                        letter,
                        at,
                        question=index,
                        opened_ms=START_MS,
                    )  # fmt: skip
                )
    began = time.perf_counter()
    results = await in_batches(calls)
    elapsed = time.perf_counter() - began
    counted = sum(1 for r in results if getattr(r, "outcome", None) is Outcome.COUNTED)
    assert counted == PLAYERS * QUESTIONS, counted
    await verify(redis, round_.id, questions)
    return elapsed, len(calls), counted


async def verify(redis: Redis, round_id: str, questions: list[Question]) -> None:
    """Recompute every score from the stored answers; raise on any difference."""
    stored = await redis.hgetall(keys.quiz_answers(round_id))
    scores = dict(await redis.zrange(keys.quiz_scores(round_id), 0, -1, withscores=True))
    window = SECONDS * 1000 * len(questions)
    for player in range(PLAYERS):
        member = f"p{player:05d}"
        total = 0
        for index, question in enumerate(questions):
            choice, elapsed, worth = stored[f"{index}:{member}"].split("|")
            assert int(worth) == points(question, choice, int(elapsed), window)
            total += int(worth)
        assert scores[member] == total, (member, scores[member], total)


async def baseline(redis: Redis, calls: int) -> float:
    """Time `calls` EVALSHA calls of a script that does nothing."""
    trivial = redis.register_script("return 1")
    await trivial(keys=["fz:{bench}:x"])
    jobs: list[Callable[[], Awaitable[object]]] = [
        lambda: trivial(keys=["fz:{bench}:x"]) for _ in range(calls)
    ]
    began = time.perf_counter()
    await in_batches(jobs)
    return time.perf_counter() - began


async def main(url: str) -> None:
    library = load_library(PROJECT_ROOT / "content")
    questions = list(library.quiz.all()[:QUESTIONS])
    pool = BlockingConnectionPool.from_url(url, decode_responses=True, max_connections=64)
    redis = Redis.from_pool(pool)
    try:
        await redis.flushall()
        scored_s, calls, counted = await score(redis, QuizRounds(redis, library.quiz), questions)
        base_s = await baseline(redis, calls)
    finally:
        await redis.aclose()
    rate, calls_rate, base_rate = counted / scored_s, calls / scored_s, calls / base_s
    print(f"answer calls: {calls} ({counted} scored, {calls - counted} refused duplicates)")
    print(f"scoring: {rate:,.0f} scored answers/s (refused duplicates not counted), every score "
          "verified exactly (goal >= 2,000/s)")
    print(f"calls: {calls_rate:,.0f}/s; baseline bare EVALSHA: {base_rate:,.0f} calls/s")
    print(f"ratio calls / baseline calls: {calls_rate / base_rate:.2f}")


if __name__ == "__main__":
    with (
        tempfile.TemporaryDirectory(prefix="fanzha-bench-") as folder,
        EmbeddedRedis(Path(folder), persistent=False) as server,
    ):
        asyncio.run(main(server.url))
