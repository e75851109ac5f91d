"""Scoring under concurrency, and closing questions on time from several instances' timers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import BlockingConnectionPool, Redis

from bot.channels.simulator import Simulator
from bot.library import Library
from bot.push.outbox import Outbox
from bot.quiz.bank import LETTERS, Question
from bot.quiz.model import Outcome
from bot.quiz.rounds import QuizRounds
from bot.quiz.timers import close_due
from bot.settings import Settings
from bot.store import keys
from tests.support.outbox import queued

START_MS = 1_760_000_000_000
SECONDS = 60


class Clock:
    """A hand-moved clock in seconds."""

    def __init__(self) -> None:
        self.now = START_MS / 1000

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clients(settings: Settings, redis: Redis) -> AsyncIterator[tuple[Redis, Redis]]:
    """Two separate clients: two instances' connections to the same Redis."""
    pools = [
        BlockingConnectionPool.from_url(settings.redis_url or "", decode_responses=True)
        for _ in range(2)
    ]
    one, two = (Redis.from_pool(pool) for pool in pools)
    yield one, two
    await one.aclose()
    await two.aclose()


def expected_points(question: Question, choice: str, elapsed_ms: int) -> int:
    """Recompute what an answer is worth, independently of the Lua script."""
    if choice != question.letter:
        return 0
    window = SECONDS * 1000
    return 10 + (5 * (window - min(elapsed_ms, window))) // window


async def test_hundreds_of_simultaneous_answers_score_exactly(
    clients: tuple[Redis, Redis], library: Library, redis: Redis
) -> None:
    clock = Clock()
    instances = [QuizRounds(client, library.quiz, clock=clock) for client in clients]
    questions = [q for q in library.quiz.all() if q.kind == "choice"][:2]
    group = Simulator().groups["sim-village"]
    round_ = await instances[0].start(group, questions, organiser="o", seconds=SECONDS)
    rng = random.Random(7)
    members = [f"m{i:04d}" for i in range(400)]

    for index, question in enumerate(questions):
        opened = START_MS if index == 0 else clock.now * 1000
        attempts = []
        for n, member in enumerate(members):
            # Every member answers once; a third of them answer again with another letter.
            for _ in range(2 if n % 3 == 0 else 1):
                choice = LETTERS[rng.randrange(len(question.options))]
                at = int(opened) + rng.randrange(0, SECONDS * 1000)
                attempts.append(instances[n % 2].answer(round_.id, member, choice, at))
        results = await asyncio.gather(*attempts)
        outcomes = [r.outcome for r in results]
        assert outcomes.count(Outcome.COUNTED) == len(members)
        assert outcomes.count(Outcome.DUPLICATE) == len(attempts) - len(members)
        clock.now += SECONDS + 1
        closed = await instances[1].close(round_.id)
        assert closed is not None and closed.question == index

    stored = await redis.hgetall(keys.quiz_answers(round_.id))
    scores = dict(await redis.zrange(keys.quiz_scores(round_.id), 0, -1, withscores=True))
    assert len(stored) == len(members) * len(questions)
    for member in members:
        total = 0
        for index, question in enumerate(questions):
            choice, elapsed, points = stored[f"{index}:{member}"].split("|")
            assert int(points) == expected_points(question, choice, int(elapsed))
            total += int(points)
        assert scores[member] == total
    for index, question in enumerate(questions):
        right = sum(stored[f"{index}:{m}"].split("|")[0] == question.letter for m in members)
        assert await instances[0].question_stats(round_.id, index) == (len(members), right)


async def test_timers_on_two_instances_close_each_question_once(
    clients: tuple[Redis, Redis], library: Library, redis: Redis
) -> None:
    clock = Clock()
    instances = [QuizRounds(client, library.quiz, clock=clock) for client in clients]
    outboxes = [Outbox(client) for client in clients]
    pairs = list(zip(instances, outboxes, strict=True))
    group = Simulator().groups["sim-elderly"]
    questions = list(library.quiz.all()[:2])
    round_ = await instances[0].start(group, questions, organiser="o", seconds=20)
    await instances[0].answer(round_.id, "m1", questions[0].letter, START_MS + 1000)

    assert await close_due(instances[0], outboxes[0]) == 0  # not due yet
    clock.now += 21
    closed = await asyncio.gather(*(close_due(r, o) for r, o in pairs))
    assert sum(closed) == 1
    assert await outboxes[0].state(group.id, f"quiz|{round_.id}|0|close") == "queued"

    clock.now += 21
    closed = await asyncio.gather(*(close_due(r, o) for r, o in pairs))
    assert sum(closed) == 1
    assert await outboxes[1].state(group.id, f"quiz|{round_.id}|1|close") == "queued"
    assert await instances[1].active(group.id) is None
    assert await redis.zcard(keys.QUIZ_DUE) == 0
    finished = await instances[1].get(round_.id)
    assert finished is not None and not finished.open
    # A late answer after the end changes nothing.
    late = await instances[0].answer(round_.id, "m2", questions[1].letter, START_MS + 50_000)
    assert late.outcome is Outcome.NO_ROUND


async def test_a_close_whose_closer_died_is_posted_once_by_the_timer(
    library: Library, redis: Redis
) -> None:
    clock = Clock()
    rounds, outbox = QuizRounds(redis, library.quiz, clock=clock), Outbox(redis)
    questions = list(library.quiz.all()[:2])
    group = Simulator().groups["sim-elderly"]
    round_ = await rounds.start(group, questions, organiser="o", seconds=20)
    clock.now += 21
    assert await rounds.close(round_.id) is not None  # committed; the process dies here
    first, last = f"quiz|{round_.id}|0|close", f"quiz|{round_.id}|1|close"
    assert await close_due(rounds, outbox) == 0  # within the grace its closer may still post
    assert await outbox.state(group.id, first) is None

    clock.now += 16  # past the grace, and question 1 (20 s) is not due yet
    assert await close_due(rounds, outbox) == 0
    assert await outbox.state(group.id, first) == "queued"
    assert await close_due(rounds, outbox) == 0 and await rounds.owed(round_.id) is None

    clock.now += 5
    assert await rounds.close(round_.id) is not None  # the final close; died again
    assert await redis.zscore(keys.QUIZ_DUE, round_.id) is not None  # still findable
    clock.now += 16
    assert await close_due(rounds, outbox) == 0
    assert await outbox.state(group.id, last) == "queued"
    assert await redis.zcard(keys.QUIZ_DUE) == 0  # retired once its board was posted
    assert len(await queued(redis, urgent=True)) == 2  # each close queued exactly once
