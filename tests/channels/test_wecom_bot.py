"""The WeCom smart bot: URL check, @-questions in groups, refusals, late replies, send limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.channels import wecom_bot_gate
from bot.channels.inbound import HINTS, Kind
from bot.channels.wecom_bot import (
    WECOM_BOT,
    WECOM_BOT_LINK,
    WeComBotConfig,
    setup_wecom_bot,
)
from bot.channels.wecom_bot_answer import WELCOME
from bot.channels.wecom_bot_gate import NotAConversation, seen_key
from bot.channels.wecom_bot_inbound import inbound_of
from bot.channels.wecom_bot_takeover import lease_key
from bot.channels.wecom_bot_ws import WeComBotWSConfig
from bot.library import Library
from bot.models import Group, GroupKind, Message, Reply
from bot.service import ChatService
from bot.settings import Settings, SettingsError
from bot.store.groups import GroupRegistry
from bot.store.ratelimit import WindowFull
from tests.conftest import ServiceProbe
from tests.support.wecom_bot import (
    AES_KEY,
    BOT_ID,
    SECRET,
    TOKEN,
    FakeResponseURL,
    FakeWeComWS,
    WeComBotCaller,
    connected,
    eventually,
    start_link,
)

CHAT = "wrkSFfCgAAtestgroupchat01"


async def writes(redis: Redis) -> int:
    """Return Redis's count of writes so far (rdb_changes_since_last_save)."""
    return int((await redis.info("persistence"))["rdb_changes_since_last_save"])


@pytest.fixture
def start(
    aiohttp_client: Any, settings: Settings, library: Library, redis: Redis
) -> Callable[..., Any]:
    async def start(config: WeComBotConfig) -> TestClient[Any, Any]:
        app = create_app(settings, library)
        setup_wecom_bot(app, config)
        return await aiohttp_client(app)  # type: ignore[no-any-return]

    return start


def config_for(responses: FakeResponseURL, **changes: Any) -> WeComBotConfig:
    config = WeComBotConfig(BOT_ID, TOKEN, AES_KEY, api_base=responses.base)
    return replace(config, **changes)


@pytest.fixture
async def caller(start: Callable[..., Any], responses: FakeResponseURL) -> WeComBotCaller:
    client = await start(config_for(responses))
    return WeComBotCaller(client, TOKEN, AES_KEY, BOT_ID, responses)


async def test_url_check(caller: WeComBotCaller) -> None:
    response = await caller.verify_url("1616140317555161061")
    assert response.status == 200
    assert await response.text() == "1616140317555161061"
    assert (await caller.verify_url("1", msg_signature="0" * 40)).status == 403
    assert (await caller.verify_url("1", timestamp="1")).status == 403


async def test_resident_asks_about_shuadan_in_a_bound_group(
    caller: WeComBotCaller, redis: Redis, handled: ServiceProbe
) -> None:
    village = Group(f"wecom-bot:{CHAT}", "东湖村村民群", GroupKind.VILLAGE, "东湖镇/东湖村")
    await GroupRegistry(redis).put(village)
    reply = await caller.ask(caller.message("wang_dashu", "@反诈助手 刷单", chat=CHAT))
    assert reply["msgtype"] == "stream"
    stream = reply["stream"]
    assert stream["finish"] is True and stream["id"]
    assert "刷单" in stream["content"]
    (message,) = handled.handled
    assert message.channel == "wecom_bot" and message.user == "wang_dashu"
    assert message.group == village and message.addressed and message.text == "刷单"
    assert await redis.exists(seen_key(BOT_ID, f"wecom-bot:{CHAT}"))


async def test_unbound_group_and_one_to_one(caller: WeComBotCaller, handled: ServiceProbe) -> None:
    assert (
        "刷单"
        in (await caller.ask(caller.message("li", "@反诈助手 刷单", chat="wrOther")))["stream"][
            "content"
        ]
    )
    assert (await caller.ask(caller.message("li", "刷单是什么")))["stream"]["content"]
    group, single = handled.handled
    assert group.group == Group("wecom-bot:wrOther", "", GroupKind.UNBOUND)
    assert single.group is None and single.addressed


async def test_retried_message_is_handled_once_and_answered_the_same(
    caller: WeComBotCaller, handled: ServiceProbe
) -> None:
    message = caller.message("zhao", "@反诈助手 冒充客服怎么办", msg_id="CAIQ16HMjQYY", chat=CHAT)
    first, retry = await caller.ask(message), await caller.ask(message)
    assert first["stream"] == retry["stream"]
    assert handled.ids == ["CAIQ16HMjQYY"]


async def test_non_text_and_events(caller: WeComBotCaller) -> None:
    image = caller.message("li", "", chat=CHAT)
    del image["text"]
    image.update(msgtype="image", image={"url": "http://127.0.0.1/1.jpg"})
    assert (await caller.ask(image))["stream"]["content"] == HINTS[Kind.IMAGE]
    welcome = await caller.ask(caller.event("li", "enter_chat"))
    assert welcome == {"msgtype": "text", "text": {"content": WELCOME.format(name="反诈助手")}}
    assert await caller.ask(caller.event("li", "feedback_event", feedback_event={"type": 1})) == {}


def _bad(caller: WeComBotCaller) -> dict[str, tuple[dict[str, str], bytes, int]]:
    """Return bad deliveries: name -> (query, body, expected status)."""
    good = caller.message("zhao", "@反诈助手 你好", chat=CHAT)
    query, body = caller.envelope(good)
    stale = str(int(time.time()) - 3600)
    corp_query, corp_body = caller.envelope(good, receive_id="wwsomecorp0001")
    other_bot = caller.envelope({**good, "aibotid": "aibSomeoneElse"})
    no_msgid = caller.envelope({k: v for k, v in good.items() if k != "msgid"})
    no_chat = caller.envelope({k: v for k, v in good.items() if k != "chatid"})
    not_json = caller.query("bm90IGNpcGhlcg==")
    return {
        "bad signature": ({**query, "msg_signature": "0" * 40}, body, 403),
        "no signature": ({k: v for k, v in query.items() if k != "msg_signature"}, body, 403),
        "stale timestamp": ({**caller.query("x", timestamp=stale)}, body, 403),
        "no nonce": ({k: v for k, v in query.items() if k != "nonce"}, body, 403),
        "truncated body": (query, body[:-20], 400),
        "empty body": (query, b"", 400),
        "json array": (query, b"[1, 2]", 400),
        "no encrypt": (query, b'{"msg": "hi"}', 400),
        "not utf-8": (query, b'{"encrypt": "\xff\xfe"}', 400),
        "oversized body": (query, b'{"encrypt": "' + b"a" * 40_000 + b'"}', 413),
        "garbage ciphertext": (not_json, b'{"encrypt": "bm90IGNpcGhlcg=="}', 400),
        "another receive id": (corp_query, corp_body, 403),
        "another bot": (*other_bot, 403),
        "no msgid": (*no_msgid, 400),
        "group without chatid": (*no_chat, 400),
    }


async def test_bad_deliveries_are_refused_without_a_trace(
    caller: WeComBotCaller, redis: Redis
) -> None:
    for name, (query, body, status) in _bad(caller).items():
        before, keys = await writes(redis), set(await redis.keys("*"))
        response = await caller.client.post(caller.path, params=query, data=body)
        assert response.status == status, name
        assert await writes(redis) == before, name
        assert set(await redis.keys("*")) == keys, name


async def test_slow_answer_follows_through_the_response_url(
    start: Callable[..., Any], responses: FakeResponseURL, held: ServiceProbe
) -> None:
    client = await start(config_for(responses, reply_deadline=0.05))
    caller = WeComBotCaller(client, TOKEN, AES_KEY, BOT_ID, responses)
    assert await caller.ask(caller.message("chen", "@反诈助手 刷单", chat=CHAT)) == {}
    held.gate.set()
    await responses.wait_for(lambda: bool(responses.sent))
    (pushed,) = responses.sent
    assert pushed.msgtype == "markdown" and "刷单" in pushed.content


async def test_response_url_elsewhere_is_not_called(
    start: Callable[..., Any], responses: FakeResponseURL, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never(self: ChatService, message: Message) -> Reply | None:
        await asyncio.sleep(0.2)
        return Reply.text("迟到的回答")

    monkeypatch.setattr(ChatService, "handle", never)
    client = await start(config_for(responses, reply_deadline=0.05, api_base="http://127.0.0.2"))
    caller = WeComBotCaller(client, TOKEN, AES_KEY, BOT_ID, responses)
    assert await caller.ask(caller.message("chen", "@反诈助手 刷单", chat=CHAT)) == {}
    await client.app[WECOM_BOT].late.close()
    assert responses.sent == []


async def test_proactive_sends_only_where_spoken_to_and_within_limits(
    caller: WeComBotCaller, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = caller.client.app[WECOM_BOT].proactive
    assert gate is not None
    target = f"wecom-bot:{CHAT}"
    with pytest.raises(NotAConversation):
        async with gate.sending(target):
            pass
    await caller.ask(caller.message("zhao", "@反诈助手 刷单", chat=CHAT))
    for _ in range(30):
        async with gate.sending(target):
            pass
    with pytest.raises(WindowFull):
        async with gate.sending(target):
            pass
    assert await redis.zcard(f"fz:{{rl:wecom-bot:{BOT_ID}:{target}:60s}}:sends") == 30
    monkeypatch.setattr(wecom_bot_gate, "SEND_LIMITS", ((1000, 60.0), (2, 3600.0)))
    with pytest.raises(WindowFull):
        async with gate.sending(target):
            pass


def test_config_from_env() -> None:
    assert WeComBotConfig.from_env({"WECOM_CORP_ID": "ww1"}) is None
    env = {
        "WECOM_BOT_ID": BOT_ID,
        "WECOM_BOT_TOKEN": TOKEN,
        "WECOM_BOT_AES_KEY": AES_KEY,
        "WECOM_BOT_API_BASE": "http://127.0.0.1:9/",
    }
    config = WeComBotConfig.from_env(env)
    assert config == WeComBotConfig(BOT_ID, TOKEN, AES_KEY, api_base="http://127.0.0.1:9")
    with pytest.raises(SettingsError) as bad_key:
        WeComBotConfig.from_env({**env, "WECOM_BOT_AES_KEY": "short-secret"})
    assert "short-secret" not in str(bad_key.value)
    with pytest.raises(SettingsError):
        WeComBotConfig.from_env({k: v for k, v in env.items() if k != "WECOM_BOT_ID"})


def test_parse_strips_only_a_leading_mention() -> None:
    base = {"msgid": "m1", "from": {"userid": "u"}, "msgtype": "text"}
    assert inbound_of({**base, "text": {"content": "@反诈助手  刷单"}}).text == "刷单"
    assert inbound_of({**base, "text": {"content": "@反诈助手刷单"}}).text == "@反诈助手刷单"


# The long connection: one instance holds it, heartbeats, reconnects, answers, sends.


@pytest.fixture
def start_ws(
    aiohttp_client: Any, settings: Settings, library: Library, redis: Redis
) -> Callable[..., Any]:
    async def start_ws(gateway: FakeWeComWS, **changes: Any) -> TestClient[Any, Any]:
        return await start_link(aiohttp_client, create_app(settings, library), gateway, **changes)

    return start_ws


async def test_ws_resident_asks_about_shuadan(
    start_ws: Callable[..., Any], gateway: FakeWeComWS
) -> None:
    client = await start_ws(gateway)
    await connected(client)
    req_id = await gateway.deliver(gateway.text("wang_dashu", "@反诈助手 刷单", CHAT))
    await gateway.wait_for(lambda: bool(gateway.replies))
    (reply,) = gateway.replies
    assert reply["headers"]["req_id"] == req_id
    assert reply["body"]["msgtype"] == "stream" and reply["body"]["stream"]["finish"] is True
    assert "刷单" in reply["body"]["stream"]["content"]
    await gateway.wait_for(lambda: gateway.pings >= 2)


async def test_ws_one_instance_holds_the_connection_and_another_takes_over(
    start_ws: Callable[..., Any], gateway: FakeWeComWS, redis: Redis
) -> None:
    first = await start_ws(gateway)
    await connected(first)
    second = await start_ws(gateway)
    await eventually(lambda: second.app[WECOM_BOT_LINK].claims_refused >= 3)
    assert gateway.subscriptions == 1
    assert not second.app[WECOM_BOT_LINK].connected.is_set()
    assert await redis.get(lease_key(BOT_ID)) == first.app[WECOM_BOT_LINK].token
    await first.close()
    await connected(second)
    assert gateway.subscriptions == 2
    assert await redis.get(lease_key(BOT_ID)) == second.app[WECOM_BOT_LINK].token


async def test_ws_reconnects_after_a_drop_and_yields_a_lost_lease(
    start_ws: Callable[..., Any], gateway: FakeWeComWS, redis: Redis
) -> None:
    client = await start_ws(gateway)
    link = client.app[WECOM_BOT_LINK]
    await connected(client)
    await gateway.drop()
    await gateway.wait_for(lambda: gateway.subscriptions == 2 and gateway.live is not None)
    await redis.set(lease_key(BOT_ID), "another-instance", px=60_000)
    await gateway.wait_for(lambda: gateway.live is None)
    refused = link.claims_refused
    await eventually(lambda: link.claims_refused >= refused + 2)  # it tried again, and yielded
    assert gateway.subscriptions == 2 and not link.connected.is_set()


async def test_ws_wrong_secret_never_connects(
    start_ws: Callable[..., Any], gateway: FakeWeComWS, redis: Redis
) -> None:
    client = await start_ws(gateway, secret="wrong-secret-0123456789")
    await gateway.wait_for(lambda: gateway.refused >= 2)  # it tried, was refused, tried again
    assert gateway.subscriptions == 0
    assert not client.app[WECOM_BOT_LINK].connected.is_set()

    async def released() -> bool:
        return await redis.get(lease_key(BOT_ID)) is None

    await eventually(released)  # released after each refusal


async def test_ws_proactive_send_only_after_the_chat_spoke(
    start_ws: Callable[..., Any], gateway: FakeWeComWS
) -> None:
    client = await start_ws(gateway)
    link = client.app[WECOM_BOT_LINK]
    await connected(client)
    with pytest.raises(NotAConversation):
        await link.send_markdown(f"wecom-bot:{CHAT}", CHAT, "**提醒**：陌生来电要警惕。")
    await gateway.deliver(gateway.text("li", "@反诈助手 刷单", CHAT))
    await gateway.wait_for(lambda: bool(gateway.replies))
    await link.replied()
    await link.send_markdown(f"wecom-bot:{CHAT}", CHAT, "**提醒**：陌生来电要警惕。")
    (push,) = gateway.pushes
    assert push["body"] == {
        "chatid": CHAT,
        "msgtype": "markdown",
        "markdown": {"content": "**提醒**：陌生来电要警惕。"},
    }


def test_ws_config_from_env() -> None:
    assert WeComBotWSConfig.from_env({"WECOM_BOT_ID": BOT_ID}) is None
    env = {"WECOM_BOT_ID": BOT_ID, "WECOM_BOT_SECRET": SECRET}
    config = WeComBotWSConfig.from_env(env)
    assert config is not None and config.url == "wss://openws.work.weixin.qq.com"
    with pytest.raises(SettingsError):
        WeComBotWSConfig.from_env({**env, "WECOM_BOT_WS_URL": "https://x"})
