"""Quiz rounds in a group chat, through the real ChatService, routers and Redis scripts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from bot.app import build_service
from bot.channels.simulator import PRIVATE, Simulator
from bot.library import Library
from bot.push.outbox import Outbox
from bot.quiz import closing
from bot.quiz.bank import LETTERS, Question, QuizBank
from bot.quiz.model import Round
from bot.quiz.rounds import QuizRounds
from bot.quiz.stats import question_stats, quiz_stats
from bot.quiz.timers import close_due
from bot.settings import Settings
from bot.store import keys
from bot.store.members import member_label
from bot.store.reach import Measure, Unique, totals, unique_count
from handlers.quiz import parse_answer
from tests.conftest import Transcript

ORGANISER = "王老师"
ADMINS = frozenset({f"simulator:{ORGANISER}"})
GROUP = "sim-parents"
START_AT = 1_760_000_000.0  # a fixed instant: scores depend on answer times


@dataclass
class Clock:
    """A clock the test moves by hand, shared by the simulator and the rounds."""

    now: float = START_AT

    def __call__(self) -> float:
        return self.now

    def at(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


@dataclass
class Instance:
    """One service instance: its own Redis client, rounds object, dispatcher and transcript."""

    rounds: QuizRounds
    talk: Transcript
    redis: Redis


async def make_instance(
    redis_url: str, settings: Settings, library: Library, clock: Clock
) -> Instance:
    redis = Redis.from_url(redis_url, decode_responses=True)
    rounds = QuizRounds(redis, library.quiz, clock=clock)
    service = await build_service(replace(settings, admins=ADMINS), library, redis, quiz=rounds)
    return Instance(rounds, Transcript(service, Simulator(clock=clock.at)), redis)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def first(
    settings: Settings, library: Library, redis: Redis, clock: Clock
) -> AsyncIterator[Instance]:
    instance = await make_instance(settings.redis_url or "", settings, library, clock)
    yield instance
    await instance.redis.aclose()


@pytest.fixture
async def second(
    settings: Settings, library: Library, redis: Redis, clock: Clock
) -> AsyncIterator[Instance]:
    instance = await make_instance(settings.redis_url or "", settings, library, clock)
    yield instance
    await instance.redis.aclose()


async def current(instance: Instance) -> tuple[Round, Question]:
    round_id = await instance.rounds.active(GROUP)
    assert round_id is not None
    round_ = await instance.rounds.get(round_id)
    assert round_ is not None
    return round_, round_.questions[round_.current]


def wrong(question: Question) -> str:
    return next(LETTERS[i] for i in range(len(question.options)) if i != question.answer)


def full_width(letter: str) -> str:
    return chr(ord(letter) - ord("A") + ord("Ａ"))


async def score_of(instance: Instance, user: str, round_id: str) -> float | None:
    member = instance.talk.service.hasher("simulator", user)
    return await instance.redis.zscore(keys.quiz_scores(round_id), member)


async def test_a_full_round_in_the_group(first: Instance, clock: Clock, redis: Redis) -> None:
    talk = first.talk
    refused = await talk.say("开始答题", group=GROUP, user="李四")
    assert refused is not None and "管理员" in refused
    assert await first.rounds.active(GROUP) is None

    opened = await talk.say("答题 3题 家长 30秒", group=GROUP, user=ORGANISER)
    assert opened is not None and "共 3 题" in opened and "第 1/3 题" in opened
    round_, question = await current(first)
    assert "A. " in opened and round_.seconds == 30

    # 张三: full-width letter with trailing words, at once; then changes his mind (ignored).
    assert (
        await talk.say(f"{full_width(question.letter)} 我觉得是这个", group=GROUP, user="张三")
        is None
    )
    clock.now += 2
    assert await talk.say(wrong(question).lower(), group=GROUP, user="李四") is None
    assert await talk.say(wrong(question), group=GROUP, user="张三") is None
    # Chatter is not an answer and goes on to the other routers; nothing is scored for it.
    await talk.say("今天谁去接孩子", group=GROUP, user="赵六")
    # A member of another group, and a private chat, have no round running.
    await talk.say(question.letter, group="sim-village", user="孙七")
    await talk.say(question.letter, group=PRIVATE, user="孙七")
    clock.now += 8
    assert await talk.say(f"选{question.letter.lower()}", group=GROUP, user="王五") is None

    assert await score_of(first, "张三", round_.id) == 15  # 10 + the full speed bonus
    assert await score_of(first, "王五", round_.id) == 13  # 10 + 5 * 20/30, rounded down
    assert await score_of(first, "李四", round_.id) == 0
    assert await score_of(first, "赵六", round_.id) is None
    assert await score_of(first, "孙七", round_.id) is None

    refused = await talk.say("下一题", group=GROUP, user="张三")
    assert refused is not None and "管理员" in refused
    revealed = await talk.say("下一题", group=GROUP, user=ORGANISER)
    assert revealed is not None
    assert f"第 1 题答案：{question.letter}" in revealed and question.explain in revealed
    assert "本题 3 人作答，2 人答对" in revealed and "第 2/3 题" in revealed

    # Question 2 runs out of time: an answer after the deadline is ignored.
    _, second_question = await current(first)
    clock.now += 31
    assert await talk.say(second_question.letter, group=GROUP, user="李四") is None
    assert await score_of(first, "李四", round_.id) == 0
    closed = await closing.close_round(first.rounds, round_.id)
    assert closed is not None and "这道题还没有人作答" in closed[1]
    assert "第 3/3 题" in closed[1]

    _, third = await current(first)
    assert await talk.say(third.letter, group=GROUP, user="李四") is None
    ended = await talk.say("结束答题", group=GROUP, user=ORGANISER)
    assert ended is not None and "排行榜" in ended
    # Chat rounds show each player by a label from the member's hash, never the raw id.
    hasher = talk.service.hasher
    label = {who: member_label(hasher("simulator", who)) for who in ("张三", "李四", "王五")}
    assert "张三" not in ended
    assert (
        ended.index(label["张三"]) < ended.index(label["李四"]) < ended.index(label["王五"])
    )  # 15 = 15 (李四 slower) > 13
    assert await first.rounds.active(GROUP) is None
    clock.now += 60  # the timer later posts nothing the organiser's replies already said
    outbox = Outbox(redis)
    await close_due(first.rounds, outbox)
    for index in (0, 2):
        assert await outbox.state(GROUP, f"quiz|{round_.id}|{index}|close") is None
    assert await redis.zcard(keys.QUIZ_DUE) == 0
    await talk.say(third.letter, group=GROUP, user="王五")  # after the end: not scored
    assert await score_of(first, "王五", round_.id) == 13

    day = clock.at().astimezone(ZoneInfo("Asia/Shanghai")).date()
    counted = await totals(redis, [day], "group", GROUP)
    assert counted[Measure.QUIZ_ANSWERS] == 4 and counted[Measure.QUIZ_CORRECT] == 3
    assert await unique_count(redis, [day], Unique.QUIZ_PLAYERS, "group", GROUP) == 3
    by_scam = await quiz_stats(redis, [day], "region", "城关镇")
    assert sum(a for a, _ in by_scam.values()) == 4
    by_question = await question_stats(redis, [day], "kind", "parents")
    assert by_question[question.id] == (3, 2)


async def test_start_rejects_bad_counts_and_busy_groups(first: Instance) -> None:
    talk = first.talk
    bad = await talk.say("答题 30题", group=GROUP, user=ORGANISER)
    assert bad is not None and "1 到 20" in bad
    assert await first.rounds.active(GROUP) is None
    assert await talk.say("开始答题", group=GROUP, user=ORGANISER) is not None
    busy = await talk.say("开始答题", group=GROUP, user=ORGANISER)
    assert busy is not None and "已经有一轮答题" in busy


async def test_true_false_words(first: Instance) -> None:
    bank = first.rounds.bank.all()
    yes = next(q for q in bank if q.kind == "truefalse" and q.answer == 0)
    choice = next(q for q in bank if q.kind == "choice")
    group = Simulator().groups[GROUP]
    round_ = await first.rounds.start(
        group, [yes, choice], organiser="x", at_ms=int(START_AT * 1000)
    )
    assert await first.talk.say("√ 我确定", group=GROUP, user="张三") is None
    assert await first.talk.say("错", group=GROUP, user="王五") is None
    await first.talk.say("对啊，上次就有人被骗", group=GROUP, user="李四")  # chatter
    assert await score_of(first, "张三", round_.id) == 15
    assert await score_of(first, "王五", round_.id) == 0
    assert await score_of(first, "李四", round_.id) is None
    await first.talk.say("下一题", group=GROUP, user=ORGANISER)
    # 对/错 is no answer to a choice question.
    assert await first.talk.say("对", group=GROUP, user="李四") is None
    assert await score_of(first, "李四", round_.id) is None


async def test_a_round_survives_a_restart(
    first: Instance, settings: Settings, library: Library, clock: Clock
) -> None:
    await first.talk.say("答题 2题", group=GROUP, user=ORGANISER)
    round_, question = await current(first)
    await first.talk.say(question.letter, group=GROUP, user="张三")
    await first.redis.aclose()

    restarted = await make_instance(settings.redis_url or "", settings, library, clock)
    try:
        # The same member cannot answer the same question again after the restart.
        await restarted.talk.say(wrong(question), group=GROUP, user="张三")
        assert await score_of(restarted, "张三", round_.id) == 15
        revealed = await restarted.talk.say("下一题", group=GROUP, user=ORGANISER)
        assert revealed is not None and "1 人答对" in revealed and "第 2/2 题" in revealed
        _, second_question = await current(restarted)
        clock.now += 6
        await restarted.talk.say(second_question.letter, group=GROUP, user="张三")
        assert await score_of(restarted, "张三", round_.id) == 15 + 14
    finally:
        await restarted.redis.aclose()


async def test_two_instances_share_one_round(
    first: Instance, second: Instance, clock: Clock
) -> None:
    await first.talk.say("答题 2题", group=GROUP, user=ORGANISER)
    round_, question = await current(second)
    # The same member's answer reaches both instances (a retried delivery): counted once.
    await first.talk.say(question.letter, group=GROUP, user="张三")
    await second.talk.say(question.letter, group=GROUP, user="张三")
    await second.talk.say(question.letter, group=GROUP, user="李四")
    assert await score_of(first, "张三", round_.id) == 15
    assert await first.rounds.question_stats(round_.id, 0) == (2, 2)

    # Both instances' timers find the question due: exactly one closes it.
    clock.now += round_.seconds + 1
    results = [
        await closing.close_round(first.rounds, round_.id),
        await closing.close_round(second.rounds, round_.id),
    ]
    assert sum(result is not None for result in results) == 1
    moved = await second.rounds.get(round_.id)
    assert moved is not None and moved.current == 1 and moved.open


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("Ａ", ("A", False)),
        ("ｂ。", ("B", False)),
        ("选Ｃ 我猜的", ("C", False)),
        ("答案是d", ("D", False)),
        ("×", ("B", True)),
        ("正确！", ("A", True)),
        ("ABC", None),
        ("App怎么下载", None),
        ("A股跌了", None),
        ("对不起我来晚了", None),
        ("E", None),
        # Spoken affirmations and denials answer true/false questions (README).
        ("对的吧", ("A", True)),
        ("是的！", ("A", True)),
        ("没错", ("A", True)),
        ("对对对", ("A", True)),
        ("我觉得不对", ("B", True)),
        ("应该是错的", ("B", True)),
        ("不是吧", ("B", True)),
        ("是吗？", None),
        ("是不是骗子", None),
        ("对了，明天开会", None),
    ],
)
def test_what_counts_as_an_answer(text: str, parsed: tuple[str, bool] | None) -> None:
    assert parse_answer(text) == parsed


async def test_a_round_about_one_scam(first: Instance) -> None:
    opened = await first.talk.say("答题 2题 刷单 15秒", group=GROUP, user=ORGANISER)
    assert opened is not None and "15 秒内作答" in opened
    round_, _ = await current(first)
    assert round_.questions and {q.scam for q in round_.questions} == {"shuadan"}
    unclear = await first.talk.say("答题 2题 天气", group="sim-village", user=ORGANISER)
    assert unclear is not None and "没看懂“天气”" in unclear
    assert await first.rounds.active("sim-village") is None


async def test_a_question_removed_from_the_bank_mid_round(first: Instance) -> None:
    question = next(q for q in first.rounds.bank.all() if q.kind == "choice")
    group = Simulator().groups[GROUP]
    round_ = await first.rounds.start(group, [question], organiser="x")
    after_edit = QuizRounds(first.redis, QuizBank(()))
    stored = await after_edit.get(round_.id)
    assert stored is not None and stored.questions[0].letter == question.letter
    assert "已从题库中删除" in stored.questions[0].text
    closed = await closing.close_round(after_edit, round_.id, force=True)
    assert closed is not None and closed[0].finished


async def test_a_claim_left_by_a_finished_round_does_not_block_the_group(
    first: Instance, redis: Redis
) -> None:
    await redis.set(keys.quiz_active(GROUP), "0badc0de")  # names a round that is gone
    opened = await first.talk.say("开始答题", group=GROUP, user=ORGANISER)
    assert opened is not None and "第 1/5 题" in opened
    assert await first.rounds.active(GROUP) != "0badc0de"
