"""`fanzha quiz page` and `fanzha quiz winners` as an organiser runs them, on the test Redis."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from openpyxl import load_workbook
from redis.asyncio import Redis

from bot.library import Library
from bot.quiz.rounds import QuizRounds
from bot.store.embedded import EmbeddedRedis
from tests.support.cli import run_cli

GROUP = "forward-cli-1"


async def answer_all(url: str, library: Library, round_id: str) -> None:
    redis = Redis.from_url(url, decode_responses=True)
    try:
        rounds = QuizRounds(redis, library.quiz)
        round_ = await rounds.get(round_id)
        assert round_ is not None
        now = rounds.now()
        for n, name in enumerate(("老周", "小林")):
            for index, question in enumerate(round_.questions):
                await rounds.answer(round_id, f"m{n}", question.letter, now + n * 5000,
                                    question=index, name=name, group_id=GROUP,
                                    opened_ms=now)  # fmt: skip
    finally:
        await redis.aclose()


def test_open_a_page_round_then_export_its_winners(
    redis_server: EmbeddedRedis, library: Library, tmp_path: Path
) -> None:
    env = {"REDIS_URL": redis_server.url, "FANZHA_DATA_DIR": str(tmp_path)}
    bound = run_cli("groups", "bind", GROUP, "村民群", "城关镇/幸福村", "--name", "三组网格群",
                    env=env)  # fmt: skip
    assert bound.returncode == 0, bound.stderr
    opened = run_cli("quiz", "page", GROUP, "--count", "3", "--hours", "2", env=env)
    assert opened.returncode == 0, opened.stderr
    found = re.search(r"/quiz/([0-9a-f]+)\?g=\S+", opened.stdout)
    assert found is not None, opened.stdout
    round_id = found.group(1)
    asyncio.run(answer_all(redis_server.url, library, round_id))

    output = tmp_path / "winners.xlsx"
    done = run_cli("quiz", "winners", round_id, "-o", str(output), "--top", "5", env=env)
    assert done.returncode == 0, done.stderr
    sheet = load_workbook(output).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == ["老周", "小林"]
    assert rows[1][2] == "三组网格群" and rows[1][3] == 45 and rows[2][3] == 42  # 5 s slower

    unknown = run_cli("quiz", "winners", "abcdef12", "-o", str(tmp_path / "w.csv"), env=env)
    assert unknown.returncode == 2 and "没有找到这一轮答题" in unknown.stderr
    wrong_type = run_cli("quiz", "winners", round_id, "-o", str(tmp_path / "w.txt"), env=env)
    assert wrong_type.returncode == 2 and ".xlsx" in wrong_type.stderr
    no_group = run_cli("quiz", "page", "no-such-group", env=env)
    assert no_group.returncode == 2 and "没有登记过这个群" in no_group.stderr
