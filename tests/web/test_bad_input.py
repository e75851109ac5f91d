"""The inputs of issue 17 that gave 500s before any signature check: each is now a clear
refusal (Chinese where a person reads it), and nothing is written to Redis."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.bounded import MAX_JSON_DEPTH, BadInput, loads, whole_number
from bot.library import Library
from bot.settings import Settings
from tests.support.all_channels import every_channel
from tests.support.hostile import writes
from tests.support.signing import app_envelope, bot_envelope, oa_envelope, signed_query

Client = TestClient[Any, Any]
CALLBACKS = ("/wechat/oa/callback", "/wecom/app/callback", "/wecom/bot/callback")
HUGE = "9" * 400


@pytest.fixture
async def app_client(aiohttp_client: Any, settings: Settings, library: Library) -> Client:
    return await aiohttp_client(every_channel(settings, library))  # type: ignore[no-any-return]


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5000, 100_000 // 6])
async def test_deeply_nested_json_is_a_400(app_client: Client, redis: Redis, depth: int) -> None:
    before = await writes(redis)
    response = await app_client.post(
        "/api/sim/messages", data=nested(depth), headers={"Content-Type": "application/json"}
    )
    assert response.status in (400, 413)
    assert "error" in await response.json()
    assert await writes(redis) == before


@pytest.mark.parametrize("path", CALLBACKS)
@pytest.mark.parametrize(
    "timestamp", [HUGE, "1" + "0" * 5000, "１７００００００００", "-5", "1e9"]
)
async def test_a_timestamp_of_any_shape_is_a_403(
    app_client: Client, path: str, timestamp: str
) -> None:
    query = {**signed_query("x", timestamp=timestamp), "echostr": "x"}
    for method in ("GET", "POST"):
        response = await app_client.request(method, path, params=query, data=b"<xml/>")
        assert response.status == 403, (method, timestamp)
        assert await response.text() in ("签名校验没有通过。", '{"error": "签名校验没有通过。"}')


async def test_a_lone_surrogate_in_the_smart_bots_encrypt_field_is_a_400(
    app_client: Client,
) -> None:
    query = signed_query("x")  # no signature covers it: refused before any check
    body = b'{"encrypt": "\\ud800"}'
    response = await app_client.post(CALLBACKS[2], params=query, data=body)
    assert response.status == 400


async def test_a_lone_surrogate_in_a_simulator_user_is_a_400(
    app_client: Client, redis: Redis
) -> None:
    before = await writes(redis)
    body = b'{"group": "private", "user": "\\ud800", "text": "\xe5\x88\xb7\xe5\x8d\x95"}'
    response = await app_client.post(
        "/api/sim/messages", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["error"] == "内容里有无法识别的字符。"
    assert await writes(redis) == before


@pytest.mark.parametrize("envelope", [bot_envelope, app_envelope, oa_envelope])
async def test_a_lone_surrogate_in_a_signed_messages_text_is_a_400(
    app_client: Client, redis: Redis, envelope: Any
) -> None:
    if envelope is bot_envelope:
        fields = {"msgid": "m1", "aibotid": "aibFuzzBot0001", "msgtype": "text"}
        text = json.dumps({**fields, "from": {"userid": "u1"}, "text": {"content": "\ud800刷"}})
        path = CALLBACKS[2]
    else:
        text = "<xml><FromUserName>u1</FromUserName><MsgType>text</MsgType><MsgId>1</MsgId>"
        text += "<Content>\ud800刷单</Content><ToUserName>x</ToUserName></xml>"
        path = CALLBACKS[0] if envelope is oa_envelope else CALLBACKS[1]
    before = await writes(redis)
    query, body = envelope(text)
    response = await app_client.post(path, params=query, data=body)
    assert response.status == 400
    assert await writes(redis) == before


@pytest.mark.parametrize("path", CALLBACKS)
async def test_the_signature_is_checked_before_the_envelope_is_parsed(
    app_client: Client, path: str
) -> None:
    query, body = (bot_envelope if path == CALLBACKS[2] else app_envelope)("<xml/>")
    if path == CALLBACKS[0]:
        query, body = oa_envelope("<xml/>")
    broken = body[:-1]  # the envelope no longer parses, but its ciphertext is intact
    forged = {**query, "msg_signature": "0" * 40}
    assert (await app_client.post(path, params=forged, data=broken)).status == 403
    assert (await app_client.post(path, params=query, data=broken)).status == 400


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Type": "application/x-www-form-urlencoded; charset=bogus"}, b"a=b"),
        ({"Content-Type": "multipart/form-data; boundary=zz"}, b""),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"name=\xff"),
        ({"Content-Type": "application/json", "Content-Encoding": "gzip"}, b"not gzip"),
    ],
)
async def test_broken_bodies_and_headers_are_400s(
    app_client: Client, headers: dict[str, str], body: bytes
) -> None:
    for path in ("/console/login", "/api/sim/messages", "/pledge"):
        sent = {**headers, "Connection": "close"}  # a broken body may end the connection
        response = await app_client.post(path, data=body, headers=sent)
        assert response.status == 400, (path, headers)


def test_bounded_parsing() -> None:
    assert loads(b'{"a": [1, "\\ud83d\\ude00"]}') == {"a": [1, "😀"]}  # a surrogate pair is fine
    for bad in (
        b"NaN",
        b"[" + b"9" * 30 + b"]",
        nested(MAX_JSON_DEPTH + 1),
        b'"\\udc00"',
        b"\xff",
    ):
        with pytest.raises(BadInput):
            loads(bad)
    assert whole_number("1700000000", 12) == 1700000000
    assert [whole_number(raw, 12) for raw in ("", "²", "١٢", "-1", "1" * 13, None)] == [None] * 6


@pytest.mark.parametrize("header", [b"Cookie: fz_session=\xed\xa0\x80", b"X-CSRF-Token: \xff"])
async def test_a_header_that_is_not_text_is_a_400(app_client: Client, header: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", app_client.port)
    body = b'{"group": "private", "user": "a", "text": "b"}'
    writer.write(
        b"POST /api/sim/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\n" + header + b"\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    error = json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]
    assert error == "请求头里有无法识别的字符。"
