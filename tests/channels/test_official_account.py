"""The 公众号: plain and safe mode, passive answers, welcome, late answers, refusals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from wechatpy import parse_message
from wechatpy.messages import VoiceMessage

from bot.app import create_app
from bot.appkeys import REDIS
from bot.channels.inbound import HINTS, Kind
from bot.channels.official_account import (
    OFFICIAL_ACCOUNT,
    OfficialAccountAPI,
    OfficialAccountConfig,
    setup_official_account,
)
from bot.channels.wecom_api import WeChatAPIError
from bot.library import Library
from bot.settings import Settings, SettingsError
from bot.store import metrics
from tests.conftest import ServiceProbe
from tests.support.fakes import FakeOfficialAccountAPI, OfficialAccountCaller
from tests.support.hostile import EXTERNAL_ENTITY, XML_BOMB, writes
from tests.support.media import PNG, serve_media

TOKEN = "fzOaToken2024"
AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
FOLLOWER = "oFollower_laoli_0001"


@pytest.fixture
async def oa_api(aiohttp_server: Any) -> FakeOfficialAccountAPI:
    fake = FakeOfficialAccountAPI()
    server = await aiohttp_server(fake.app)
    fake.base = str(server.make_url("")).rstrip("/")
    return fake


def config_for(fake: FakeOfficialAccountAPI, **changes: Any) -> OfficialAccountConfig:
    config = OfficialAccountConfig(
        app_id=fake.app_id, token=TOKEN, secret=fake.secret, aes_key=AES_KEY, api_base=fake.base
    )
    return replace(config, **changes)


@pytest.fixture
def start(
    aiohttp_client: Any,
    settings: Settings,
    library: Library,
    redis: Redis,
    oa_api: FakeOfficialAccountAPI,
) -> Callable[..., Any]:
    async def start(*, safe: bool = False, **changes: Any) -> OfficialAccountCaller:
        app = create_app(settings, library)
        changes.setdefault("aes_key", AES_KEY if safe else None)
        setup_official_account(app, config_for(oa_api, **changes))
        client: TestClient[Any, Any] = await aiohttp_client(app)
        key = AES_KEY if safe else None
        return OfficialAccountCaller(client, TOKEN, oa_api.app_id, key, oa_api)

    return start


@pytest.fixture(params=["plain", "safe"])
async def caller(request: pytest.FixtureRequest, start: Callable[..., Any]) -> Any:
    return await start(safe=request.param == "safe")


async def test_url_check_echoes_back(caller: OfficialAccountCaller) -> None:
    response = await caller.verify_url("echo-2024")
    assert response.status == 200 and await response.text() == "echo-2024"
    refused = await caller.verify_url("echo-2024", signature="0" * 40)
    assert refused.status == 403


async def test_follower_question_gets_a_passive_answer(caller: OfficialAccountCaller) -> None:
    reply = await caller.ask(FOLLOWER, "刷单是什么")
    assert reply["ToUserName"] == FOLLOWER and reply["FromUserName"] == caller.account
    assert reply["MsgType"] == "text"
    assert "刷单" in reply["Content"] and "**" not in reply["Content"]


async def questions_counted(caller: OfficialAccountCaller) -> int:
    """Return how many questions the metrics counted today (every shard)."""
    redis = caller.client.server.app[REDIS]
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return sum((await metrics.questions(redis, [day])).values())


async def test_retry_is_counted_once_and_answered_the_same(caller: OfficialAccountCaller) -> None:
    first = await caller.ask(FOLLOWER, "有人让我下载会议软件共享屏幕", msg_id="880001")
    retry = await caller.ask(FOLLOWER, "有人让我下载会议软件共享屏幕", msg_id="880001")
    assert first["Content"] == retry["Content"]
    assert await questions_counted(caller) == 1


async def test_retry_during_handling_gets_the_same_answer_counted_once(
    start: Callable[..., Any], held: ServiceProbe
) -> None:
    caller = await start(safe=True)
    first = asyncio.create_task(caller.ask(FOLLOWER, "刷单是什么", msg_id="880002"))
    await held.started.wait()
    retry = asyncio.create_task(caller.ask(FOLLOWER, "刷单是什么", msg_id="880002"))
    held.gate.set()
    assert (await first)["Content"] == (await retry)["Content"]
    assert await questions_counted(caller) == 1


async def test_new_follower_is_welcomed_with_the_menu(caller: OfficialAccountCaller) -> None:
    menu = (await caller.ask(FOLLOWER, "菜单"))["Content"]
    subscribe = caller.message_xml(FOLLOWER, "event", "<Event><![CDATA[subscribe]]></Event>")
    response = await caller.post(subscribe, FOLLOWER)
    welcome = caller.read_reply(await response.text())["Content"]
    assert welcome.startswith("您好，欢迎关注！")
    assert welcome.endswith(menu)
    again = await caller.post(subscribe, FOLLOWER)  # WeChat's retry of the same event
    assert caller.read_reply(await again.text())["Content"] == welcome


async def test_other_events_get_success(caller: OfficialAccountCaller) -> None:
    leave = caller.message_xml(FOLLOWER, "event", "<Event><![CDATA[unsubscribe]]></Event>")
    response = await caller.post(leave, FOLLOWER)
    assert response.status == 200 and await response.text() == "success"


def _voice(recognition: str | None, msg_id: str) -> str:
    """Return the elements of a voice message (语音消息; Recognition once 语音识别 is on)."""
    heard = "" if recognition is None else f"<Recognition><![CDATA[{recognition}]]></Recognition>"
    media = f"<MediaId><![CDATA[m{msg_id}]]></MediaId><Format>amr</Format>"
    return f"{media}{heard}<MsgId>{msg_id}</MsgId>"


async def test_recognised_voice_is_answered_like_text(
    caller: OfficialAccountCaller, handled: ServiceProbe
) -> None:
    xml = caller.message_xml(FOLLOWER, "voice", _voice("有人让我刷单赚佣金", "901"))
    voice = parse_message(xml)  # wechatpy 1.8 reads the same XML as a VoiceMessage
    assert isinstance(voice, VoiceMessage) and voice.recognition == "有人让我刷单赚佣金"
    reply = caller.read_reply(await (await caller.post(xml, FOLLOWER)).text())
    assert "刷单" in reply["Content"]
    (message,) = handled.handled
    assert message.text == "有人让我刷单赚佣金" and message.msg_id == "901"


async def test_other_messages_get_a_hint_or_an_answer(
    caller: OfficialAccountCaller, handled: ServiceProbe
) -> None:
    link = (
        "<Title><![CDATA[领取社保补贴]]></Title><Description><![CDATA[点击登记银行卡]]>"
        "</Description><Url><![CDATA[http://btie.example/x]]></Url><MsgId>906</MsgId>"
    )
    hints = {
        "voice": (_voice(None, "902"), HINTS[Kind.VOICE]),
        "voice (empty)": (_voice("", "903"), HINTS[Kind.VOICE]),
        "image": ("<PicUrl><![CDATA[http://127.0.0.1:9/1.jpg]]></PicUrl><MediaId>m4</MediaId>"
                  "<MsgId>904</MsgId>", HINTS[Kind.IMAGE]),
        "location": ("<Location_X>23.1</Location_X><Location_Y>113.3</Location_Y>"
                     "<MsgId>905</MsgId>", HINTS[Kind.LOCATION]),
        "shortvideo": ("<MediaId>m7</MediaId><MsgId>907</MsgId>", HINTS[Kind.VIDEO]),
        "miniprogrampage": ("<Title>x</Title><MsgId>908</MsgId>", HINTS[Kind.OTHER]),
    }  # fmt: skip
    for name, (extra, hint) in hints.items():
        xml = caller.message_xml(FOLLOWER, name.split()[0], extra)
        response = await caller.post(xml, FOLLOWER)
        assert response.status == 200, name
        assert caller.read_reply(await response.text())["Content"] == hint, name
    assert handled.handled == []
    answer = caller.read_reply(await (await caller.post(
        caller.message_xml(FOLLOWER, "link", link), FOLLOWER)).text())  # fmt: skip
    assert answer["Content"] and handled.handled[0].text.endswith("http://btie.example/x")


async def test_menu_click_gets_the_menu_and_a_view_gets_success(
    caller: OfficialAccountCaller,
) -> None:
    menu = (await caller.ask(FOLLOWER, "菜单"))["Content"]
    click = "<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[MENU_ASK]]></EventKey>"
    response = await caller.post(caller.message_xml(FOLLOWER, "event", click), FOLLOWER)
    assert caller.read_reply(await response.text())["Content"] == menu
    view = "<Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[https://x]]></EventKey>"
    response = await caller.post(caller.message_xml(FOLLOWER, "event", view), FOLLOWER)
    assert await response.text() == "success"


async def test_a_safe_mode_picture_goes_to_the_screenshot_checker(
    start: Callable[..., Any], aiohttp_server: Any, handled: ServiceProbe
) -> None:
    media = await serve_media(aiohttp_server, **{"sms.png": PNG})
    picture = f"<PicUrl><![CDATA[{media.url('sms.png')}]]></PicUrl><MediaId>m9</MediaId>"
    for safe, msg_id in ((True, "909"), (False, "910")):
        # A first read starts the OCR worker and loads its models: allow for a loaded machine.
        caller = await start(safe=safe, reply_deadline=60.0)
        xml = caller.message_xml(FOLLOWER, "image", f"{picture}<MsgId>{msg_id}</MsgId>")
        reply = caller.read_reply(await (await caller.post(xml, FOLLOWER)).text())
        assert (reply["Content"] == HINTS[Kind.IMAGE]) is not safe
    (message,) = handled.handled  # plain mode: its body is unsigned, so nothing is fetched
    assert message.image == PNG and message.msg_id == "909"
    assert media.hits == ["sms.png"]


async def test_slow_answer_goes_through_customer_service(
    start: Callable[..., Any],
    oa_api: FakeOfficialAccountAPI,
    held: ServiceProbe,
) -> None:
    caller = await start(safe=True, reply_deadline=0.05)
    assert await caller.ask(FOLLOWER, "刷单是什么", msg_id="990001") == {}
    held.gate.set()
    await oa_api.wait_for(lambda: bool(oa_api.sent))
    (message,) = oa_api.sent
    assert message.openid == FOLLOWER and "刷单" in message.text
    # A retry of the slow message gets "success": the answer went out once already.
    assert await caller.ask(FOLLOWER, "刷单是什么", msg_id="990001") == {}
    assert len(oa_api.sent) == 1


async def test_late_answer_outside_the_window_is_logged_with_context(
    start: Callable[..., Any],
    oa_api: FakeOfficialAccountAPI,
    held: ServiceProbe,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caller = await start(reply_deadline=0.05)
    assert await caller.ask(FOLLOWER, "刷单是什么", msg_id="990002") == {}
    oa_api.follower_wrote(FOLLOWER, at=time.time() - 49 * 3600)  # the window has closed
    held.gate.set()
    await oa_api.wait_for(lambda: bool(oa_api.refused))
    await asyncio.gather(*caller.client.server.app[OFFICIAL_ACCOUNT].late.tasks)
    assert oa_api.refused == [(FOLLOWER, 45015)]
    failures = [r for r in caplog.records if "late reply" in r.getMessage()]
    assert failures and "wechat_oa msg 990002" in failures[0].getMessage()
    assert FOLLOWER not in caplog.text


async def test_customer_service_window_allows_five_messages(
    oa_api: FakeOfficialAccountAPI, redis: Redis
) -> None:
    async with aiohttp.ClientSession() as session:
        api = OfficialAccountAPI(
            session, redis, app_id=oa_api.app_id, secret=oa_api.secret, base=oa_api.base
        )
        with pytest.raises(WeChatAPIError) as closed:
            await api.send_text(FOLLOWER, "您好")
        assert closed.value.errcode == 45015
        oa_api.follower_wrote(FOLLOWER)
        for number in range(5):
            await api.send_text(FOLLOWER, f"第{number + 1}条提醒：陌生链接不要点。")
        with pytest.raises(WeChatAPIError) as spent:
            await api.send_text(FOLLOWER, "第6条")
        assert spent.value.errcode == 45047
    assert oa_api.token_requests == 1 and len(oa_api.sent) == 5


def _bad(caller: OfficialAccountCaller) -> dict[str, tuple[dict[str, str], bytes, int]]:
    """Return bad plain-mode deliveries: name -> (query, body, expected status)."""
    text = "<Content><![CDATA[你好]]></Content><MsgId>321</MsgId>"
    plain = caller.message_xml(FOLLOWER, "text", text)
    body = plain.encode()
    stale = str(int(time.time()) - 3600)
    return {
        "bad signature": ({**caller.query(FOLLOWER), "signature": "f" * 40}, body, 403),
        "stale timestamp": (caller.query(FOLLOWER, timestamp=stale), body, 403),
        "no nonce": (
            {k: v for k, v in caller.query(FOLLOWER, nonce="").items() if k != "nonce"},
            body,
            403,
        ),
        "truncated body": (caller.query(FOLLOWER), plain.encode()[:-12], 400),
        "xml bomb": (caller.query(FOLLOWER), XML_BOMB.encode(), 400),
        "external entity": (caller.query(FOLLOWER), EXTERNAL_ENTITY.encode(), 400),
        "oversized body": (caller.query(FOLLOWER), b"<xml>" + b"a" * 40_000 + b"</xml>", 413),
        "no MsgType": (caller.query(FOLLOWER), b"<xml><ToUserName>a</ToUserName></xml>", 400),
    }


async def test_bad_deliveries_are_refused_without_a_trace(
    start: Callable[..., Any], redis: Redis
) -> None:
    caller = await start()
    for name, (query, body, status) in _bad(caller).items():
        before, keys = await writes(redis), set(await redis.keys("*"))
        response = await caller.client.post(caller.path, params=query, data=body)
        assert response.status == status, name
        assert await writes(redis) == before, name
        assert set(await redis.keys("*")) == keys, name


async def test_safe_mode_refusals(start: Callable[..., Any], redis: Redis) -> None:
    caller = await start(safe=True)
    text = "<Content><![CDATA[你好]]></Content><MsgId>322</MsgId>"
    inner = caller.message_xml(FOLLOWER, "text", text)
    tampered = replace(caller, token="someoneElseToken")
    foreign = replace(caller, app_id="wxsomeoneelse0001")
    before = await writes(redis)
    assert (await tampered.post(inner, FOLLOWER)).status == 403
    assert (await foreign.post(inner, FOLLOWER)).status == 403
    assert (await caller.post(XML_BOMB.replace("Encrypt", "Content"), FOLLOWER)).status == 400
    assert await writes(redis) == before


async def test_plain_requests_are_refused_once_safe_mode_is_set(
    start: Callable[..., Any],
) -> None:
    caller = await start(safe=True)
    downgraded = replace(caller, aes_key=None)
    text = "<Content><![CDATA[你好]]></Content><MsgId>324</MsgId>"
    response = await downgraded.post(caller.message_xml(FOLLOWER, "text", text), FOLLOWER)
    assert response.status == 403


async def test_safe_mode_without_a_key_is_refused(start: Callable[..., Any]) -> None:
    caller = await start(safe=True, aes_key=None)
    text = "<Content><![CDATA[你好]]></Content><MsgId>323</MsgId>"
    response = await caller.post(caller.message_xml(FOLLOWER, "text", text), FOLLOWER)
    assert response.status == 403


def test_config_from_env() -> None:
    assert OfficialAccountConfig.from_env({}) is None
    env = {
        "WECHAT_OA_APP_ID": "wxfakeaccount0001",
        "WECHAT_OA_TOKEN": TOKEN,
        "WECHAT_OA_SECRET": "oa-secret-0123456789abcdef",
    }
    plain = OfficialAccountConfig.from_env(env)
    assert plain is not None and plain.aes_key is None
    safe = OfficialAccountConfig.from_env({**env, "WECHAT_OA_AES_KEY": AES_KEY})
    assert safe is not None and safe.aes_key == AES_KEY
    with pytest.raises(SettingsError):
        OfficialAccountConfig.from_env({**env, "WECHAT_OA_TOKEN": "有空格 的token"})
    with pytest.raises(SettingsError):
        OfficialAccountConfig.from_env({**env, "WECHAT_REPLAY_WINDOW": "5"})
