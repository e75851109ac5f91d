"""Page rounds and the pledge page over HTTP: forms, single-use tokens, scoring, the close."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.articles import links
from bot.library import Library
from bot.models import Group, GroupKind, PushTarget
from bot.push.outbox import Outbox
from bot.quiz.model import Round
from bot.quiz.rounds import QuizRounds
from bot.quiz.timers import close_due
from bot.store import keys
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure, totals

GROUP = Group(
    "forward-grid-3", "三组网格群", GroupKind.VILLAGE, "城关镇/幸福村", 60, "网格员老周",
    PushTarget.FORWARD,
)  # fmt: skip
TOKEN = re.compile(r'name="token" value="([^"]+)"')


async def open_round(redis: Redis, library: Library, count: int = 3) -> tuple[Round, str]:
    await GroupRegistry(redis).put(GROUP)
    questions = [q for q in library.quiz.all() if q.kind == "choice"][:count]
    rounds = QuizRounds(redis, library.quiz)
    round_ = await rounds.start(GROUP, questions, organiser="t", mode="page", open_ms=3_600_000)
    return round_, await links.code_for(redis, GROUP.id)


async def form_token(client: TestClient[Any, Any], address: str) -> str:
    response = await client.get(address)
    assert response.status == 200
    found = TOKEN.search(await response.text())
    assert found is not None
    return found.group(1)


def today() -> list[Any]:
    return [datetime.now(ZoneInfo("Asia/Shanghai")).date()]


async def test_a_player_answers_once_and_sees_the_explanations(
    client: TestClient[Any, Any], redis: Redis, library: Library
) -> None:
    round_, code = await open_round(redis, library)
    address = f"/quiz/{round_.id}?g={code}"
    token = await form_token(client, address)
    answers = {f"q{i}": q.letter for i, q in enumerate(round_.questions)}
    answers["q2"] = next(c for c in "ABCD" if c != round_.questions[2].letter)

    forged = await client.post(address, data={**answers, "name": "老李", "token": "x" * 32})
    assert forged.status == 403
    blank = await client.post(address, data={**answers, "name": "  ", "token": token})
    assert blank.status == 400 and "称呼" in await blank.text()
    assert await redis.zcard(keys.quiz_scores(round_.id)) == 0

    token = await form_token(client, address)
    taken = await client.post(address, data={**answers, "name": "<b>老李</b>", "token": token})
    assert taken.status == 200
    page = await taken.text()
    assert "你已经交卷了" in page and round_.questions[0].explain in page
    replay = await client.post(address, data={**answers, "name": "老李", "token": token})
    assert replay.status == 403

    scores = await redis.zrange(keys.quiz_scores(round_.id), 0, -1, withscores=True)
    assert len(scores) == 1 and 20 <= scores[0][1] <= 30
    counted = await totals(redis, today(), "group", GROUP.id)
    assert counted[Measure.QUIZ_ANSWERS] == 3 and counted[Measure.QUIZ_CORRECT] == 2

    # At the close the leaderboard goes to the group's outbox (the owner's forward pack).
    later = QuizRounds(redis, library.quiz, clock=lambda: time.time() + 7200)
    assert await close_due(later, Outbox(redis)) == 1
    assert await Outbox(redis).state(GROUP.id, f"quiz|{round_.id}|0|close") == "queued"
    closed = await client.get(address)
    board = await closed.text()
    assert "本轮答题已经结束" in board and "&lt;b&gt;老李&lt;/b&gt;" in board
    assert "<b>老李" not in board


async def test_wrong_links_and_rounds_are_not_found(
    client: TestClient[Any, Any], redis: Redis, library: Library
) -> None:
    round_, code = await open_round(redis, library)
    assert (await client.get(f"/quiz/{round_.id}?g=nope")).status == 404
    assert (await client.get(f"/quiz/{round_.id}")).status == 404
    assert (await client.get(f"/quiz/deadbeef?g={code}")).status == 404
    bad = await client.post(f"/quiz/{round_.id}?g=nope", data={"q0": "A"})
    assert bad.status == 404


async def test_the_pledge_page_counts_each_player_once(
    client: TestClient[Any, Any], redis: Redis
) -> None:
    await GroupRegistry(redis).put(GROUP)
    code = await links.code_for(redis, GROUP.id)
    address = f"/pledge?g={code}"
    assert (await client.post(address, data={"token": "forged"})).status == 403
    token = await form_token(client, address)
    done = await client.post(address, data={"token": token})
    assert done.status == 200 and "已有 1 人承诺" in await done.text()
    again = await client.get(address)
    assert "你已经作出承诺" in await again.text()
    assert (await totals(redis, today(), "group", GROUP.id))[Measure.PLEDGES] == 1
    assert (await client.get("/pledge?g=unknown")).status == 404
