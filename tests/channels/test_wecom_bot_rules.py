"""The smart bot keeps the rules its docs state: which settings turn a mode on, one use of a
response_url within its size, acknowledged frames, shared per-chat limits, its markdown subset."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.channels import wecom_bot_gate
from bot.channels.config import ChannelConfigs
from bot.channels.splitting import utf8_len
from bot.channels.wecom_bot import WECOM_BOT_LINK, WeComBotConfig
from bot.channels.wecom_bot_gate import send_target
from bot.channels.wecom_bot_replies import RESPONSE_BYTES, ResponseURL
from bot.library import Library
from bot.settings import Settings, SettingsError
from bot.store.ratelimit import WindowFull, window
from tests.conftest import ServiceProbe
from tests.support.media import PNG, seal, serve_media
from tests.support.wecom_bot import (
    BOT_ID,
    SECRET,
    FakeWeComWS,
    connected,
    serve_responses,
    start_link,
)

CHAT = "wrkSFfCgAArulesgroup00001"


def test_a_long_connection_alone_starts_and_an_id_alone_is_refused() -> None:
    ws_only = {"WECOM_BOT_ID": BOT_ID, "WECOM_BOT_SECRET": SECRET}  # the intranet deployment
    configs = ChannelConfigs.from_env(ws_only)
    assert configs.wecom_bot is None and configs.wecom_bot_ws is not None
    assert WeComBotConfig.from_env(ws_only) is None
    with pytest.raises(SettingsError) as refused:
        ChannelConfigs.from_env({"WECOM_BOT_ID": BOT_ID})
    assert refused.value.name == "WECOM_BOT_ID" and "WECOM_BOT_SECRET" in str(refused.value)


async def test_a_response_url_takes_one_call_within_its_size(aiohttp_server: Any) -> None:
    responses = await serve_responses(aiohttp_server)
    url = ResponseURL(responses.url(), responses.base)
    async with aiohttp.ClientSession() as session:
        await url.send(session, "刷单是骗局。" * 2000)  # 36,000 bytes
        with pytest.raises(RuntimeError):
            await url.send(session, "第二次")
    (pushed,) = responses.sent
    assert utf8_len(pushed.content) <= RESPONSE_BYTES and pushed.content.endswith("…")
    assert responses.refused == []


@pytest.fixture
def start(
    aiohttp_client: Any, settings: Settings, library: Library, gateway: FakeWeComWS
) -> Callable[..., Any]:
    async def start() -> TestClient[Any, Any]:
        client = await start_link(aiohttp_client, create_app(settings, library), gateway)
        await connected(client)
        return client

    return start


async def test_a_refused_reply_is_logged_and_counted(
    start: Callable[..., Any], gateway: FakeWeComWS, caplog: pytest.LogCaptureFixture
) -> None:
    client = await start()
    gateway.refuse["aibot_respond_msg"] = (40008, "invalid message type")
    await gateway.deliver(gateway.text("li", "@反诈助手 刷单", CHAT))
    await gateway.wait_for(lambda: bool(gateway.replies))
    link = client.app[WECOM_BOT_LINK]
    await link.replied()
    assert link.refusals == {("aibot_respond_msg", "40008"): 1}
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("aibot_respond_msg refused: errcode 40008" in line for line in warned)
    metrics = await (await client.get("/metrics")).text()
    line = 'fanzha_wecom_bot_ws_refused_total{cmd="aibot_respond_msg",errcode="40008"} 1'
    assert line in metrics


async def test_replies_and_pushes_share_the_per_chat_limits(
    start: Callable[..., Any], gateway: FakeWeComWS, redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    client = await start()
    link = client.app[WECOM_BOT_LINK]
    for n in range(2):
        await gateway.deliver(gateway.text("li", f"@反诈助手 刷单 {n}", CHAT))
    await gateway.wait_for(lambda: len(gateway.replies) == 2)
    await link.replied()
    conversation = f"wecom-bot:{CHAT}"
    for period in (60.0, 3600.0):
        assert await redis.zcard(window(send_target(BOT_ID, conversation, period))) == 2
    monkeypatch.setattr(wecom_bot_gate, "SEND_LIMITS", ((2, 60.0), (1000, 3600.0)))
    with pytest.raises(WindowFull):  # the two replies used this minute's allowance
        await link.send_markdown(conversation, CHAT, "提醒：陌生来电要警惕。")
    assert gateway.pushes == []


async def test_smart_bot_markdown_has_no_font_tags(
    start: Callable[..., Any], gateway: FakeWeComWS
) -> None:
    client = await start()
    await gateway.deliver(gateway.text("li", "@反诈助手 帮我看看这条短信：您的快递丢失，"
                                       "点击链接办理理赔，需先交保证金", CHAT))  # fmt: skip
    await gateway.wait_for(lambda: bool(gateway.replies))
    content = gateway.replies[0]["body"]["stream"]["content"]
    assert "检查结果" in content and "<font" not in content
    await client.app[WECOM_BOT_LINK].replied()
    body = '<font color="warning">已经转了钱？马上拨打 110。</font>'
    await client.app[WECOM_BOT_LINK].send_markdown(f"wecom-bot:{CHAT}", CHAT, body)
    assert gateway.pushes[0]["body"]["markdown"]["content"] == "**已经转了钱？马上拨打 110。**"


async def test_a_long_connection_picture_is_opened_with_its_own_key(
    start: Callable[..., Any], gateway: FakeWeComWS, aiohttp_server: Any, handled: ServiceProbe
) -> None:
    key = base64.b64encode(bytes(range(32))).decode()  # each download has its own aeskey
    media = await serve_media(aiohttp_server, **{"p.png": seal(PNG, key)})
    await start()
    await gateway.deliver(gateway.image("laoli", media.url("p.png"), key))
    await gateway.wait_for(lambda: bool(gateway.replies))
    assert [message.image for message in handled.handled] == [PNG]
