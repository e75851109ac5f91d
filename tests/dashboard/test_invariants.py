"""Every figure of the dashboard and the report adds up: regions, pushes by kind, quiz topics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.articles import links
from bot.articles.store import ArticleStore
from bot.channels.wecom_robot import RobotClient, RobotConfig
from bot.dashboard import summary
from bot.dashboard.data import QUIZ_PUSHES
from bot.dashboard.period import Period, today
from bot.dashboard.snapshot import MIN_TOPIC_ANSWERS, Snapshot, collect
from bot.library import Library
from bot.models import Delivery, Group
from bot.push.outbox import Outbox
from bot.push.outbox.worker import Worker
from bot.push.senders import Senders
from bot.quiz.bank import TRUE_FALSE, Question
from bot.quiz.closing import close_delivery
from bot.quiz.model import Closed, Round
from bot.quiz.stats import record_answer
from bot.settings import Settings
from bot.store.groups import GroupRegistry
from bot.store.ratelimit import RateLimiter
from bot.store.reach import Measure
from tests.support.outbox import FAST, running, settle, sim_group

TOWN = "城关镇"
GROUPS = (
    sim_group("g-xingfu", f"{TOWN}/幸福村"),
    sim_group("g-dongjie", f"{TOWN}/东街社区"),
    sim_group("g-town", TOWN),  # registered at the town itself: in no sub-region
    sim_group("g-hexi", "河西镇/河西村"),
)


def _today(settings: Settings) -> Period:
    day = today(settings.timezone)
    return Period(day, day, "今天")


@pytest.fixture
async def senders(redis: Redis, library: Library, settings: Settings) -> AsyncIterator[Senders]:
    """Senders for simulator groups (the robot client is never called for them)."""
    for group in GROUPS:
        await GroupRegistry(redis).put(group)
    async with aiohttp.ClientSession() as session:
        robot = RobotClient(
            session, RateLimiter(redis), RobotConfig(api_base="http://127.0.0.1:9")
        )
        yield Senders(redis, GroupRegistry(redis), ArticleStore(library, redis), robot,
                      settings.base_url, settings.timezone)  # fmt: skip


def _quiz_close(group: Group) -> Delivery:
    question = Question("q-1", "truefalse", "题目", TRUE_FALSE, 0, "", "shuadan", ("all",), "easy")
    round_ = Round("r-1", group.id, "chat", (question,), 60, "grid-li", "open", 0, 0)
    return close_delivery(Closed(round_, 0, finished=True, owed=""), "答案是：对。")


async def _push(redis: Redis, senders: Senders) -> None:
    """Send a console item, a quiz close and a push of no campaign through the real worker."""
    deliveries = [
        Delivery("console|1|g-xingfu", "g-xingfu", body="防骗提醒", campaign="console"),
        Delivery("console|1|g-town", "g-town", body="防骗提醒", campaign="console"),
        _quiz_close(GROUPS[1]),
        Delivery("legacy|g-hexi", "g-hexi", body="防骗提醒"),
    ]
    outbox = Outbox(redis)
    await outbox.enqueue(deliveries)
    async with running(Worker(redis, senders, FAST)):
        for delivery in deliveries:
            await settle(lambda d=delivery: outbox.delivered(d.group_id, d.key))


def _assert_regions_add_up(snap: Snapshot) -> None:
    for measure in Measure:
        rows = sum(row.reach.measures[measure] for row in snap.ranking)
        assert rows + snap.unassigned[measure] == snap.reach.measures[measure], measure


def _assert_pushes_add_up(snap: Snapshot) -> None:
    sent = snap.reach.measures[Measure.PUSHES_SENT]
    assert sum(row.sent for row in snap.campaigns) == sent
    assert sum(counts[Measure.PUSHES_SENT] for counts in snap.kinds.values()) == sent
    done = summary.paragraphs(snap)[0]
    if snap.quiz_pushes:
        content = sent - snap.quiz_pushes
        assert f"其中防骗内容 {content} 次、答题定时消息 {snap.quiz_pushes} 次" in done


async def test_regions_and_pushes_add_up(
    client: TestClient[Any, Any],
    redis: Redis,
    senders: Senders,
    library: Library,
    settings: Settings,
) -> None:
    await _push(redis, senders)
    code = await links.code_for(redis, "g-xingfu")
    for query in (f"?g={code}", "?g=nosuchcode", ""):
        assert (await client.get(f"/a/scams/shuadan{query}")).status == 200
    everywhere = await collect(redis, library.kb, _today(settings), "")
    town = await collect(redis, library.kb, _today(settings), TOWN)

    assert everywhere.reach.measures[Measure.VIEWS] == 3
    assert everywhere.unassigned[Measure.VIEWS] == 2  # the unknown code and no code at all
    assert town.unassigned[Measure.VIEWS] == 0
    assert town.unassigned[Measure.PUSHES_SENT] == 1  # g-town
    for snap in (everywhere, town):
        _assert_regions_add_up(snap)
        _assert_pushes_add_up(snap)
    assert everywhere.quiz_pushes == 1 and _quiz_close(GROUPS[1]).campaign == QUIZ_PUSHES
    titles = {row.title: row.sent for row in everywhere.campaigns}
    assert titles == {"控制台发布的内容": 2, "答题定时消息": 1, "其他推送": 1}
    assert "答题定时消息" not in "".join(row.title for row in everywhere.campaigns[:1])


def _question(scam: str) -> Question:
    return Question(f"q-{scam}", "truefalse", "题目", TRUE_FALSE, 0, "", scam, ("all",), "easy")


async def test_weakest_topic_has_enough_answers_and_is_below_average(
    redis: Redis, library: Library, settings: Settings
) -> None:
    group = GROUPS[0]
    await GroupRegistry(redis).put(group)
    day = today(settings.timezone)
    # (scam, answers, correct): kefu is 0 of 3 but too few to judge; shuadan is all right.
    for scam, answers, correct in (("kefu", 3, 0), ("shuadan", 20, 20), ("daikuan", 20, 10),
                                   ("zhengxin", 20, 16)):  # fmt: skip
        for n in range(answers):
            await record_answer(redis, day, group, f"m{n}", _question(scam), n < correct)
    snap = await collect(redis, library.kb, _today(settings), TOWN)
    average = snap.reach.quiz_accuracy
    assert average is not None

    assert [t.id for t in snap.weak_quiz] == ["daikuan"]
    assert all(t.answers >= MIN_TOPIC_ANSWERS and t.accuracy < average for t in snap.weak_quiz)
    names = {t.id: t.name for t in snap.quiz}
    quiz = summary.paragraphs(snap)[3]
    assert f"掌握最弱的是：{names['daikuan']}（答对 50.0%）" in quiz
    assert names["shuadan"] not in quiz and names["kefu"] not in quiz


async def test_everyone_right_names_no_weakest_topic(
    redis: Redis, library: Library, settings: Settings
) -> None:
    await GroupRegistry(redis).put(GROUPS[0])
    for n in range(MIN_TOPIC_ANSWERS * 2):
        await record_answer(redis, today(settings.timezone), GROUPS[0], f"m{n}",
                            _question("shuadan"), True)  # fmt: skip
    snap = await collect(redis, library.kb, _today(settings), TOWN)
    assert snap.weak_quiz == []
    assert "掌握最弱" not in summary.paragraphs(snap)[3]


@pytest.mark.parametrize("registered", [GROUPS[:1], GROUPS[:2], GROUPS[:3]])
async def test_ranking_sentence_has_no_dangling_separator(
    redis: Redis, library: Library, settings: Settings, registered: tuple[Group, ...]
) -> None:
    for group in registered:
        await GroupRegistry(redis).put(group)
    snap = await collect(redis, library.kb, _today(settings), TOWN)
    for paragraph in summary.paragraphs(snap):
        assert paragraph.endswith("。") and "；。" not in paragraph and "；；" not in paragraph
    if len(snap.ranking) == 1:
        assert "下级只有幸福村一个地区" in summary.paragraphs(snap)[4]
