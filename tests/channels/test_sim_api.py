"""The simulator over HTTP: the page, the JSON API, and clear errors for bad input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.appkeys import REDIS
from bot.library import Library
from bot.settings import Settings
from bot.store.embedded import EmbeddedRedis

Client = TestClient[Any, Any]


async def test_the_page_lists_every_demo_group(client: Client) -> None:
    response = await client.get("/sim")
    assert response.status == 200
    html = await response.text()
    for name in ("村民群", "员工群", "财务群", "家长群", "夕阳红"):
        assert name in html


async def test_root_redirects_to_the_simulator(client: Client) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/sim"


async def test_a_question_gets_a_markdown_reply(client: Client) -> None:
    payload = {"group": "sim-village", "user": "王大爷", "text": "@反诈助手 刷单是什么"}
    response = await client.post("/api/sim/messages", json=payload)
    assert response.status == 200
    (reply,) = (await response.json())["replies"]
    assert reply["format"] == "markdown" and "刷单" in reply["text"]


async def test_unaddressed_chatter_gets_an_empty_list(client: Client) -> None:
    payload = {"group": "sim-village", "user": "王大爷", "text": "今天下雨了"}
    response = await client.post("/api/sim/messages", json=payload)
    assert response.status == 200 and (await response.json()) == {"replies": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"group": "sim-village", "user": "王", "text": "   "}, "不能为空"),
        ({"group": "no-such-group", "user": "王", "text": "刷单"}, "没有这个群"),
        ({"group": "sim-village", "user": "", "text": "刷单"}, "昵称"),
        ({"group": "sim-village", "user": "王" * 40, "text": "刷单"}, "昵称"),
        ({"group": "sim-village", "user": "王", "text": 42}, "不能为空"),
        (["not", "an", "object"], "JSON 对象"),
    ],
)
async def test_bad_input_is_a_400_with_a_chinese_error(
    client: Client, body: object, message: str
) -> None:
    redis = client.app[REDIS]
    before = {key: await redis.dump(key) for key in await redis.keys("*")}
    response = await client.post("/api/sim/messages", json=body)
    assert response.status == 400
    assert message in (await response.json())["error"]
    assert {key: await redis.dump(key) for key in await redis.keys("*")} == before


async def test_malformed_json_and_bad_utf8_are_400(client: Client) -> None:
    for raw in (b"{not json", b'{"text": "\xff\xfe"}'):
        response = await client.post(
            "/api/sim/messages", data=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status == 400
        assert "error" in await response.json()


async def test_an_oversized_body_is_413(client: Client) -> None:
    payload = {"group": "sim-village", "user": "王", "text": "刷" * 70_000}
    response = await client.post("/api/sim/messages", json=payload)
    assert response.status == 413
    assert "太大" in (await response.json())["error"]


async def test_unknown_paths_and_methods_are_clear(client: Client) -> None:
    assert (await client.get("/api/sim/nothing")).status == 404
    response = await client.get("/api/sim/messages")
    assert response.status == 405 and "error" in await response.json()


async def test_healthz_and_static_assets(client: Client) -> None:
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    assert (await client.get("/static/sim.js")).status == 200
    assert (await client.get("/static/sim.css")).status == 200
    assert (await client.get("/static/../settings.py")).status in (403, 404)


async def test_healthz_answers_503_while_redis_is_down(
    aiohttp_client: Any, settings: Settings, library: Library, tmp_path: Path
) -> None:
    server = EmbeddedRedis(tmp_path, persistent=False).start()
    client = await aiohttp_client(create_app(replace(settings, redis_url=server.url), library))
    assert (await client.get("/healthz")).status == 200
    server.stop()
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["status"] == "redis unavailable"
