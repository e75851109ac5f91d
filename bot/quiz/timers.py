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

from bot.appkeys import LIBRARY, REDIS
from bot.push.outbox import Outbox
from bot.quiz.closing import announcement, close_delivery, close_round
from bot.quiz.model import Closed
from bot.quiz.rounds import OWED_GRACE_MS, QuizRounds

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


async def close_due(rounds: QuizRounds, outbox: Outbox) -> int:
    """Close every question whose time is up, and post closes whose closer died before
    announcing them; return how many questions this instance closed."""
    closed_here = 0
    for round_id in await rounds.due():
        if (owed := await rounds.owed(round_id)) is not None:
            closed, closed_ms = owed
            if rounds.now() - closed_ms < OWED_GRACE_MS:
                continue  # its closer is posting it now
            log.warning("quiz round %s: posting question %d's close for a closer that died",
                        round_id, closed.question)  # fmt: skip
            await _post(rounds, outbox, closed, await announcement(rounds, closed))
        result = await close_round(rounds, round_id)
        if result is None:
            continue
        await _post(rounds, outbox, *result)
        closed_here += 1
        log.info("quiz round %s closed question %d", round_id, result[0].question)
    return closed_here


async def _post(rounds: QuizRounds, outbox: Outbox, closed: Closed, body: str) -> None:
    """Queue a close's announcement (once per question, by its key), then mark it posted."""
    await outbox.enqueue([close_delivery(closed, body)])
    await rounds.announced(closed)


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
