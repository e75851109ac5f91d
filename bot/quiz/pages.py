"""Page rounds opened for a group (by the CLI or a forwarder in the console), and their list."""

from __future__ import annotations

import random

from redis.asyncio import Redis

from bot.library import Library
from bot.models import Group
from bot.quiz.model import Round
from bot.quiz.rounds import QuizRounds, parse_audience
from bot.store import keys

MAX_PAGE_QUESTIONS, MAX_HOURS = 20, 24 * 14
KEPT_ROUNDS = 20


class PageRoundError(ValueError):
    """A page round that cannot be opened; the message is the Chinese reason."""


async def open_page_round(
    redis: Redis,
    library: Library,
    group: Group,
    *,
    count: int,
    hours: int,
    audience_word: str = "",
    organiser: str,
) -> Round:
    """Start a page round of `count` questions open `hours` for the group and remember it."""
    if not 1 <= count <= MAX_PAGE_QUESTIONS:
        raise PageRoundError(f"题目数要在 1 到 {MAX_PAGE_QUESTIONS} 之间。")
    if not 1 <= hours <= MAX_HOURS:
        raise PageRoundError(f"开放时间要在 1 到 {MAX_HOURS} 小时之间。")
    audience = parse_audience(audience_word) if audience_word else group.kind.value
    if audience_word and audience is None:
        raise PageRoundError(f"不认识“{audience_word}”这个对象，可以写 家长、老年人、员工 等。")
    questions = library.quiz.pick(count, audience=audience, rng=random.Random())
    if not questions:
        raise PageRoundError("题库里没有适合这个群的题目。")
    round_ = await QuizRounds(redis, library.quiz).start(
        group, questions, organiser=organiser, mode="page", open_ms=hours * 3600 * 1000
    )
    async with redis.pipeline(transaction=True) as pipe:
        pipe.lpush(keys.page_rounds(group.id), round_.id)
        pipe.ltrim(keys.page_rounds(group.id), 0, KEPT_ROUNDS - 1)
        await pipe.execute()
    return round_


async def recent_rounds(redis: Redis, library: Library, group_id: str) -> list[Round]:
    """Return the group's page rounds still stored, newest first."""
    rounds = QuizRounds(redis, library.quiz)
    found = []
    for round_id in await redis.lrange(keys.page_rounds(group_id), 0, -1):
        round_ = await rounds.get(str(round_id))
        if round_ is not None and round_.group_id == group_id:
            found.append(round_)
    return found
