"""Close questions on time: every instance polls the due index; the round's Lua decides who closes.

What a timer close posts goes through the outbox (a reply is only possible to a message).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from redis.exceptions import RedisError

from bot.outbox import Outbox
from bot.quiz.closing import close_delivery, close_round
from bot.quiz.rounds import QuizRounds
from bot.web.appkeys import LIBRARY, REDIS

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


async def close_due(rounds: QuizRounds, outbox: Outbox) -> int:
    """Close every question whose time is up; return how many this instance closed."""
    closed_here = 0
    for round_id in await rounds.due():
        result = await close_round(rounds, round_id)
        if result is None:
            continue
        closed, body = result
        await outbox.enqueue([close_delivery(closed, body)])
        closed_here += 1
        log.info("quiz round %s closed question %d", round_id, closed.question)
    return closed_here


async def quiz_timer_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the close loop for the app's lifetime (after Redis is up)."""
    rounds = QuizRounds(app[REDIS], app[LIBRARY].quiz)
    task = asyncio.create_task(_loop(rounds, Outbox(app[REDIS])))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _loop(rounds: QuizRounds, outbox: Outbox) -> None:
    while True:
        try:
            await close_due(rounds, outbox)
        except (RedisError, OSError) as exc:
            log.warning("quiz timer could not reach Redis: %s", exc)
        await asyncio.sleep(POLL_SECONDS)
