"""The fuzz suite's service: every channel, the simulator and a logged-in console, on loopback.

Examples per test come from FANZHA_FUZZ_EXAMPLES (default 1.0, a multiplier): CI keeps the
default, a longer hunt sets e.g. 20.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from redis.asyncio import Redis

from bot.appkeys import SETTINGS
from bot.console.users import UserStore
from bot.library import Library
from bot.settings import Settings
from bot.store.embedded import EmbeddedRedis
from tests.fuzz.live import Answer, LiveService, live
from tests.support.all_channels import every_channel

SCALE = float(os.environ.get("FANZHA_FUZZ_EXAMPLES", "1"))
ADMIN, PASSWORD = "fuzzroot", "fuzz-correct-horse-battery"
_CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')


def examples(count: int) -> hypothesis_settings:
    """Return hypothesis settings for `count` examples (scaled), no deadline, no database."""
    return hypothesis_settings(
        max_examples=max(1, int(count * SCALE)),
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
        ],
    )


@dataclass(frozen=True, slots=True)
class Console:
    """A logged-in admin's cookies and CSRF token, and a queue item to act on."""

    cookie: str
    csrf: str
    item: str


@pytest.fixture(scope="module")
def service(
    redis_server: EmbeddedRedis, library: Library, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    """The app with every channel on, served in a thread on a free loopback port."""
    settings = Settings(
        redis_url=redis_server.url,
        data_dir=Path(tmp_path_factory.mktemp("fuzz")),
        member_hash_key="fuzz-secret",
    )
    with live(every_channel(settings, library)) as running:
        running.run(_fresh_admin(running))
        yield running


async def _fresh_admin(service: LiveService) -> None:
    redis = Redis.from_url(str(service.app[SETTINGS].redis_url), decode_responses=True)
    try:
        await redis.flushall()
        await UserStore(redis).add(ADMIN, "admin", "模糊测试管理员", PASSWORD, ("urgent",))
    finally:
        await redis.aclose()


@pytest.fixture(scope="module")
def console(service: LiveService) -> Console:
    """Log the admin in over HTTP and create one queue item."""
    form = service.request("GET", "/console/login")
    token = _CSRF.search(form.body)
    assert token, form.body
    login_cookie = f"fz_login={form.cookies['fz_login']}"
    body = f"csrf_token={token.group(1).decode()}&name={ADMIN}&password={PASSWORD}".encode()
    answer = service.request("POST", "/console/login", headers=_form(login_cookie), body=body)
    assert answer.status == 302, answer.body
    cookie = f"fz_session={answer.cookies['fz_session']}"
    page = service.request("GET", "/console/groups", headers={"Cookie": cookie})
    csrf = _CSRF.search(page.body)
    assert csrf, page.body
    item = _new_item(service, cookie, csrf.group(1).decode())
    return Console(cookie, csrf.group(1).decode(), item)


def _new_item(service: LiveService, cookie: str, csrf: str) -> str:
    fields = "title=预警&summary=冒充客服&body=挂断电话&kinds=village&style=news&receipt=simple"
    body = f"{fields}&csrf_token={csrf}".encode()
    answer = service.request("POST", "/console/items", headers=_form(cookie), body=body)
    assert answer.status == 302, answer.body
    found = re.search(rb"/console/items/([0-9]+)", answer.location.encode())
    assert found, answer
    return found.group(1).decode()


def _form(cookie: str) -> dict[str, str | bytes]:
    return {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}


def held(service: LiveService, answer: Answer, what: object) -> None:
    """Fail unless the service answered below 500 and logged no traceback or error."""
    traces = service.traces.take()
    assert answer.status < 500, (what, answer.status, answer.body[:300])
    assert traces == [], (what, traces)
