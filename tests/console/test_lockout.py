"""Login lockout: counted and checked atomically, per account, per address only for sprays."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request
from redis.asyncio import Redis

from bot.app import create_app
from bot.console.lockout import MAX_ACCOUNTS, MAX_FAILURES, client_address
from bot.library import Library
from bot.settings import Settings, SettingsError
from tests.support.console import PASSWORD, make_user, post_login

Client = TestClient[Any, Any]


async def test_concurrent_guesses_for_one_account_get_only_the_allowed_tries(
    client: Client, redis: Redis
) -> None:
    await make_user(redis, "zhang", "officer")
    answers = await asyncio.gather(
        *(post_login(client, name="zhang", password=f"guess-{n}") for n in range(60))
    )
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [401] * MAX_FAILURES + [429] * (60 - MAX_FAILURES)
    assert (await post_login(client, name="zhang", password=PASSWORD)).status == 429


async def test_one_account_locked_does_not_lock_its_address(client: Client, redis: Redis) -> None:
    await make_user(redis, "zhang", "officer")
    await make_user(redis, "li", "officer")
    for _ in range(MAX_FAILURES):
        assert (await post_login(client, name="zhang", password="x")).status == 401
    assert (await post_login(client, name="zhang", password=PASSWORD)).status == 429
    assert (await post_login(client, name="li", password=PASSWORD)).status == 302


async def test_a_success_forgives_the_accounts_failures(client: Client, redis: Redis) -> None:
    await make_user(redis, "zhang", "officer")
    for _ in range(2):
        for _ in range(MAX_FAILURES - 1):
            assert (await post_login(client, name="zhang", password="x")).status == 401
        assert (await post_login(client, name="zhang", password=PASSWORD)).status == 302
        client.session.cookie_jar.clear()  # log out: the next round starts at the login form


async def test_behind_a_trusted_proxy_one_spraying_client_locks_only_itself(
    aiohttp_client: Any, settings: Settings, library: Library, redis: Redis
) -> None:
    trusted = replace(settings, trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    client = await aiohttp_client(create_app(trusted, library))
    await make_user(redis, "wang", "reviewer")
    sprayer = {"X-Forwarded-For": "203.0.113.7, 127.0.0.1"}
    for n in range(MAX_ACCOUNTS):
        await _login(client, sprayer, name=f"guess{n}", password="x")
    assert (await _login(client, sprayer, name="wang", password=PASSWORD)).status == 429
    colleague = {"X-Forwarded-For": "198.51.100.20"}
    assert (await _login(client, colleague, name="wang", password=PASSWORD)).status == 302


async def test_without_trust_a_forwarded_header_is_ignored(client: Client, redis: Redis) -> None:
    await make_user(redis, "wang", "reviewer")
    for n in range(MAX_ACCOUNTS):
        await _login(client, {"X-Forwarded-For": f"203.0.113.{n}"}, name=f"g{n}", password="x")
    fresh = {"X-Forwarded-For": "198.51.100.20"}
    assert (await _login(client, fresh, name="wang", password=PASSWORD)).status == 429


def test_client_address_walks_past_trusted_hops_only() -> None:
    trusted = (ipaddress.ip_network("10.0.0.0/8"),)

    def seen(forwarded: str) -> str:
        request = _from_loopback({"X-Forwarded-For": forwarded})
        return client_address(request, (*trusted, ipaddress.ip_network("127.0.0.1/32")))

    assert seen("203.0.113.7, 10.1.2.3") == "203.0.113.7"
    assert seen("198.51.100.1, 203.0.113.7, 10.1.2.3") == "203.0.113.7"  # the first is forged
    assert seen("not-an-ip, 10.1.2.3") == "127.0.0.1"  # garbage: fall back to the peer
    plain = _from_loopback({"X-Forwarded-For": "203.0.113.7"})
    assert client_address(plain, trusted) == "127.0.0.1"  # the peer is not a trusted proxy


def test_trusted_proxies_setting() -> None:
    parsed = Settings.from_env({"FANZHA_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"})
    assert [str(net) for net in parsed.trusted_proxies] == ["10.0.0.0/8", "127.0.0.1/32"]
    with pytest.raises(SettingsError) as bad:
        Settings.from_env({"FANZHA_TRUSTED_PROXIES": "10.0.0.0/33"})
    assert bad.value.name == "FANZHA_TRUSTED_PROXIES"


def _from_loopback(headers: dict[str, str]) -> web.Request:
    return make_mocked_request("POST", "/", headers=headers).clone(remote="127.0.0.1")


async def _login(client: Client, headers: dict[str, str], **fields: str) -> Any:
    form = await (await client.get("/console/login")).text()
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return await client.post(
        "/console/login",
        data={"csrf_token": token, **fields},
        headers=headers,
        allow_redirects=False,
    )
