"""Quiz rounds in Redis: start, score an answer (one Lua call), close questions, leaderboard."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from bot.models import AUDIENCE_LABELS, Group
from bot.quiz import scripts
from bot.quiz.bank import LETTERS, TRUE_FALSE, Question, QuizBank
from bot.quiz.model import Answered, Closed, Mode, Outcome, Round, RoundBusy, Standing
from bot.store import keys
from bot.store.groups import parse_kind
from bot.store.owned import delete_if_equal

DEFAULT_SECONDS = 60
MAX_NAME_CHARS = 16
LEADERBOARD_SIZE = 10
AUDIENCE_WORDS = {label: key for key, label in AUDIENCE_LABELS.items()}

# How long a close may stay unannounced before the timer posts it: longer than a chat reply
# takes (WeChat waits 5 s), so a live closer's reply and the timer never both post it.
OWED_GRACE_MS = 15_000


def parse_audience(word: str) -> str | None:
    """Return the audience a word names ("家长", "家长群", "parents", "老年人"), or None."""
    kind = parse_kind(word)
    return kind.value if kind else AUDIENCE_WORDS.get(word.removesuffix("群"))


def now_ms(at: datetime | None = None) -> int:
    """Return `at` (default: now) in milliseconds since the epoch."""
    return int((at or datetime.now(UTC)).timestamp() * 1000)


class QuizRounds:
    """Every round operation; shared by chat handlers, the quiz page, timers and the CLI."""

    def __init__(
        self, redis: Redis, bank: QuizBank, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis
        self.bank = bank
        self.clock = clock
        self._answer = redis.register_script(scripts.ANSWER)
        self._close = redis.register_script(scripts.CLOSE)
        self._announced = redis.register_script(scripts.ANNOUNCED)

    def now(self) -> int:
        """Return the clock's time in milliseconds."""
        return int(self.clock() * 1000)

    async def start(
        self,
        group: Group,
        questions: list[Question],
        *,
        organiser: str,
        mode: Mode = "chat",
        seconds: int = DEFAULT_SECONDS,
        at_ms: int | None = None,
        open_ms: int | None = None,
    ) -> Round:
        """Store a new round and open its first question; raise RoundBusy for a busy group.

        A chat round's question closes after `seconds`; a page round stays open `open_ms`
        (default: `seconds` per question) while each player's speed bonus runs over `seconds`
        per question from the moment their page opened.
        """
        round_id = secrets.token_hex(4)
        opened = self.now() if at_ms is None else at_ms
        window = seconds * 1000 if mode == "chat" else open_ms or seconds * 1000 * len(questions)
        if not questions:
            raise ValueError("a round needs at least one question")
        ttl = keys.QUIZ_ROUND_TTL_SECONDS
        fields: dict[FieldT, EncodableT] = {
            "group": group.id,
            "mode": mode,
            "questions": ",".join(q.id for q in questions),
            "count": len(questions),
            "key": "".join(q.letter for q in questions),
            "sizes": "".join(str(len(q.options)) for q in questions),
            "kinds": "".join("T" if q.kind == "truefalse" else "C" for q in questions),
            "seconds": seconds,
            "organiser": organiser,
            "state": "open",
            "current": 0,
            "opened": opened,
            "deadline": opened + window,
            **{f"q{i}": q.id for i, q in enumerate(questions)},
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.quiz_round(round_id), mapping=fields)
            pipe.expire(keys.quiz_round(round_id), ttl)
            await pipe.execute()
        # The round is stored before the group is claimed, so a claim always names a round.
        if mode == "chat" and not await self._claim_group(group.id, round_id):
            await self.redis.delete(keys.quiz_round(round_id))
            raise RoundBusy(group.id)
        await self.redis.zadd(keys.QUIZ_DUE, {round_id: opened + window})
        found = await self.get(round_id)
        assert found is not None
        return found

    async def _claim_group(self, group_id: str, round_id: str) -> bool:
        """Make `round_id` the group's running round unless an open round holds the group."""
        key, ttl = keys.quiz_active(group_id), keys.QUIZ_ROUND_TTL_SECONDS
        if await self.redis.set(key, round_id, nx=True, ex=ttl):
            return True
        holder = await self.active(group_id)
        held = await self.get(holder) if holder else None
        if held is not None and held.open:
            return False
        # A finished or expired round whose claim was left behind (say, by a crash).
        if holder:
            await delete_if_equal(self.redis, key, holder)
        return bool(await self.redis.set(key, round_id, nx=True, ex=ttl))

    async def get(self, round_id: str) -> Round | None:
        """Return the stored round, or None (unknown ids, ids with odd characters)."""
        if not round_id.isalnum():
            return None
        stored = cast(dict[str, str], await self.redis.hgetall(keys.quiz_round(round_id)))
        if not stored:
            return None
        ids = stored["questions"].split(",")
        found = [
            self.bank.get(qid) or _removed(qid, stored, index) for index, qid in enumerate(ids)
        ]
        return Round(
            id=round_id,
            group_id=stored["group"],
            mode="page" if stored["mode"] == "page" else "chat",
            questions=tuple(found),
            seconds=int(stored["seconds"]),
            organiser=stored["organiser"],
            state=stored["state"],
            current=int(stored["current"]),
            deadline_ms=int(stored["deadline"]),
        )

    async def active(self, group_id: str) -> str | None:
        """Return the id of the chat round running in `group_id`, if any."""
        found = await self.redis.get(keys.quiz_active(group_id))
        return str(found) if found else None

    async def answer(
        self,
        round_id: str,
        member: str,
        choice: str,
        at_ms: int,
        *,
        question: int = -1,
        name: str = "",
        group_id: str = "",
        opened_ms: int = 0,
        true_false: bool = False,
    ) -> Answered:
        """Score one answer atomically (see scripts.ANSWER)."""
        result = await self._answer(
            keys=_round_keys(round_id),
            args=[
                member,
                question,
                choice,
                at_ms,
                name[:MAX_NAME_CHARS],
                group_id,
                opened_ms,
                "1" if true_false else "0",
            ],
        )
        status, index, correct, points = (int(v) for v in result[:4])
        qid = str(result[4]) if len(result) > 4 else ""
        return Answered(Outcome(status), index, bool(correct), points, qid)

    async def close(
        self,
        round_id: str,
        *,
        force: bool = False,
        finish: bool = False,
        question: int | None = None,
    ) -> Closed | None:
        """Close the current question if due (or forced); None when this caller closed nothing.

        The script is a compare-and-set on the round's hash, so when several instances (or
        a timer and an organiser) try at once exactly one of them closes each question.
        """
        now = self.now()
        expected = "" if question is None else str(question)
        result = await self._close(
            keys=[keys.quiz_round(round_id)],
            args=[now, "1" if force else "0", "1" if finish else "0", expected],
        )
        status, index, deadline = (int(v) for v in result)
        if status in (0, 1):
            await self._reindex(round_id, status, deadline)
            return None
        if status == 2:  # due again when the next question ends, or to check the announcement
            await self.redis.zadd(keys.QUIZ_DUE, {round_id: min(deadline, now + OWED_GRACE_MS)})
        found = await self.get(round_id)
        assert found is not None
        if status == 3:  # retired once its board is announced (see `announced`)
            await delete_if_equal(self.redis, keys.quiz_active(found.group_id), round_id)
        return Closed(found, index, finished=status == 3, owed=f"{index}:{now}")

    async def announced(self, closed: Closed) -> None:
        """Mark the close's announcement as posted; a finished round then leaves the due index."""
        state = await self._announced(keys=[keys.quiz_round(closed.round.id)], args=[closed.owed])
        if state == "done":
            await self._retire(closed.round.id)

    async def owed(self, round_id: str) -> tuple[Closed, int] | None:
        """Return a close whose announcement was never marked posted, and when it closed (ms)."""
        mark = await self.redis.hget(keys.quiz_round(round_id), "owed")
        found = await self.get(round_id) if mark else None
        if found is None:
            return None
        question, _, closed_ms = str(mark).partition(":")
        closed = Closed(found, int(question), finished=found.state == "done", owed=str(mark))
        return closed, int(closed_ms)

    async def _retire(self, round_id: str) -> None:
        """Drop a finished round from the due index; keep its results for the export."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrem(keys.QUIZ_DUE, round_id)
            for key in _round_keys(round_id):
                pipe.expire(key, keys.QUIZ_ROUND_TTL_SECONDS)
            await pipe.execute()

    async def _reindex(self, round_id: str, status: int, deadline: int) -> None:
        """Keep the due index in step with a round another caller advanced or finished."""
        if status == 0:
            await self.redis.zrem(keys.QUIZ_DUE, round_id)
        else:
            await self.redis.zadd(keys.QUIZ_DUE, {round_id: deadline})

    async def due(self, limit: int = 50) -> list[str]:
        """Return ids of rounds whose deadline has passed."""
        found = await self.redis.zrangebyscore(keys.QUIZ_DUE, "-inf", self.now(), 0, limit)
        return [str(round_id) for round_id in found]

    async def question_stats(self, round_id: str, question: int) -> tuple[int, int]:
        """Return (answers, correct) for one question of a round."""
        answers, correct = await self.redis.hmget(
            keys.quiz_question_stats(round_id), [f"{question}:answers", f"{question}:correct"]
        )
        return int(answers or 0), int(correct or 0)

    async def choices(self, round_id: str, member: str, count: int) -> list[str | None]:
        """Return the letter `member` chose for each of `count` questions (None: no answer)."""
        fields = [f"{index}:{member}" for index in range(count)]
        stored = await self.redis.hmget(keys.quiz_answers(round_id), fields)
        return [str(value).split("|")[0] if value else None for value in stored]

    async def leaderboard(self, round_id: str, top: int = LEADERBOARD_SIZE) -> list[Standing]:
        """Return the best `top` players: most points, then least total answer time."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrange(keys.quiz_scores(round_id), 0, -1, withscores=True)
            pipe.hgetall(keys.quiz_players(round_id))
            scores, players = await pipe.execute()
        standings = [
            Standing(
                member=member,
                name=players.get(f"{member}:name", ""),
                group_id=players.get(f"{member}:group", ""),
                score=int(score),
                correct=int(players.get(f"{member}:correct", 0)),
                time_ms=int(players.get(f"{member}:time", 0)),
            )
            for member, score in scores
        ]
        standings.sort(key=lambda s: (-s.score, s.time_ms, s.member))
        return standings[:top]


def _removed(qid: str, stored: dict[str, str], index: int) -> Question:
    """Stand in for a question deleted from the bank while its round was running."""
    size = int(stored["sizes"][index])
    true_false = stored["kinds"][index] == "T"
    return Question(
        id=qid,
        kind="truefalse" if true_false else "choice",
        text="（这道题已从题库中删除）",
        options=TRUE_FALSE if true_false else tuple(LETTERS[:size]),
        answer=LETTERS.index(stored["key"][index]),
        explain="",
        scam="",
        audiences=("all",),
        difficulty="easy",
    )


def _round_keys(round_id: str) -> list[str]:
    return [
        keys.quiz_round(round_id),
        keys.quiz_answers(round_id),
        keys.quiz_scores(round_id),
        keys.quiz_players(round_id),
        keys.quiz_question_stats(round_id),
    ]
