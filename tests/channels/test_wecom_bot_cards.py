"""Quiz questions as answer cards in the WeCom smart bot: buttons, presses and card updates.

Over the HTTP callback (signed and encrypted by the fake WeCom caller) and over the long
connection (the fake gateway on loopback), with a real Redis and the real quiz handlers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from bot.app import create_app
from bot.channels.wecom_bot import (
    WeComBotConfig,
    setup_wecom_bot,
    setup_wecom_bot_ws,
)
from bot.channels.wecom_bot_ws import WeComBotWSConfig
from bot.library import Library
from bot.models import ACK_INTENT, Group, GroupKind
from bot.quiz.rounds import QuizRounds
from bot.settings import Settings
from bot.store import metrics
from bot.store.groups import GroupRegistry
from tests.support.wecom_bot import FakeResponseURL, WeComBotCaller, connected, serve_gateway

TOKEN, AES_KEY = "fzBotToken2024", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
BOT_ID, SECRET = "aibFakeBot0001", "fake-bot-secret-0123456789"
CHAT = "wrkSFfCgAAquizparents01"
ORGANISER = "teacher_li"


@pytest.fixture
def quiz_settings(settings: Settings) -> Settings:
    return replace(settings, admins=frozenset({f"wecom_bot:{ORGANISER}"}))


@pytest.fixture
async def parents(redis: Redis) -> Group:
    group = Group(f"wecom-bot:{CHAT}", "三年级2班家长群", GroupKind.PARENTS, "城关镇/实验小学")
    await GroupRegistry(redis).put(group)
    return group


@pytest.fixture
async def caller(
    aiohttp_server: Any,
    aiohttp_client: Any,
    quiz_settings: Settings,
    library: Library,
    parents: Group,
) -> WeComBotCaller:
    responses = FakeResponseURL()
    server = await aiohttp_server(responses.app)
    responses.base = str(server.make_url("")).rstrip("/")
    app = create_app(quiz_settings, library)
    setup_wecom_bot(app, WeComBotConfig(BOT_ID, TOKEN, AES_KEY, api_base=responses.base))
    client = await aiohttp_client(app)
    return WeComBotCaller(client, TOKEN, AES_KEY, BOT_ID, responses)


def rounds(redis: Redis, library: Library) -> QuizRounds:
    return QuizRounds(redis, library.quiz)


async def stats(redis: Redis, library: Library, round_id: str, question: int) -> tuple[int, int]:
    return await rounds(redis, library).question_stats(round_id, question)


async def test_question_carries_buttons_and_a_press_is_scored_once(
    caller: WeComBotCaller, redis: Redis, library: Library, quiz_settings: Settings
) -> None:
    opened = await caller.ask(caller.message(ORGANISER, "@反诈助手 开始答题 2题 60秒", chat=CHAT))
    assert opened["msgtype"] == "stream_with_template_card"
    assert "第 1/2 题" in opened["stream"]["content"]
    card = opened["template_card"]
    round_id = await rounds(redis, library).active(f"wecom-bot:{CHAT}")
    assert round_id is not None
    question = (await rounds(redis, library).get(round_id)).questions[0]  # type: ignore[union-attr]
    assert card["card_type"] == "button_interaction" and card["task_id"] == f"quiz-{round_id}-0"
    letters = [button["key"] for button in card["button_list"]]
    assert letters == list("ABCDEF"[: len(question.options)])

    press = caller.press("wang", card["task_id"], question.letter, CHAT)
    update = await caller.ask(press)
    assert update["response_type"] == "update_template_card" and update["userids"] == ["wang"]
    assert update["template_card"]["task_id"] == card["task_id"]
    assert update["template_card"]["replace_text"] == f"已提交：{question.letter}"
    assert await caller.ask(press) == update  # WeCom's retry of the same event
    again = await caller.ask(caller.press("wang", card["task_id"], "A", CHAT))
    assert again["template_card"]["replace_text"] == "本题你已作答"
    assert await stats(redis, library, round_id, 0) == (1, 1)
    today = datetime.now(ZoneInfo(quiz_settings.timezone)).date()
    asked = await metrics.questions(redis, [today])
    assert asked and ACK_INTENT not in asked  # presses are answers, not questions asked


async def test_press_on_an_earlier_card_does_not_answer_the_open_question(
    caller: WeComBotCaller, redis: Redis, library: Library
) -> None:
    opened = await caller.ask(caller.message(ORGANISER, "@反诈助手 开始答题 2题 60秒", chat=CHAT))
    first_card = opened["template_card"]["task_id"]
    moved = await caller.ask(caller.message(ORGANISER, "@反诈助手 下一题", chat=CHAT))
    assert moved["msgtype"] == "stream_with_template_card"
    assert "第 1 题答案" in moved["stream"]["content"]
    round_id = first_card.split("-")[1]
    assert moved["template_card"]["task_id"] == f"quiz-{round_id}-1"

    stale = await caller.ask(caller.press("zhao", first_card, "A", CHAT))
    assert stale["template_card"]["replace_text"] == "本题已截止"
    other = await caller.ask(caller.press("zhao", "quiz-ffffffff-0", "A", CHAT))
    assert other["template_card"]["replace_text"] == "本题已截止"
    assert await stats(redis, library, round_id, 1) == (0, 0)

    ended = await caller.ask(caller.message(ORGANISER, "@反诈助手 结束答题", chat=CHAT))
    assert ended["msgtype"] == "stream" and "本轮答题结束" in ended["stream"]["content"]


async def test_press_without_task_or_key_is_refused(caller: WeComBotCaller) -> None:
    press = caller.press("wang", "quiz-0a1b2c3d-0", "A", CHAT)
    del press["event"]["template_card_event"]["task_id"]
    assert (await caller.post(press)).status == 400
    feedback = caller.press("wang", "quiz-0a1b2c3d-0", "A", CHAT)
    feedback["event"] = {"eventtype": "feedback_event", "feedback_event": {"type": 1}}
    assert await caller.ask(feedback) == {}
    one_to_one = caller.press("wang", "quiz-0a1b2c3d-0", "A", CHAT)
    del one_to_one["chatid"]
    one_to_one["chattype"] = "single"
    assert await caller.ask(one_to_one) == {}  # no quiz posted that card: it is left as it is


async def test_long_connection_sends_the_card_after_the_stream_and_updates_on_press(
    aiohttp_server: Any,
    aiohttp_client: Any,
    quiz_settings: Settings,
    library: Library,
    parents: Group,
    redis: Redis,
) -> None:
    gateway = await serve_gateway(aiohttp_server)
    app = create_app(quiz_settings, library)
    setup_wecom_bot_ws(app, WeComBotWSConfig(BOT_ID, SECRET, gateway.url, heartbeat=0.2))
    await connected(await aiohttp_client(app))

    await gateway.deliver(gateway.text(ORGANISER, "@反诈助手 开始答题 1题 60秒", CHAT))
    await gateway.wait_for(lambda: bool(gateway.replies and gateway.pushes))
    (reply,), (push,) = gateway.replies, gateway.pushes
    assert reply["body"]["msgtype"] == "stream" and "template_card" not in reply["body"]
    assert push["body"]["msgtype"] == "template_card" and push["body"]["chatid"] == CHAT
    card = push["body"]["template_card"]

    press = gateway.press("wang", card["task_id"], "B", CHAT)
    req_id = await gateway.deliver(press, cmd="aibot_event_callback")
    await gateway.wait_for(lambda: bool(gateway.updates))
    (update,) = gateway.updates
    assert update["headers"]["req_id"] == req_id
    assert update["body"]["response_type"] == "update_template_card"
    assert update["body"]["userids"] == ["wang"]
    assert update["body"]["template_card"]["replace_text"] == "已提交：B"
    round_id = card["task_id"].split("-")[1]
    answers, _ = await stats(redis, library, round_id, 0)
    assert answers == 1
