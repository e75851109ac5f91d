"""The smart bot against WeCom's own references: the official SDK's frames and the official
JSON crypto sample (tests/support/wecom_sdk.py, tests/support/json_msg_crypt.py)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.channels.inbound import HINTS, Kind
from bot.channels.wecom_bot import (
    WECOM_BOT_LINK,
    WeComBotConfig,
    setup_wecom_bot,
)
from bot.channels.wecom_bot_answer import WELCOME
from bot.library import Library
from bot.settings import Settings
from tests.conftest import ServiceProbe
from tests.support.json_msg_crypt import JsonMsgCrypt
from tests.support.media import PNG, seal, serve_media
from tests.support.wecom_bot import (
    AES_KEY,
    BOT_ID,
    SECRET,
    TOKEN,
    FakeResponseURL,
    FakeWeComWS,
    WeComBotCaller,
    connected,
    serve_gateway,
    start_link,
)
from tests.support.wecom_sdk import sdk_client, sdk_events, shape

CHAT = "wrkSFfCgAAreferencechat01"


@pytest.fixture
async def caller(
    aiohttp_client: Any, settings: Settings, library: Library, redis: Redis,
    responses: FakeResponseURL,
) -> WeComBotCaller:  # fmt: skip
    app = create_app(settings, library)
    setup_wecom_bot(app, WeComBotConfig(BOT_ID, TOKEN, AES_KEY, api_base=responses.base))
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return WeComBotCaller(client, TOKEN, AES_KEY, BOT_ID, responses)


async def test_url_check_answers_the_echostr_the_sample_sealed(caller: WeComBotCaller) -> None:
    echostr = caller.sample.encrypt("1616140317555161061")
    query = caller.query(echostr)
    plain = caller.sample.verify_url(query["msg_signature"], query["timestamp"], query["nonce"],
                                     echostr)  # fmt: skip
    response = await caller.client.get(caller.path, params={"echostr": echostr, **query})
    assert await response.text() == plain == "1616140317555161061"


async def test_reply_is_sealed_with_the_callback_nonce(caller: WeComBotCaller) -> None:
    query, body = caller.envelope(caller.message("wang", "刷单是什么"), nonce="1372623149")
    response = await caller.client.post(caller.path, params=query, data=body)
    package = await response.json()
    assert package["nonce"] == "1372623149"  # 加密与被动回复 (path/101033): the URL's nonce
    reply = caller.sample.decrypt_msg(await response.text(), package["msgsignature"],
                                      package["timestamp"], "1372623149")  # fmt: skip
    assert reply["msgtype"] == "stream" and "刷单" in reply["stream"]["content"]


async def test_voice_is_answered_like_its_transcript(
    caller: WeComBotCaller, handled: ServiceProbe
) -> None:
    voice = caller.body("laoli", "voice", {"content": "有人打电话说我涉嫌洗钱"})  # path/100719
    reply = await caller.ask(voice)
    assert reply["stream"]["finish"] is True and reply["stream"]["content"]
    (message,) = handled.handled
    assert message.text == "有人打电话说我涉嫌洗钱" and message.group is None


async def test_a_picture_is_decrypted_for_the_screenshot_checker(
    caller: WeComBotCaller, aiohttp_server: Any, handled: ServiceProbe
) -> None:
    media = await serve_media(aiohttp_server, **{"s.png": seal(PNG, AES_KEY)})
    reply = await caller.ask(caller.body("laoli", "image", {"url": media.url("s.png")}))
    assert reply["stream"]["content"] != HINTS[Kind.IMAGE]
    (message,) = handled.handled
    assert message.image == PNG  # sealed with the callback's EncodingAESKey (path/100719)
    gone = await caller.ask(caller.body("laoli", "image", {"url": media.url("gone.png")}))
    assert gone["stream"]["content"] == HINTS[Kind.IMAGE] and len(handled.handled) == 1


async def test_stream_refresh_and_feedback_get_an_empty_reply(
    caller: WeComBotCaller, handled: ServiceProbe
) -> None:
    refresh = caller.body("laoli", "stream", {"id": "STREAMID"}, chat=CHAT)
    del refresh["response_url"]  # 流式消息刷新 carries none (path/100719)
    response = await caller.post(refresh)
    assert response.status == 200 and await response.text() == ""
    feedback = caller.event("laoli", "feedback_event", feedback_event={"id": "F1", "type": 1})
    assert await caller.ask(feedback) == {}
    assert handled.handled == []


async def test_enter_chat_is_welcomed(caller: WeComBotCaller) -> None:
    reply = await caller.ask(caller.event("laoli", "enter_chat"))
    assert reply == {"msgtype": "text", "text": {"content": WELCOME.format(name="反诈助手")}}


def test_the_sample_and_our_cipher_agree() -> None:
    """The reproduced sample opens what wechatpy's cipher (ours) seals, and the reverse."""
    from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

    ours = PrpCrypto(WeChatCrypto(TOKEN, AES_KEY, "").key)
    sample = JsonMsgCrypt(TOKEN, AES_KEY)
    assert sample.decrypt(ours.encrypt("智能机器人", "").decode()) == "智能机器人"
    assert ours.decrypt(sample.encrypt("反诈助手"), "") == "反诈助手"


# The long connection: the frames the official SDK sends are the frames ours must send.


async def _sdk_frames(gateway: FakeWeComWS, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Drive the SDK through every frame it sends and return them by command."""
    client = sdk_client(monkeypatch, gateway.url, BOT_ID, SECRET, heartbeat_interval=20)
    await client.connect()
    await gateway.wait_for(lambda: gateway.subscriptions == 1 and gateway.pings >= 1)
    text = {"headers": {"req_id": await gateway.deliver(gateway.text("li", "刷单", CHAT))}}
    await client.reply_stream(text, "s1", "**刷单**是骗局", finish=True)
    enter = {"headers": {"req_id": await gateway.deliver(gateway.enter_chat("li"),
                                                         "aibot_event_callback")}}  # fmt: skip
    await client.reply_welcome(enter, {"msgtype": "text", "text": {"content": "您好"}})
    press = gateway.press("li", "q1", "B", CHAT)
    pressed = {"headers": {"req_id": await gateway.deliver(press, "aibot_event_callback")}}
    card = {"card_type": "button_interaction", "main_title": {"title": "已提交：B"},
            "task_id": "q1", "button_list": [{"text": "B", "style": 1, "key": "B"}],
            "replace_text": "已提交：B"}  # fmt: skip
    await client.update_template_card(pressed, card, ["li"])
    await client.send_message(CHAT, {"msgtype": "markdown", "markdown": {"content": "提醒"}})
    client.disconnect()
    return {frame["cmd"]: frame for frame in gateway.frames}


async def test_our_frames_are_shaped_like_the_sdks(
    aiohttp_server: Any, aiohttp_client: Any, settings: Settings, library: Library,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sdk = await _sdk_frames(await serve_gateway(aiohttp_server), monkeypatch)
    gateway = await serve_gateway(aiohttp_server)
    client = await start_link(aiohttp_client, create_app(settings, library), gateway,
                              heartbeat=0.05)  # fmt: skip
    await connected(client)
    await gateway.wait_for(lambda: gateway.pings >= 1)
    asked = await gateway.deliver(gateway.text("li", "@反诈助手 刷单", CHAT))
    entered = await gateway.deliver(gateway.enter_chat("li"), "aibot_event_callback")
    await gateway.wait_for(lambda: bool(gateway.replies and gateway.welcomes))
    await client.app[WECOM_BOT_LINK].replied()
    await client.app[WECOM_BOT_LINK].send_markdown(f"wecom-bot:{CHAT}", CHAT, "提醒")
    ours = {frame["cmd"]: frame for frame in gateway.frames}
    for cmd in ("aibot_subscribe", "ping", "aibot_respond_msg", "aibot_respond_welcome_msg",
                "aibot_send_msg"):  # fmt: skip
        assert shape(ours[cmd]) == shape(sdk[cmd]), cmd
    assert ours["aibot_respond_msg"]["headers"]["req_id"] == asked
    assert ours["aibot_respond_welcome_msg"]["headers"]["req_id"] == entered
    assert sdk["aibot_respond_update_msg"]["body"].keys() == {
        "response_type", "template_card", "userids"}  # fmt: skip


def test_the_sdk_recognises_every_frame_the_fake_gateway_delivers(gateway: FakeWeComWS) -> None:
    frames = {
        "message.text": ("aibot_msg_callback", gateway.text("li", "刷单", CHAT)),
        "message.voice": ("aibot_msg_callback", gateway.voice("li", "刷单")),
        "event.enter_chat": ("aibot_event_callback", gateway.enter_chat("li")),
        "event.template_card_event": ("aibot_event_callback",
                                      gateway.press("li", "q1", "A", CHAT)),
    }  # fmt: skip
    for event, (cmd, body) in frames.items():
        assert event in sdk_events({"cmd": cmd, "headers": {"req_id": "r"}, "body": body})
    assert "event.disconnected_event" in sdk_events(gateway.disconnected_frame())
