"""The WeCom self-built app: crypto against the docs' vector, callbacks, refusals, app messages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.channels.base import InboundError
from bot.channels.inbound import HINTS, Kind
from bot.channels.wechat_crypto import CallbackGuard, sign
from bot.channels.wecom_api import WeChatAPIError, WeComAPI
from bot.channels.wecom_app import WeComAppConfig, setup_wecom_app
from bot.channels.wecom_robot import Article
from bot.library import Library
from bot.settings import Settings, SettingsError
from tests.conftest import ServiceProbe
from tests.support.fakes import FakeWeComAPI, WeComCaller
from tests.support.hostile import EXTERNAL_ENTITY, XML_BOMB, writes

# The sample of the WeCom docs (加解密方案说明) and of WXBizMsgCrypt's samples.
DOC_TOKEN, DOC_CORP = "QDG6eK", "wx5823bf96d3bd56c7"
DOC_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
DOC_VERIFY = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZ"
    "XvnaqQ==",
}
DOC_POST = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
}
DOC_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj"
    "911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue0"
    "6DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3"
    "IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH2"
    "7Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R"
    "07+qN+E7Q=="
)
DOC_BODY = (
    f"<xml><ToUserName><![CDATA[{DOC_CORP}]]></ToUserName>"
    f"<Encrypt><![CDATA[{DOC_ENCRYPT}]]></Encrypt></xml>"
)
DOC_NOW = 1409659700.0  # within five minutes of both samples

TOKEN = "fzTestToken2024"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
@pytest.fixture
async def wecom(aiohttp_server: Any) -> FakeWeComAPI:
    fake = FakeWeComAPI(token_delay=0.1)
    server = await aiohttp_server(fake.app)
    fake.base = str(server.make_url("")).rstrip("/")
    return fake


def config_for(fake: FakeWeComAPI, **changes: Any) -> WeComAppConfig:
    config = WeComAppConfig(
        corp_id=fake.corp_id,
        token=TOKEN,
        aes_key=AES_KEY,
        secret=fake.secret,
        agent_id=fake.agent_id,
        api_base=fake.base,
    )
    return replace(config, **changes)


@pytest.fixture
def start(
    aiohttp_client: Any, settings: Settings, library: Library, redis: Redis
) -> Callable[..., Any]:
    async def start(
        config: WeComAppConfig, clock: Callable[[], float] = time.time
    ) -> TestClient[Any, Any]:
        app = create_app(settings, library)
        setup_wecom_app(app, config, clock=clock)
        return await aiohttp_client(app)  # type: ignore[no-any-return]

    return start


@pytest.fixture
async def caller(start: Callable[..., Any], wecom: FakeWeComAPI) -> WeComCaller:
    client = await start(config_for(wecom))
    return WeComCaller(client, TOKEN, AES_KEY, wecom.corp_id, wecom.agent_id)


def test_signatures_match_the_docs_vector() -> None:
    verify = DOC_VERIFY
    assert (
        sign(DOC_TOKEN, verify["timestamp"], verify["nonce"], verify["echostr"])
        == (verify["msg_signature"])
    )
    assert (
        sign(DOC_TOKEN, DOC_POST["timestamp"], DOC_POST["nonce"], DOC_ENCRYPT)
        == (DOC_POST["msg_signature"])
    )
    guard = CallbackGuard(DOC_TOKEN, clock=lambda: DOC_NOW)
    guard.check_query(DOC_POST, "msg_signature", DOC_ENCRYPT)
    with pytest.raises(InboundError) as refused:
        guard.check_query({**DOC_POST, "nonce": "1372623148"}, "msg_signature", DOC_ENCRYPT)
    assert refused.value.status == 403
    late = CallbackGuard(DOC_TOKEN, clock=lambda: DOC_NOW + 3600)
    with pytest.raises(InboundError):
        late.check_query(DOC_POST, "msg_signature", DOC_ENCRYPT)


async def test_docs_vector_through_the_callback(
    start: Callable[..., Any], wecom: FakeWeComAPI
) -> None:
    config = config_for(wecom, corp_id=DOC_CORP, token=DOC_TOKEN, aes_key=DOC_KEY, agent_id=218)
    client = await start(config, clock=lambda: DOC_NOW)
    verified = await client.get("/wecom/app/callback", params=DOC_VERIFY)
    assert verified.status == 200
    assert await verified.text() == "1616140317555161061"

    answered = await client.post("/wecom/app/callback", params=DOC_POST, data=DOC_BODY)
    assert answered.status == 200
    caller = WeComCaller(client, DOC_TOKEN, DOC_KEY, DOC_CORP)
    reply = caller.read_reply(await answered.text())
    assert reply["ToUserName"] == "mycreate"
    assert reply["FromUserName"] == DOC_CORP
    assert reply["MsgType"] == "text" and reply["Content"]


async def test_url_check_with_a_fresh_echostr(caller: WeComCaller) -> None:
    response = await caller.verify_url("8848")
    assert response.status == 200
    assert await response.text() == "8848"


async def test_staff_question_gets_an_encrypted_plain_text_answer(caller: WeComCaller) -> None:
    reply = await caller.ask("zhang_laoshi", "刷单是什么")
    assert reply["ToUserName"] == "zhang_laoshi"
    assert reply["MsgType"] == "text"
    assert "刷单" in reply["Content"]
    assert "**" not in reply["Content"] and "<font" not in reply["Content"]


async def test_retried_message_is_handled_once_and_answered_the_same(
    caller: WeComCaller, handled: ServiceProbe
) -> None:
    first = await caller.ask("wang_wangge", "冒充客服怎么办", msg_id="777001")
    retry = await caller.ask("wang_wangge", "冒充客服怎么办", msg_id="777001")
    assert first["Content"] == retry["Content"]
    assert handled.ids == ["777001"]


def _staff_message(caller: WeComCaller, kind: str, extra: str) -> str:
    """Return a staff member's app message of MsgType `kind` (接收消息与事件 path/90239)."""
    return (
        f"<xml><ToUserName><![CDATA[{caller.corp_id}]]></ToUserName>"
        "<FromUserName><![CDATA[li_kuaiji]]></FromUserName><CreateTime>1</CreateTime>"
        f"<MsgType><![CDATA[{kind}]]></MsgType>{extra}<AgentID>1000002</AgentID></xml>"
    )


async def test_messages_without_words_get_a_hint(caller: WeComCaller) -> None:
    for kind, extra, hint in (
        ("image", "<PicUrl><![CDATA[http://127.0.0.1:9/1.jpg]]></PicUrl><MsgId>31</MsgId>",
         Kind.IMAGE),
        ("voice", "<MediaId><![CDATA[m2]]></MediaId><Format>amr</Format><MsgId>32</MsgId>",
         Kind.VOICE),
        ("video", "<MediaId><![CDATA[m3]]></MediaId><MsgId>33</MsgId>", Kind.VIDEO),
        ("location", "<Location_X>23.1</Location_X><Location_Y>113.3</Location_Y>"
         "<MsgId>34</MsgId>", Kind.LOCATION),
    ):  # fmt: skip
        response = await caller.post(_staff_message(caller, kind, extra))
        assert caller.read_reply(await response.text())["Content"] == HINTS[hint], kind


async def test_menu_click_gets_the_menu(caller: WeComCaller) -> None:
    menu = (await caller.ask("li_kuaiji", "菜单"))["Content"]
    click = "<Event><![CDATA[click]]></Event><EventKey><![CDATA[MENU]]></EventKey>"
    response = await caller.post(_staff_message(caller, "event", click))
    assert caller.read_reply(await response.text())["Content"] == menu


async def test_event_gets_no_reply(caller: WeComCaller) -> None:
    event = (
        f"<xml><ToUserName><![CDATA[{caller.corp_id}]]></ToUserName>"
        "<FromUserName><![CDATA[li_kuaiji]]></FromUserName><CreateTime>1</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event></xml>"
    )
    response = await caller.post(event)
    assert response.status == 200
    assert await response.text() == ""


def _bodies(caller: WeComCaller) -> dict[str, tuple[dict[str, str], bytes, int]]:
    """Return bad deliveries: name -> (query, body, expected status)."""
    query, body = caller.envelope(caller.text_xml("zhao", "你好", "55"))
    stale = str(int(time.time()) - 3600)
    other_corp = replace(caller, corp_id="wwsomeoneelse001")
    foreign_query, foreign_body = other_corp.envelope(caller.text_xml("zhao", "你好", "56"))
    bomb_query, bomb_body = caller.envelope(XML_BOMB.replace("Encrypt", "Content"))
    return {
        "bad signature": ({**query, "msg_signature": "0" * 40}, body.encode(), 403),
        "no signature": (
            {k: v for k, v in query.items() if k != "msg_signature"},
            body.encode(),
            403,
        ),
        "stale timestamp": (caller.query("x", timestamp=stale), body.encode(), 403),
        "no nonce": ({k: v for k, v in query.items() if k != "nonce"}, body.encode(), 403),
        "no timestamp": ({k: v for k, v in query.items() if k != "timestamp"}, b"x", 403),
        "truncated body": (query, body.encode()[:-25], 400),
        "empty body": (query, b"", 400),
        "xml bomb": (query, XML_BOMB.encode(), 400),
        "external entity": (query, EXTERNAL_ENTITY.encode(), 400),
        "bomb inside the ciphertext": (bomb_query, bomb_body.encode(), 400),
        "oversized body": (query, b"<xml>" + b"a" * 40_000 + b"</xml>", 413),
        "garbage ciphertext": (
            caller.query("bm90IGNpcGhlcg=="),
            b"<xml><Encrypt>bm90IGNpcGhlcg==</Encrypt></xml>",
            400,
        ),
        "another corp's message": (foreign_query, foreign_body.encode(), 403),
    }


async def test_bad_deliveries_are_refused_without_a_trace(
    caller: WeComCaller, redis: Redis
) -> None:
    for name, (query, body, status) in _bodies(caller).items():
        before, keys = await writes(redis), set(await redis.keys("*"))
        response = await caller.client.post(caller.path, params=query, data=body)
        assert response.status == status, name
        assert await writes(redis) == before, name
        assert set(await redis.keys("*")) == keys, name


async def test_bad_url_checks_are_refused(caller: WeComCaller) -> None:
    assert (await caller.verify_url("1", nonce="1", msg_signature="0" * 40)).status == 403
    assert (await caller.verify_url("1", timestamp="1")).status == 403


async def test_slow_answer_follows_as_an_app_message(
    start: Callable[..., Any], wecom: FakeWeComAPI, held: ServiceProbe
) -> None:
    client = await start(config_for(wecom, reply_deadline=0.05))
    caller = WeComCaller(client, TOKEN, AES_KEY, wecom.corp_id, wecom.agent_id)
    assert await caller.ask("chen_zhuanyuan", "刷单是什么") == {}
    held.gate.set()
    await wecom.wait_for(lambda: bool(wecom.sent))
    (message,) = wecom.sent
    assert message.users == ("chen_zhuanyuan",) and message.msgtype == "text"
    assert "刷单" in message.body["content"]


def two_apis(
    fake: FakeWeComAPI, redis_url: str
) -> tuple[list[aiohttp.ClientSession], list[Redis], list[WeComAPI]]:
    """Two instances of the service: each its own HTTP session and Redis connection."""
    sessions = [aiohttp.ClientSession(), aiohttp.ClientSession()]
    redises = [Redis.from_url(redis_url, decode_responses=True) for _ in sessions]
    apis = [fake.client(session, r) for session, r in zip(sessions, redises, strict=True)]
    return sessions, redises, apis


async def close(sessions: list[aiohttp.ClientSession], redises: list[Redis]) -> None:
    for session in sessions:
        await session.close()
    for r in redises:
        await r.aclose()


async def test_forward_pack_to_a_teacher_shares_one_token(
    wecom: FakeWeComAPI, settings: Settings, redis: Redis
) -> None:
    assert settings.redis_url is not None
    sessions, redises, (one, two) = two_apis(wecom, settings.redis_url)
    try:
        pack = Article(
            "开学季防骗提醒", "https://example.org/pack/1", "请转发到家长群：不要相信“退费”电话。"
        )
        await asyncio.gather(
            one.send_news(["teacher_li"], [pack]),
            two.send_markdown(["teacher_li"], "**本周提醒**：冒充老师收费的骗局又出现了。"),
        )
    finally:
        await close(sessions, redises)
    assert wecom.token_requests == 1
    assert sorted(message.msgtype for message in wecom.sent) == ["markdown", "news"]
    assert all(message.users == ("teacher_li",) for message in wecom.sent)
    news = next(message for message in wecom.sent if message.msgtype == "news")
    assert news.body["articles"][0]["url"] == "https://example.org/pack/1"


async def test_expired_token_is_fetched_again_once_for_all_instances(
    wecom: FakeWeComAPI, settings: Settings, redis: Redis
) -> None:
    assert settings.redis_url is not None
    sessions, redises, (one, two) = two_apis(wecom, settings.redis_url)
    try:
        await one.send_text(["grid_wang"], "今天下午三点开反诈宣传会。")
        wecom.expire_tokens()
        await asyncio.gather(
            one.send_text(["grid_wang"], "请提醒村里老人：陌生来电说“医保异常”要挂断。"),
            two.send_text(["grid_zhao"], "请提醒村里老人：陌生来电说“医保异常”要挂断。"),
        )
    finally:
        await close(sessions, redises)
    assert wecom.token_requests == 2 and wecom.tokens_issued == 2
    assert len(wecom.sent) == 3


async def test_send_errors_and_limits(wecom: FakeWeComAPI, redis: Redis) -> None:
    wecom.members = {"teacher_li"}
    async with aiohttp.ClientSession() as session:
        api = wecom.client(session, redis)
        receipt = await api.send_text(["teacher_li", "Nobody"], "提醒" * 500)
        assert receipt.messages == 2 and receipt.invalid_users == {"nobody"}
        assert wecom.truncated == 0
        with pytest.raises(WeChatAPIError) as nobody:
            await api.send_text(["nobody"], "你好")
        assert nobody.value.errcode == 81013 and not nobody.value.retryable
        wecom.fail_next(45009)
        with pytest.raises(WeChatAPIError) as busy:
            await api.send_text(["teacher_li"], "你好")
        assert busy.value.retryable
        with pytest.raises(ValueError):
            await api.send_text([], "你好")


async def test_wrong_secret_is_reported(wecom: FakeWeComAPI, redis: Redis) -> None:
    async with aiohttp.ClientSession() as session:
        api = WeComAPI(
            session,
            redis,
            corp_id=wecom.corp_id,
            secret="wrong-secret-0123456789",
            agent_id=wecom.agent_id,
            base=wecom.base,
        )
        with pytest.raises(WeChatAPIError) as refused:
            await api.send_text(["teacher_li"], "你好")
    assert refused.value.errcode == 40001


def test_config_from_env() -> None:
    assert WeComAppConfig.from_env({"WECOM_CORP_ID": "ww1"}) is None
    env = {
        "WECOM_CORP_ID": "wwfakecorp0000001",
        "WECOM_APP_TOKEN": TOKEN,
        "WECOM_APP_AES_KEY": AES_KEY,
        "WECOM_APP_SECRET": "s3cret-value-0123456789",
        "WECOM_AGENT_ID": "1000002",
        "WECOM_API_BASE": "http://127.0.0.1:9/",
    }
    config = WeComAppConfig.from_env(env)
    assert config is not None
    assert config.agent_id == 1000002 and config.api_base == "http://127.0.0.1:9"
    with pytest.raises(SettingsError) as bad_key:
        WeComAppConfig.from_env({**env, "WECOM_APP_AES_KEY": "short-secret"})
    assert "short-secret" not in str(bad_key.value)
    with pytest.raises(SettingsError):
        WeComAppConfig.from_env({**env, "WECOM_AGENT_ID": "abc"})
    with pytest.raises(SettingsError):
        WeComAppConfig.from_env({**env, "WECOM_API_BASE": "qyapi.weixin.qq.com"})
