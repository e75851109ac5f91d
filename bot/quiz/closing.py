"""Close a question and say what happened: the text for a reply or for the outbox.

A close posted by the timer goes out keyed quiz|<round>|<question>|close, so a repeated enqueue
never posts twice. Every close stays owed (QuizRounds.owed) until its closer marks it posted;
one owed longer than rounds.OWED_GRACE_MS (its closer died) is announced by the timer.
"""

from __future__ import annotations

from bot.models import Delivery
from bot.quiz import messages
from bot.quiz.model import Closed
from bot.quiz.rounds import QuizRounds


async def close_round(
    rounds: QuizRounds, round_id: str, *, force: bool = False, finish: bool = False
) -> tuple[Closed, str] | None:
    """Close the round's current question (if due or forced); return it and what to post."""
    closed = await rounds.close(round_id, force=force, finish=finish)
    if closed is None:
        return None
    return closed, await announcement(rounds, closed)


async def announcement(rounds: QuizRounds, closed: Closed) -> str:
    """Return what is posted for a close: the answer, then the next question or the board."""
    answers, correct = await rounds.question_stats(closed.round.id, closed.question)
    board = await rounds.leaderboard(closed.round.id) if closed.finished else []
    return messages.after_close(closed, answers, correct, board)


def close_delivery(closed: Closed, body: str) -> Delivery:
    """Return the outbox delivery that posts a close in the round's group."""
    return Delivery(
        key=f"quiz|{closed.round.id}|{closed.question}|close",
        group_id=closed.round.group_id,
        body=body,
        style="markdown",
        urgent=True,
        campaign="quiz",  # its own kind of push: bot.dashboard.data.QUIZ_PUSHES
        choices=messages.next_choices(closed),
    )
