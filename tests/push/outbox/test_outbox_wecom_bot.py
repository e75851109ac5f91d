"""Pushes to a group served by the WeCom smart bot's long connection (fake gateway on loopback)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from bot.app import create_app
from bot.channels.wecom_bot import setup_wecom_bot_ws
from bot.channels.wecom_bot_gate import GROUP_PREFIX
from bot.channels.wecom_bot_ws import WeComBotWSConfig
from bot.library import Library
from bot.models import Choices, Delivery, Group, GroupKind, PushTarget
from bot.push.outbox import Outbox
from bot.settings import Settings
from bot.store.groups import GroupRegistry
from tests.support.outbox import settle
from tests.support.wecom_bot import connected, serve_gateway

BOT_ID, SECRET = "aibFakeBot0001", "fake-bot-secret-0123456789"
SPOKEN, SILENT = "wrkChatThatSpoke01", "wrkChatNeverSpoke02"


def _group(chat: str) -> Group:
    return Group(GROUP_PREFIX + chat, "实验小学教师群", GroupKind.SCHOOL, "城关镇/实验小学", 60,
                 "teacher-zhao", PushTarget.WECOM_BOT)  # fmt: skip


async def test_a_push_goes_out_only_where_the_chat_has_spoken(
    aiohttp_server: Any, aiohttp_client: Any, settings: Settings, library: Library, redis: Redis
) -> None:
    gateway = await serve_gateway(aiohttp_server)
    app = create_app(settings, library)
    setup_wecom_bot_ws(app, WeComBotWSConfig(BOT_ID, SECRET, gateway.url, heartbeat=0.1))
    await connected(await aiohttp_client(app))
    for chat in (SPOKEN, SILENT):
        await GroupRegistry(redis).put(_group(chat))
    await gateway.deliver(gateway.text("li", "@反诈助手 刷单", SPOKEN))
    await gateway.wait_for(lambda: bool(gateway.replies))

    outbox = Outbox(redis)
    await outbox.enqueue([
        Delivery("w:1", GROUP_PREFIX + SPOKEN, body="**提醒**：陌生来电要警惕。"),
        Delivery("w:2", GROUP_PREFIX + SILENT, body="**提醒**：陌生来电要警惕。"),
    ])  # fmt: skip
    await settle(lambda: outbox.delivered(GROUP_PREFIX + SPOKEN, "w:1"))
    await settle(lambda: _parked(outbox, GROUP_PREFIX + SILENT, "w:2"))
    (push,) = gateway.pushes
    assert push["body"]["chatid"] == SPOKEN
    assert push["body"]["markdown"] == {"content": "**提醒**：陌生来电要警惕。"}
    [letter] = await outbox.dead_letters()
    reason = letter.reason
    assert "还没有和智能机器人说过话" in reason

    choices = Choices("quiz-0a1b2c3d-1", "第 2/5 题：点选你的答案", ("A", "B", "C"))
    await outbox.enqueue(
        [Delivery("w:3", GROUP_PREFIX + SPOKEN, body="**第 2/5 题**", choices=choices)]
    )
    await settle(lambda: outbox.delivered(GROUP_PREFIX + SPOKEN, "w:3"))
    question, card = (push["body"] for push in gateway.pushes[1:])
    assert question["markdown"] == {"content": "**第 2/5 题**"}
    assert card["chatid"] == SPOKEN and card["msgtype"] == "template_card"
    assert card["template_card"]["task_id"] == "quiz-0a1b2c3d-1"
    assert [button["key"] for button in card["template_card"]["button_list"]] == ["A", "B", "C"]


async def _parked(outbox: Outbox, group_id: str, key: str) -> bool:
    return await outbox.state(group_id, key) == "parked"
